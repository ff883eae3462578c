// The NetworkPolicy rule compiler: one policy plus what the cluster looks like (pods with their
// labels, addresses and container ports; namespaces with their labels) → the nftables chains and
// sets that enforce it on one node. Pure: no I/O, so every rule of the API's semantics is tested
// here (model.test.ts) and the controller only feeds it and applies the difference.
//
// Semantics (networking.k8s.io/v1, as upstream documents them):
// - a policy selects pods of its own namespace (spec.podSelector; {} = all of them); a selected pod
//   is isolated for each direction in spec.policyTypes (default: Ingress, plus Egress when the policy
//   has egress rules) and then admits only what some policy selecting it allows;
// - rules are ORed; within a rule, the peers are ORed, the ports are ORed, and peers AND ports;
//   no peers = any address, no ports = any port and protocol;
// - a peer is a podSelector (pods of the policy's namespace), a namespaceSelector (all pods of the
//   matching namespaces), both (matching pods in matching namespaces), or an ipBlock (a CIDR minus
//   its exceptions);
// - a port is a number (with an optional endPort range) or a name, resolved per pod from its
//   containers' ports: for ingress the name is looked up on the selected (destination) pod, for
//   egress on the peer (destination) pod; a named port never matches an ipBlock peer. Protocol TCP
//   by default, UDP and SCTP too.
import { createHash } from 'node:crypto';
import {
  fromLabelSelector,
  selectorMatches,
  type KubeObject,
  type LabelSelector,
  type Selector,
} from '../api/index.js';

/** What the compiler needs of a Pod. */
export interface PodInfo {
  namespace: string;
  labels: Record<string, string>;
  ip: string;
  node: string;
  ports: { name: string; port: number; protocol: string }[];
}

/** The cluster as the compiler sees it. */
export interface ClusterView {
  nodeName: string;
  /** Pods that can be policy subjects or peers: a pod IP, not host network, not finished. */
  pods: PodInfo[];
  namespaceLabels(name: string): Record<string, string> | undefined;
}

/** A set as nft declares it: type, and elements as nft prints them. */
export interface SetDef {
  type: 'ipv4_addr' | 'ipv4_addr . inet_proto . inet_service';
  /** `interval` for sets of prefixes. */
  interval?: boolean;
  elements: string[];
}

/** Everything one policy puts in the table. */
export interface CompiledPolicy {
  key: string;
  ingress: boolean;
  egress: boolean;
  /** This node's pods the policy selects (their IPs). */
  targets: string[];
  /** Name of the set holding `targets`. */
  targetSet: string;
  /** Per-direction chain name (present for the isolated directions). */
  ingressChain?: string;
  egressChain?: string;
  chains: Map<string, string[]>;
  sets: Map<string, SetDef>;
}

interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface IPBlock {
  cidr: string;
  except?: string[];
}
interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PolicyPort[];
}
export interface PolicySpec {
  podSelector?: LabelSelector;
  policyTypes?: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

export const policyHash = (key: string) =>
  // Set names must not start with a digit (nft reads a number); they get a letter before the hash.
  createHash('sha256').update(key).digest('base64url').replace(/[-_]/g, 'x').slice(0, 10).toUpperCase();

/** The directions a policy isolates (upstream's defaulting when policyTypes is empty). */
export function policyTypes(spec: PolicySpec): { ingress: boolean; egress: boolean } {
  const types = spec.policyTypes?.length ? spec.policyTypes : ['Ingress', ...(spec.egress?.length ? ['Egress'] : [])];
  return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
}

/** Whether the policy's selectors look beyond its own namespace (for invalidation on changes). */
export function crossNamespace(spec: PolicySpec): boolean {
  const rules = [...(spec.ingress ?? []), ...(spec.egress ?? [])];
  if (rules.some((r) => [...(r.from ?? []), ...(r.to ?? [])].some((p) => p.namespaceSelector))) return true;
  // An egress named port without peers resolves on every pod of the cluster.
  return (spec.egress ?? []).some((r) => !r.to?.length && r.ports?.some((p) => typeof p.port === 'string'));
}

// Each selector object is parsed once per compile, not once per pod it is matched against.
const parsed = new WeakMap<LabelSelector, Selector>();
const EVERYTHING: LabelSelector = {};
function selects(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  const ls = sel ?? EVERYTHING;
  let s = parsed.get(ls);
  if (!s) parsed.set(ls, (s = fromLabelSelector(ls)));
  return selectorMatches(s, labels);
}

/** The pods a selector peer stands for (a peer with neither selector matches nothing). */
function peerPods(view: ClusterView, namespace: string, peer: Peer): PodInfo[] {
  if (peer.namespaceSelector) {
    const nsOk = new Map<string, boolean>();
    return view.pods.filter((p) => {
      let ok = nsOk.get(p.namespace);
      if (ok === undefined) {
        const labels = view.namespaceLabels(p.namespace);
        ok = labels !== undefined && selects(peer.namespaceSelector, labels);
        nsOk.set(p.namespace, ok);
      }
      return ok && (!peer.podSelector || selects(peer.podSelector, p.labels));
    });
  }
  if (peer.podSelector)
    return view.pods.filter((p) => p.namespace === namespace && selects(peer.podSelector, p.labels));
  return [];
}

const proto = (p: PolicyPort) => (p.protocol ?? 'TCP').toLowerCase();

/** `ip . proto . port` elements for the pods' container ports named `name`. */
function namedPortElements(pods: PodInfo[], name: string, protocol: string): string[] {
  const out = new Set<string>();
  for (const p of pods)
    for (const cp of p.ports)
      if (cp.name === name && cp.protocol.toLowerCase() === protocol) out.add(`${p.ip} . ${protocol} . ${cp.port}`);
  return [...out];
}

export function compilePolicy(np: KubeObject, view: ClusterView): CompiledPolicy {
  const namespace = np.metadata.namespace ?? 'default';
  const key = `${namespace}/${np.metadata.name}`;
  const spec = ((np as { spec?: PolicySpec }).spec ?? {}) as PolicySpec;
  const h = policyHash(key);
  const { ingress, egress } = policyTypes(spec);
  const targetPods = view.pods.filter(
    (p) => p.node === view.nodeName && p.namespace === namespace && selects(spec.podSelector, p.labels),
  );
  const targetSet = `p${h}-pods`;
  const out: CompiledPolicy = {
    key,
    ingress,
    egress,
    targets: [...new Set(targetPods.map((p) => p.ip))],
    targetSet,
    chains: new Map(),
    sets: new Map([[targetSet, { type: 'ipv4_addr', elements: [] }]]),
  };
  out.sets.get(targetSet)!.elements = out.targets;

  const direction = (dir: 'in' | 'eg', rules: Rule[]) => {
    // Chain names carry the readable key after the hash (nft takes [A-Za-z0-9/._-] unquoted).
    const chain = `${dir}-${h}-${key}`;
    const lines: string[] = [];
    const [peerAddr, portAddr] = dir === 'in' ? ['ip saddr', 'ip daddr'] : ['ip daddr', 'ip daddr'];
    rules.forEach((rule, i) => {
      const peers = (dir === 'in' ? rule.from : rule.to) ?? [];
      // Peer matches: '' = any source/destination.
      const peerMatches: { match: string; block: boolean }[] = [];
      const selected: PodInfo[] = [];
      peers.forEach((peer, j) => {
        if (peer.ipBlock) {
          // IPv4 only (pods are): an IPv6 block matches nothing here.
          if (peer.ipBlock.cidr.includes(':')) return;
          const ex = (peer.ipBlock.except ?? []).filter((e) => !e.includes(':'));
          peerMatches.push({
            match: `${peerAddr} ${peer.ipBlock.cidr}${ex.length ? ` ${peerAddr} != { ${ex.join(', ')} }` : ''}`,
            block: true,
          });
          return;
        }
        const pods = peerPods(view, namespace, peer);
        selected.push(...pods);
        const set = `p${h}-${dir}${i}p${j}`;
        out.sets.set(set, { type: 'ipv4_addr', elements: [...new Set(pods.map((p) => p.ip))] });
        peerMatches.push({ match: `${peerAddr} @${set}`, block: false });
      });
      if (!peers.length) peerMatches.push({ match: '', block: false });
      // Port matches: '' = any port of any protocol; `named` ones never pair with an ipBlock.
      const portMatches: { match: string; named: boolean }[] = [];
      (rule.ports ?? []).forEach((pt, k) => {
        const pr = proto(pt);
        if (typeof pt.port === 'string') {
          // Ingress: the name on the selected pods; egress: on the peers (any pod without peers).
          const pods = dir === 'in' ? targetPods : peers.length ? selected : view.pods;
          const set = `p${h}-${dir}${i}n${k}`;
          out.sets.set(set, {
            type: 'ipv4_addr . inet_proto . inet_service',
            elements: namedPortElements(pods, pt.port, pr),
          });
          portMatches.push({ match: `${portAddr} . meta l4proto . th dport @${set}`, named: true });
        } else if (pt.port === undefined) {
          portMatches.push({ match: `meta l4proto ${pr}`, named: false });
        } else {
          const range = pt.endPort && pt.endPort > pt.port ? `${pt.port}-${pt.endPort}` : `${pt.port}`;
          portMatches.push({ match: `meta l4proto ${pr} th dport ${range}`, named: false });
        }
      });
      if (!rule.ports?.length) portMatches.push({ match: '', named: false });
      for (const p of peerMatches)
        for (const q of portMatches) {
          if (p.block && q.named) continue;
          lines.push([p.match, q.match, 'accept'].filter(Boolean).join(' '));
        }
    });
    out.chains.set(chain, lines);
    return chain;
  };
  if (ingress) out.ingressChain = direction('in', spec.ingress ?? []);
  if (egress) out.egressChain = direction('eg', spec.egress ?? []);
  return out;
}

/** The pod as the compiler sees it, or undefined when policies ignore it. */
export function podInfo(pod: KubeObject): PodInfo | undefined {
  const p = pod as {
    spec?: {
      nodeName?: string;
      hostNetwork?: boolean;
      containers?: { ports?: { name?: string; containerPort: number; protocol?: string }[] }[];
    };
    status?: { phase?: string; podIP?: string; podIPs?: { ip: string }[] };
  };
  if (p.spec?.hostNetwork) return undefined;
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return undefined;
  const ip = [p.status?.podIP, ...(p.status?.podIPs ?? []).map((x) => x.ip)].find((a) => a && /^[\d.]+$/.test(a));
  if (!ip) return undefined;
  return {
    namespace: pod.metadata.namespace ?? 'default',
    labels: pod.metadata.labels ?? {},
    ip,
    node: p.spec?.nodeName ?? '',
    ports: (p.spec?.containers ?? []).flatMap((c) =>
      (c.ports ?? [])
        .filter((cp) => cp.name)
        .map((cp) => ({ name: cp.name!, port: cp.containerPort, protocol: cp.protocol ?? 'TCP' })),
    ),
  };
}
