import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/index.js';
import { compilePolicy, policyTypes, podInfo, type ClusterView, type PodInfo } from './model.js';
import { diffScript, emptyState, tableState } from './nft.js';

const pod = (ns: string, ip: string, labels: Record<string, string>, node = 'n1', ports: PodInfo['ports'] = []) => ({
  namespace: ns,
  ip,
  labels,
  node,
  ports,
});
const PODS: PodInfo[] = [
  pod('app', '10.42.0.2', { role: 'db' }, 'n1', [{ name: 'pg', port: 5432, protocol: 'TCP' }]),
  pod('app', '10.42.0.3', { role: 'web' }, 'n1', [{ name: 'http', port: 8080, protocol: 'TCP' }]),
  pod('app', '10.42.1.4', { role: 'db' }, 'n2', [{ name: 'pg', port: 5433, protocol: 'TCP' }]),
  pod('other', '10.42.0.5', { role: 'web' }, 'n1', [{ name: 'http', port: 9090, protocol: 'TCP' }]),
  pod('mon', '10.42.1.6', { role: 'prom' }, 'n2', [{ name: 'dns', port: 53, protocol: 'UDP' }]),
];
const NS: Record<string, Record<string, string>> = {
  app: { team: 'a' },
  other: { team: 'b' },
  mon: { team: 'b', tier: 'ops' },
};
const view: ClusterView = { nodeName: 'n1', pods: PODS, namespaceLabels: (n) => NS[n] };
const policy = (spec: Record<string, unknown>, ns = 'app', name = 'p'): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { namespace: ns, name },
  spec,
});
const rules = (spec: Record<string, unknown>, dir: 'in' | 'eg' = 'in') => {
  const c = compilePolicy(policy(spec), view);
  const chain = dir === 'in' ? c.ingressChain : c.egressChain;
  return { c, lines: chain ? c.chains.get(chain)! : undefined };
};
const setOf = (c: ReturnType<typeof compilePolicy>, suffix: string) =>
  c.sets.get(`${c.targetSet.slice(0, -5)}-${suffix}`)?.elements.sort();

test('policyTypes: Ingress by default, Egress when the policy has egress rules, or as listed', () => {
  assert.deepEqual(policyTypes({}), { ingress: true, egress: false });
  assert.deepEqual(policyTypes({ egress: [{}] }), { ingress: true, egress: true });
  assert.deepEqual(policyTypes({ policyTypes: ['Egress'] }), { ingress: false, egress: true });
});

test('default deny: the selected pods of this node and namespace, an empty chain', () => {
  const { c, lines } = rules({ podSelector: {}, ingress: [] });
  assert.deepEqual([...c.targets].sort(), ['10.42.0.2', '10.42.0.3']); // not n2's, not other's
  assert.deepEqual(lines, []);
  assert.equal(c.egressChain, undefined);
  const db = rules({ podSelector: { matchLabels: { role: 'db' } }, policyTypes: ['Ingress', 'Egress'] });
  assert.deepEqual(db.c.targets, ['10.42.0.2']);
  assert.deepEqual(db.c.chains.get(db.c.egressChain!), []);
});

test('an empty rule allows everything; podSelector peers are pods of the policy namespace', () => {
  assert.deepEqual(rules({ podSelector: {}, ingress: [{}] }).lines, ['accept']);
  const { c, lines } = rules({
    podSelector: {},
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }] }],
  });
  assert.equal(lines!.length, 1);
  assert.match(lines![0], /^ip saddr @\w+-in0p0 accept$/);
  assert.deepEqual(setOf(c, 'in0p0'), ['10.42.0.3']); // other/web is another namespace's
});

test('namespaceSelector alone, and together with podSelector', () => {
  const ns = rules({ podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }] });
  assert.deepEqual(setOf(ns.c, 'in0p0'), ['10.42.0.5', '10.42.1.6']);
  const both = rules({
    podSelector: {},
    ingress: [
      {
        from: [
          { namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { role: 'web' } } },
          { namespaceSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } },
        ],
      },
    ],
  });
  assert.deepEqual(setOf(both.c, 'in0p0'), ['10.42.0.5']);
  assert.deepEqual(setOf(both.c, 'in0p1'), ['10.42.1.6']);
  assert.equal(both.lines!.length, 2);
});

