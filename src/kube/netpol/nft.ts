// The nftables program of NetworkPolicy enforcement on one node: a table of its own (family ip;
// pods are IPv4), two base chains on the forward hook — bridged pod-to-pod traffic reaches it
// through br_netfilter, routed traffic (other nodes, outside) directly. Traffic from and to the
// node itself (input/output hooks: kubelet probes, node-local DNS) is never filtered, as upstream
// specifies.
//
//   egress-hook  (forward): established/related → accept; saddr ∈ @egress-isolated → egress-policies
//   ingress-hook (forward): established/related → accept; daddr ∈ @ingress-isolated → ingress-policies
//   egress-policies  : saddr ∈ @P-pods → jump eg-P   (each policy isolating egress), then reject
//   ingress-policies : daddr ∈ @P-pods → jump in-P   (each policy isolating ingress), then reject
//   in-P / eg-P      : one rule per (peer, port) pair of each rule: … accept
//
// What no policy admits is rejected (ICMP port unreachable: a TCP client fails at once instead of
// timing out), as kube-router, k3s's policy controller, does.
// An accept ends only its own base chain, so a packet between two pods of this node passes the
// egress check of its source and then the ingress check of its destination. Selectors become sets
// of pod IPs (named ports: sets of ip . protocol . port); a pod's change is set elements only.
import type { CompiledPolicy, SetDef } from './model.js';

/** The dynamic part of the table: everything but the base chains. */
export interface TableState {
  sets: Map<string, SetDef>;
  chains: Map<string, string[]>;
}

export const emptyState = (): TableState => ({ sets: new Map(), chains: new Map() });

export function baseScript(table: string): string {
  const t = `ip ${table}`;
  return [
    `add table ${t} { comment "Skiff NetworkPolicy"; }`,
    `add set ${t} ingress-isolated { type ipv4_addr; }`,
    `add set ${t} egress-isolated { type ipv4_addr; }`,
    `add chain ${t} egress-hook { type filter hook forward priority filter + 5; policy accept; }`,
    `add chain ${t} ingress-hook { type filter hook forward priority filter + 10; policy accept; }`,
    `add chain ${t} egress-policies`,
    `add chain ${t} ingress-policies`,
    `flush chain ${t} egress-hook`,
    `flush chain ${t} ingress-hook`,
    `add rule ${t} egress-hook ct state established,related accept`,
    `add rule ${t} egress-hook ip saddr @egress-isolated jump egress-policies`,
    `add rule ${t} ingress-hook ct state established,related accept`,
    `add rule ${t} ingress-hook ip daddr @ingress-isolated jump ingress-policies`,
  ].join('\n');
}

/** The whole dynamic state for a set of compiled policies (sorted by key: a stable order). */
export function tableState(policies: CompiledPolicy[]): TableState {
  const st = emptyState();
  const sorted = [...policies].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const ingressIso = new Set<string>();
  const egressIso = new Set<string>();
  const dispatch = { in: [] as string[], eg: [] as string[] };
  for (const p of sorted) {
    for (const [k, v] of p.sets) st.sets.set(k, v);
    for (const [k, v] of p.chains) st.chains.set(k, v);
    if (p.ingressChain) {
      for (const ip of p.targets) ingressIso.add(ip);
      dispatch.in.push(`ip daddr @${p.targetSet} jump ${p.ingressChain}`);
    }
    if (p.egressChain) {
      for (const ip of p.targets) egressIso.add(ip);
      dispatch.eg.push(`ip saddr @${p.targetSet} jump ${p.egressChain}`);
    }
  }
  // The isolated-pod sets and the dispatch chains are part of the base table: listed here with
  // their contents so that the diff keeps them current, never created or deleted by it.
  st.sets.set('ingress-isolated', { type: 'ipv4_addr', elements: [...ingressIso] });
  st.sets.set('egress-isolated', { type: 'ipv4_addr', elements: [...egressIso] });
  st.chains.set('ingress-policies', [...dispatch.in, 'reject']);
  st.chains.set('egress-policies', [...dispatch.eg, 'reject']);
  return st;
}

const BASE_SETS = new Set(['ingress-isolated', 'egress-isolated']);
const BASE_CHAINS = new Set(['ingress-policies', 'egress-policies']);

function elementLines(verb: 'add' | 'delete', t: string, set: string, els: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < els.length; i += 500)
    out.push(`${verb} element ${t} ${set} { ${els.slice(i, i + 500).join(', ')} }`);
  return out;
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The transaction that turns `before` into `after`: new sets, then element changes, then chains
 * (new ones added, changed ones flushed and refilled), and last the chains and sets no longer used
 * (nothing refers to them by then). Unchanged chains keep their rules (and rule handles).
 */
export function diffScript(table: string, before: TableState, after: TableState): string {
  const t = `ip ${table}`;
  const lines: string[] = [];
  for (const [name, def] of after.sets) {
    const old = before.sets.get(name);
    if (!old && !BASE_SETS.has(name))
      lines.push(`add set ${t} ${name} { type ${def.type};${def.interval ? ' flags interval;' : ''} }`);
    const had = new Set(old?.elements ?? []);
    const has = new Set(def.elements);
    lines.push(
      ...elementLines(
        'delete',
        t,
        name,
        [...had].filter((e) => !has.has(e)),
      ),
    );
    lines.push(
      ...elementLines(
        'add',
        t,
        name,
        [...has].filter((e) => !had.has(e)),
      ),
    );
  }
  for (const [name, rules] of after.chains) {
    const old = before.chains.get(name);
    if (old && sameList(old, rules)) continue;
    if (old || BASE_CHAINS.has(name)) lines.push(`flush chain ${t} ${name}`);
    else lines.push(`add chain ${t} ${name}`);
  }
  for (const [name, rules] of after.chains) {
    const old = before.chains.get(name);
    if (old && sameList(old, rules)) continue;
    for (const r of rules) lines.push(`add rule ${t} ${name} ${r}`);
  }
  for (const name of before.chains.keys())
    if (!after.chains.has(name) && !BASE_CHAINS.has(name)) lines.push(`delete chain ${t} ${name}`);
  for (const name of before.sets.keys())
    if (!after.sets.has(name) && !BASE_SETS.has(name)) lines.push(`delete set ${t} ${name}`);
  return lines.join('\n');
}
