// The nftables program of the service proxy, in the shape of kube-proxy's nftables mode: one
// table of our own; verdict maps from (address, protocol, port) to a chain per Service port, so a
// packet costs one map lookup whatever the number of Services; a chain per endpoint that DNATs.
//
//   nat-prerouting / nat-output ─► services: ip daddr . l4proto . dport vmap @service-ips
//                                            fib daddr local: l4proto . dport vmap @service-nodeports
//   svc-X   (internal traffic) : mark for masquerade unless from a pod; then the endpoint pick
//   ext-X   (external traffic) : node ports, external and load-balancer IPs; then the endpoint pick
//   endpoint pick              : one rule per endpoint, `numgen random mod (n-i) 0 … dnat to ip:port`
//                                (endpoint i of n taken with probability 1/n, as iptables' statistic)
//   filter-*                   : reject Service ports without endpoints and unknown ports of cluster IPs
//   nat-postrouting            : masquerade what was marked, and hairpin (a pod reaching itself
//                                through a Service: source . destination in the shared set @hairpin)
// With session affinity a Service port keeps kube-proxy's layout instead: svc-X / ext-X → cluster-X
// or local-X (affinity lookups, then numgen) → ep-Y (hairpin mark, affinity update, dnat).
//
// Why one chain per Service port and no anonymous sets: every `nft -f` that adds a rule or an
// element first reads back every chain and set of the host (nft's cache) and the kernel validates
// jumps; with chain-per-endpoint and a numgen vmap per Service (20 000 chains and 5 000 anonymous
// maps at 5 000 Services) that read-back cost ~0.15 s of CPU per change and the full load ~10 s of
// kernel time; with one chain per Service port and rules for the pick, ~0.01 s and ~0.6 s.
//
// Each Service port is rendered on its own (its chains, map elements, sets), so a change rewrites
// only what changed, in one atomic `nft -f` transaction.
import { createHash } from 'node:crypto';
import { type ServicePort, type ProxyEndpoint, usable } from './model.js';

export interface NftConfig {
  /** Table name (family ip). */
  table: string;
  /** Pod address range: traffic from outside it to a cluster IP is masqueraded. */
  clusterCIDR: string;
  /** Packet mark bit meaning "masquerade this" (kube-proxy's 0x4000). */
  masqueradeMark: number;
}

const hash = (s: string) =>
  createHash('sha256').update(s).digest('base64url').replace(/[-_]/g, 'x').slice(0, 8).toUpperCase();

/** Chain names carry a hash (unique) and the readable key (for whoever reads `nft list`). */
export const svcChain = (sp: ServicePort) => `svc-${hash(`${sp.key}/${sp.protocol}`)}-${sp.key}/${sp.protocol}`;
export const extChain = (sp: ServicePort) => `ext-${hash(`${sp.key}/${sp.protocol}`)}-${sp.key}/${sp.protocol}`;
const clusterChain = (sp: ServicePort) => `cluster-${hash(`${sp.key}/${sp.protocol}`)}-${sp.key}/${sp.protocol}`;
const localChain = (sp: ServicePort) => `local-${hash(`${sp.key}/${sp.protocol}`)}-${sp.key}/${sp.protocol}`;
export const epChain = (sp: ServicePort, e: ProxyEndpoint) =>
  `ep-${hash(`${sp.key}/${sp.protocol}/${e.ip}:${e.port}`)}-${sp.key}__${e.ip}/${e.port}`;
// The timeout is part of the name: a set's timeout cannot change in place.
const affinitySet = (sp: ServicePort, e: ProxyEndpoint) =>
  `affinity-${hash(`${sp.key}/${sp.protocol}/${e.ip}:${e.port}/${sp.affinityTimeout}`)}`;

// Chain names go unquoted (nft 1.0 takes no quoted chain names); they only hold [A-Za-z0-9/._-].
const q = (name: string) => name;