test('ipBlock with except; IPv6 blocks match nothing in the IPv4 table', () => {
  const { lines } = rules({
    podSelector: {},
    ingress: [
      { from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24', '192.168.2.0/24'] } }] },
      { from: [{ ipBlock: { cidr: 'fd00::/8' } }] },
    ],
  });
  assert.deepEqual(lines, ['ip saddr 192.168.0.0/16 ip saddr != { 192.168.1.0/24, 192.168.2.0/24 } accept']);
});

test('ports: numbers, ranges, protocols, and peers × ports', () => {
  const { lines } = rules({
    podSelector: {},
    ingress: [
      {
        from: [{ ipBlock: { cidr: '10.0.0.0/8' } }, { podSelector: {} }],
        ports: [{ port: 80 }, { protocol: 'UDP', port: 5000, endPort: 5010 }, { protocol: 'SCTP' }],
      },
    ],
  });
  assert.equal(lines!.length, 6);
  assert.equal(lines![0], 'ip saddr 10.0.0.0/8 meta l4proto tcp th dport 80 accept');
  assert.equal(lines![1], 'ip saddr 10.0.0.0/8 meta l4proto udp th dport 5000-5010 accept');
  assert.equal(lines![2], 'ip saddr 10.0.0.0/8 meta l4proto sctp accept');
  assert.match(lines![3], /^ip saddr @\w+-in0p1 meta l4proto tcp th dport 80 accept$/);
});

test('named ports: on the selected pods for ingress, on the peers for egress, never with an ipBlock', () => {
  const ing = rules({ podSelector: {}, ingress: [{ ports: [{ port: 'pg' }, { port: 'http' }] }] });
  assert.deepEqual(setOf(ing.c, 'in0n0'), ['10.42.0.2 . tcp . 5432']); // not n2's pod on 5433
  assert.deepEqual(setOf(ing.c, 'in0n1'), ['10.42.0.3 . tcp . 8080']);
  assert.match(ing.lines![0], /^ip daddr \. meta l4proto \. th dport @\w+-in0n0 accept$/);
  const eg = rules(
    {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        { to: [{ namespaceSelector: {} }, { ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 'pg' }] },
        { ports: [{ port: 'dns', protocol: 'UDP' }] },
      ],
    },
    'eg',
  );
  assert.deepEqual(setOf(eg.c, 'eg0n0'), ['10.42.0.2 . tcp . 5432', '10.42.1.4 . tcp . 5433']);
  assert.deepEqual(setOf(eg.c, 'eg1n0'), ['10.42.1.6 . udp . 53']);
  assert.equal(eg.lines!.length, 2);
  assert.match(eg.lines![0], /^ip daddr @\w+-eg0p0 ip daddr \. meta l4proto \. th dport @\w+-eg0n0 accept$/);
});

test('podInfo: host-network and finished pods are not subjects; named ports kept', () => {
  const p = (spec: Record<string, unknown>, status: Record<string, unknown>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'a', name: 'x', labels: { k: 'v' } },
    spec,
    status,
  });
  const containers = [{ name: 'c', ports: [{ name: 'web', containerPort: 80 }, { containerPort: 81 }] }];
  assert.deepEqual(podInfo(p({ nodeName: 'n', containers }, { podIP: '10.1.2.3', phase: 'Running' })), {
    namespace: 'a',
    labels: { k: 'v' },
    ip: '10.1.2.3',
    node: 'n',
    ports: [{ name: 'web', port: 80, protocol: 'TCP' }],
  });
  assert.equal(podInfo(p({ hostNetwork: true }, { podIP: '10.1.2.3' })), undefined);
  assert.equal(podInfo(p({}, { podIP: '10.1.2.3', phase: 'Succeeded' })), undefined);
  assert.equal(podInfo(p({}, { phase: 'Pending' })), undefined);
});

test('diff: a new pod is set elements only; a removed policy takes its chains and sets along', () => {
  const spec = { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }] }] };
  const s1 = tableState([compilePolicy(policy(spec), view)]);
  const full = diffScript('t', emptyState(), s1);
  assert.match(full, /add set ip t \w+-pods \{ type ipv4_addr; \}/);
  assert.match(full, /add element ip t ingress-isolated \{ 10.42.0.2, 10.42.0.3 \}/);
  assert.match(full, /flush chain ip t ingress-policies\n/);
  assert.match(
    full,
    /add rule ip t ingress-policies ip daddr @\w+-pods jump in-\w+-app\/p\nadd rule ip t ingress-policies reject/,
  );
  assert.equal(diffScript('t', s1, s1), '');
  const more = { ...view, pods: [...PODS, pod('app', '10.42.0.9', { role: 'web' })] };
  const s2 = tableState([compilePolicy(policy(spec), more)]);
  const lines = diffScript('t', s1, s2).split('\n').sort();
  assert.equal(lines.length, 3);
  assert.ok(
    lines.every((l) => l.startsWith('add element ip t ') && l.endsWith('{ 10.42.0.9 }')),
    lines.join('\n'),
  );
  const gone = diffScript('t', s2, tableState([]));
  assert.match(gone, /delete element ip t ingress-isolated \{ 10.42.0.2, 10.42.0.3, 10.42.0.9 \}/);
  assert.match(gone, /delete chain ip t in-\w+-app\/p/);
  assert.match(gone, /delete set ip t \w+-in0p0/);
  assert.ok(gone.indexOf('flush chain ip t ingress-policies') < gone.indexOf('delete chain'));
});

test('set names start with a letter whatever the hash (nft reads a leading digit as a number)', () => {
  for (let i = 0; i < 50; i++) {
    const c = compilePolicy(
      policy({ podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }, 'app', `p${i}`),
      view,
    );
    for (const name of c.sets.keys()) assert.match(name, /^[a-zA-Z]/);
  }
});
