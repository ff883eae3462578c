// iptables rules, all in chains of our own named `<prefix>-…`. The chains' whole content is
// derived from the network states and re-applied with one `iptables-restore --noflush` per change:
// declaring a chain in a --noflush restore flushes just that chain, so a restart after a crash
// rewrites the same rules rather than adding copies. Built-in chains get exactly one jump each,
// checked with `iptables -C` first. iptables (not nft) because Docker-era tooling and this
// machine's iptables-nft both read it, and users debug with `iptables -S`.
import { mustRun, run } from './exec.js';
import type { NetworkState } from './state.js';

export interface Chains {
  dnat: string;
  post: string;
  fwd: string;
}
export const chainsFor = (prefix: string): Chains => ({
  dnat: `${prefix}-DNAT`,
  post: `${prefix}-POSTROUTING`,
  fwd: `${prefix}-FORWARD`,
});

/** With the userland proxy serving 127.0.0.1, locally-originated loopback traffic is not DNATed. */
const jumps = (c: Chains, proxyLoopback = false): { table: string; chain: string; rule: string[] }[] => [
  { table: 'nat', chain: 'PREROUTING', rule: ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat] },
  {
    table: 'nat',
    chain: 'OUTPUT',
    rule: [...(proxyLoopback ? ['!', '-d', '127.0.0.0/8'] : []), '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat],
  },
  { table: 'nat', chain: 'POSTROUTING', rule: ['-j', c.post] },
  { table: 'filter', chain: 'FORWARD', rule: ['-j', c.fwd] },
];

/** Which DNATed traffic from a network's own subnet back onto its bridge is masqueraded:
 *  - `all` (Docker's bridges): every such connection, so a container reaching a published port of
 *    a neighbour sees its reply come back through the host.
 *  - `hostPorts` (the pod network): only hostPort hairpins (as the CNI portmap plugin marks them).
 *    Service traffic keeps the client Pod's address, as with kube-proxy; the service proxy
 *    masquerades the one case that needs it, a Pod reaching itself through a Service. The replies
 *    of a same-bridge backend still pass conntrack (bridge-nf-call-iptables), so they are un-DNATed. */
export type DnatMasquerade = 'all' | 'hostPorts';

export function render(
  c: Chains,
  nets: NetworkState[],
  dnatMasquerade: DnatMasquerade = 'all',
): { nat: string; filter: string } {
  const nat = ['*nat', `:${c.dnat} - [0:0]`, `:${c.post} - [0:0]`];
  const filter = ['*filter', `:${c.fwd} - [0:0]`];
  for (const n of nets) {
    const b = n.config.bridge;
    for (const m of nets) if (m !== n) filter.push(`-A ${c.fwd} -i ${b} -o ${m.config.bridge} -j DROP`);
    if (n.config.internal)
      filter.push(`-A ${c.fwd} -i ${b} ! -o ${b} -j DROP`, `-A ${c.fwd} -o ${b} ! -i ${b} -j DROP`);
  }
  for (const n of nets) {
    const { bridge: b, subnet } = n.config;
    filter.push(
      `-A ${c.fwd} -i ${b} -o ${b} -j ACCEPT`,
      `-A ${c.fwd} -o ${b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      `-A ${c.fwd} -o ${b} -m conntrack --ctstate DNAT -j ACCEPT`,
      `-A ${c.fwd} -i ${b} ! -o ${b} -j ACCEPT`,
      `-A ${c.fwd} -o ${b} -j DROP`,
    );
    nat.push(`-A ${c.post} -o ${b} -m addrtype --src-type LOCAL -j MASQUERADE`);
    if (dnatMasquerade === 'all')
      nat.push(`-A ${c.post} -o ${b} -s ${subnet} -m conntrack --ctstate DNAT -j MASQUERADE`);
    else
      for (const e of Object.values(n.endpoints))
        for (const p of e.ports)
          nat.push(
            `-A ${c.post} -o ${b} -s ${subnet} -d ${e.ip}/32 -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -m conntrack --ctstate DNAT --ctorigdstport ${p.hostPort} -j MASQUERADE`,
          );
    if (!n.config.internal) {
      nat.push(`-A ${c.post} -s ${subnet} ! -o ${b} -j MASQUERADE`);
      for (const e of Object.values(n.endpoints))
        for (const p of e.ports) {
          const dst = p.hostIp && p.hostIp !== '0.0.0.0' ? ` -d ${p.hostIp}/32` : '';
          nat.push(
            `-A ${c.dnat}${dst} -p ${p.proto} -m ${p.proto} --dport ${p.hostPort} -j DNAT --to-destination ${e.ip}:${p.containerPort}`,
          );
        }
    }
  }
  nat.push('COMMIT', '');
  filter.push('COMMIT', '');
  return { nat: nat.join('\n'), filter: filter.join('\n') };
}

/** Rewrites our chains; with `checkJumps` also makes sure each built-in chain jumps to ours once
 *  (callers check at start-up and after a failure, not on every change: 4 spawns saved). */
export async function apply(
  c: Chains,
  nets: NetworkState[],
  checkJumps = true,
  proxyLoopback = false,
  dnatMasquerade: DnatMasquerade = 'all',
): Promise<void> {
  const r = render(c, nets, dnatMasquerade);
  await mustRun('iptables-restore', ['-w', '--noflush'], r.nat + r.filter);
  if (!checkJumps) return;
  for (const j of jumps(c, !proxyLoopback).filter((x) => x.chain === 'OUTPUT')) {
    while ((await run('iptables', ['-w', '-t', j.table, '-D', j.chain, ...j.rule])).code === 0) {
      /* the other mode's jump */
    }
  }
  for (const j of jumps(c, proxyLoopback)) {
    const probe = await run('iptables', ['-w', '-t', j.table, '-C', j.chain, ...j.rule]);
    if (probe.code !== 0) await mustRun('iptables', ['-w', '-t', j.table, '-I', j.chain, '1', ...j.rule]);
  }
}

/** Removes our jumps (every copy) and our chains; touches nothing else. */
export async function removeAll(c: Chains): Promise<void> {
  for (const j of [...jumps(c), ...jumps(c, true)]) {
    while ((await run('iptables', ['-w', '-t', j.table, '-D', j.chain, ...j.rule])).code === 0) {
      /* all copies */
    }
  }
  for (const [table, chain] of [
    ['nat', c.dnat],
    ['nat', c.post],
    ['filter', c.fwd],
  ]) {
    await run('iptables', ['-w', '-t', table, '-F', chain]);
    await run('iptables', ['-w', '-t', table, '-X', chain]);
  }
}