/** The table's fixed part: hooks, dispatch chains, maps and sets. Idempotent. */
export function baseScript(c: NftConfig): string {
  const t = `ip ${c.table}`;
  const mark = `0x${c.masqueradeMark.toString(16)}`;
  return [
    `add table ${t} { comment "Skiff service proxy"; }`,
    `add map ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }`,
    `add map ${t} service-nodeports { type inet_proto . inet_service : verdict; }`,
    `add map ${t} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict; }`,
    `add map ${t} no-endpoint-nodeports { type inet_proto . inet_service : verdict; }`,
    `add set ${t} cluster-ips { type ipv4_addr; }`,
    // (endpoint . endpoint): a connection a pod makes to itself through a Service is masqueraded,
    // so the reply comes back through this node (kube-proxy's hairpin rule in each endpoint chain)
    `add set ${t} hairpin { type ipv4_addr . ipv4_addr; }`,
    `add chain ${t} nat-prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} nat-output { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} nat-postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ${t} filter-forward { type filter hook forward priority filter; policy accept; }`,
    `add chain ${t} filter-output { type filter hook output priority filter; policy accept; }`,
    `add chain ${t} filter-input { type filter hook input priority filter; policy accept; }`,
    `add chain ${t} services`,
    `add chain ${t} mark-for-masquerade`,
    `add chain ${t} masquerading`,
    `add chain ${t} reject-chain`,
    `add chain ${t} endpoints-check`,
    `add chain ${t} nodeports-check`,
    ...['nat-prerouting', 'nat-output', 'nat-postrouting', 'filter-forward', 'filter-output', 'filter-input'].map(
      (ch) => `flush chain ${t} ${ch}`,
    ),
    ...['services', 'mark-for-masquerade', 'masquerading', 'reject-chain', 'endpoints-check', 'nodeports-check'].map(
      (ch) => `flush chain ${t} ${ch}`,
    ),
    `add rule ${t} nat-prerouting jump services`,
    `add rule ${t} nat-output jump services`,
    `add rule ${t} nat-postrouting jump masquerading`,
    `add rule ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${t} services fib daddr type local meta l4proto . th dport vmap @service-nodeports`,
    `add rule ${t} mark-for-masquerade meta mark set meta mark or ${mark}`,
    `add rule ${t} masquerading ct status dnat ip saddr . ip daddr @hairpin jump mark-for-masquerade`,
    `add rule ${t} masquerading meta mark and ${mark} == 0 return`,
    `add rule ${t} masquerading meta mark set meta mark xor ${mark}`,
    `add rule ${t} masquerading masquerade fully-random`,
    `add rule ${t} reject-chain reject`,
    // After DNAT (priority filter > dstnat): what still goes to a cluster IP found no endpoint.
    `add rule ${t} endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `add rule ${t} endpoints-check ip daddr @cluster-ips reject`,
    `add rule ${t} nodeports-check fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ${t} filter-forward ct state new jump endpoints-check`,
    `add rule ${t} filter-output ct state new jump endpoints-check`,
    `add rule ${t} filter-input ct state new jump nodeports-check`,
  ].join('\n');
}

/** Everything one Service port puts in the table. */
export interface Rendered {
  chains: string[];
  sets: string[];
  /** Map elements as `map|element` (element text as nft takes it). */
  elements: string[];
  /** Set elements other Service ports may hold too (`set|element`; the proxier counts holders). */
  shared: string[];
  /** The chains' rules and sets' definitions (added after the chains are flushed). */
  body: string[];
}

function numgen(sp: ServicePort, eps: ProxyEndpoint[]): string {
  if (eps.length === 1) return `goto ${q(epChain(sp, eps[0]))}`;
  const arms = eps.map((e, i) => `${i} : goto ${q(epChain(sp, e))}`).join(', ');
  return `numgen random mod ${eps.length} vmap { ${arms} }`;
}

/** Rules that DNAT to one of `eps` with equal probability (no chain or set of their own). */
function pick(t: string, chain: string, sp: ServicePort, eps: ProxyEndpoint[]): string[] {
  return eps.map((e, i) => {
    const left = eps.length - i;
    const cond = left > 1 ? `numgen random mod ${left} 0 ` : '';
    return `add rule ${t} ${q(chain)} ${cond}meta l4proto ${sp.protocol} dnat to ${e.ip}:${e.port}`;
  });
}

export function renderServicePort(c: NftConfig, sp: ServicePort): Rendered {
  const t = `ip ${c.table}`;
  const out: Rendered = { chains: [], sets: [], elements: [], shared: [], body: [] };
  const external = [...sp.externalIPs, ...sp.loadBalancerIPs];
  // Ports answered on every local address: the node port, and a ServiceLB Service's own port.
  const localPorts = [...new Set([sp.nodePort, sp.serviceLBPort])].filter((p): p is number => p !== undefined);
  const hasExternal = localPorts.length > 0 || external.length > 0;
  // As kube-proxy: a cluster-policy chain over every usable endpoint and, when a traffic policy is
  // Local, a local-policy chain over this node's; internal (cluster IP) and external (node port,
  // external and load-balancer IPs) traffic enter through their own chain and go to one of them.
  const needLocal = sp.internalLocal || (hasExternal && sp.externalLocal);
  const needCluster = !sp.internalLocal || (hasExternal && !sp.externalLocal);
  const pools = {
    cluster: { chain: clusterChain(sp), eps: needCluster ? usable(sp.endpoints, false) : [] },
    local: { chain: localChain(sp), eps: needLocal ? usable(sp.endpoints, true) : [] },
  };
  const all = new Map<string, ProxyEndpoint>();
  for (const e of [...pools.cluster.eps, ...pools.local.eps]) all.set(epChain(sp, e), e);
  const tuple = (ip: string) => `${ip} . ${sp.protocol} . ${sp.port}`;
  for (const ip of sp.clusterIPs) out.elements.push(`cluster-ips|${ip}`);
  const inline = !sp.affinityTimeout;
  if (inline) for (const e of all.values()) out.shared.push(`hairpin|${e.ip} . ${e.ip}`);
  /** The rules that send a packet on to `pool`'s endpoints from `chain`. */
  const toPool = (chain: string, pool: { chain: string; eps: ProxyEndpoint[] }) =>
    inline ? pick(t, chain, sp, pool.eps) : [`add rule ${t} ${q(chain)} goto ${q(pool.chain)}`];

  for (const [name, e] of inline ? [] : all) {
    out.chains.push(name);
    out.body.push(`add rule ${t} ${q(name)} ip saddr ${e.ip} jump mark-for-masquerade`);
    if (sp.affinityTimeout) {
      const set = affinitySet(sp, e);
      out.sets.push(set);
      out.body.push(
        `add set ${t} ${set} { type ipv4_addr; flags dynamic,timeout; timeout ${sp.affinityTimeout}s; }`,
        `add rule ${t} ${q(name)} update @${set} { ip saddr }`,
      );
    }
    out.body.push(`add rule ${t} ${q(name)} meta l4proto ${sp.protocol} dnat to ${e.ip}:${e.port}`);
  }
  for (const { chain, eps } of inline ? [] : Object.values(pools)) {
    if (eps.length === 0) continue;
    out.chains.push(chain);
    if (sp.affinityTimeout) {
      for (const e of eps) {
        out.body.push(`add rule ${t} ${q(chain)} ip saddr @${affinitySet(sp, e)} goto ${q(epChain(sp, e))}`);
      }
    }
    out.body.push(`add rule ${t} ${q(chain)} ${numgen(sp, eps)}`);
  }

  // Internal traffic: masquerade what does not come from a Pod (a host process), then the pool.
  const internal = sp.internalLocal ? pools.local : pools.cluster;
  if (internal.eps.length) {
    const svc = svcChain(sp);
    out.chains.push(svc);
    out.body.push(
      `add rule ${t} ${q(svc)} ip saddr != ${c.clusterCIDR} jump mark-for-masquerade`,
      ...toPool(svc, internal),
    );
    for (const ip of sp.clusterIPs) out.elements.push(`service-ips|${tuple(ip)} : goto ${q(svc)}`);
  } else {
    for (const ip of sp.clusterIPs) out.elements.push(`no-endpoint-services|${tuple(ip)} : goto reject-chain`);
  }

  if (!hasExternal) return out;
  // External traffic: policy Local keeps the client's address (no masquerade) and this node's
  // endpoints; policy Cluster masquerades (the reply must come back through this node).
  const target = sp.externalLocal ? pools.local : pools.cluster;
  if (target.eps.length) {
    const ext = extChain(sp);
    out.chains.push(ext);
    if (!sp.externalLocal) out.body.push(`add rule ${t} ${q(ext)} jump mark-for-masquerade`);
    out.body.push(...toPool(ext, target));
    for (const p of localPorts) out.elements.push(`service-nodeports|${sp.protocol} . ${p} : goto ${q(ext)}`);
    for (const ip of external) out.elements.push(`service-ips|${tuple(ip)} : goto ${q(ext)}`);
  } else {
    // Upstream drops (rather than rejects) external traffic with policy Local and no local endpoint,
    // so that a load balancer's health check, not a client, sees the node as unusable.
    const verdict = sp.externalLocal ? 'drop' : 'goto reject-chain';
    for (const p of localPorts) out.elements.push(`no-endpoint-nodeports|${sp.protocol} . ${p} : ${verdict}`);
    for (const ip of external) out.elements.push(`no-endpoint-services|${tuple(ip)} : ${verdict}`);
  }
  return out;
}

/**
 * The transaction that turns `before` (what the table holds for some Service ports) into `after`
 * (and adds and deletes the shared set elements whose last holder came or went):
 * stale map elements deleted first, chains kept are flushed and refilled, new ones added, chains and
 * sets no longer used deleted last (nothing may still jump to them by then).
 */
export function diffScript(
  c: NftConfig,
  before: Rendered[],
  after: Rendered[],
  shared: { add: string[]; del: string[] } = { add: [], del: [] },
): string {
  const t = `ip ${c.table}`;
  const oldEl = new Set(before.flatMap((r) => r.elements));
  const newEl = new Set(after.flatMap((r) => r.elements));
  const oldChains = new Set(before.flatMap((r) => r.chains));
  const newChains = new Set(after.flatMap((r) => r.chains));
  const oldSets = new Set(before.flatMap((r) => r.sets));
  const newSets = new Set(after.flatMap((r) => r.sets));
  const lines: string[] = [];
  const element = (verb: string, e: string) => {
    const [map, el] = e.split('|');
    lines.push(`${verb} element ${t} ${map} { ${verb === 'delete' ? el.replace(/ : .*$/, '') : el} }`);
  };
  for (const e of oldEl) if (!newEl.has(e)) element('delete', e);
  for (const e of shared.del) element('delete', e);
  for (const ch of newChains) lines.push(oldChains.has(ch) ? `flush chain ${t} ${q(ch)}` : `add chain ${t} ${q(ch)}`);
  lines.push(...after.flatMap((r) => r.body));
  for (const e of newEl) if (!oldEl.has(e)) element('add', e);
  for (const e of shared.add) element('add', e);
  for (const ch of oldChains) if (!newChains.has(ch)) lines.push(`delete chain ${t} ${q(ch)}`);
  for (const s of oldSets) if (!newSets.has(s)) lines.push(`delete set ${t} ${s}`);
  return lines.join('\n');
}
