// PodTopologySpread, InterPodAffinity, BalancedAllocation and ImageLocality against upstream's
// arithmetic and reasons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, filterAll, node, pod, reasons, scoreAll } from '../testing.js';
import { imageLocality, nodeResourcesBalancedAllocation } from './node-resources.js';
import { podTopologySpread } from './pod-topology-spread.js';
import { interPodAffinity } from './inter-pod-affinity.js';
import type { Pod, TopologySpreadConstraint } from '../types.js';

const MB = 1024 * 1024;
const zones = (n: string, zone: string) => node(n, { labels: { zone } });
const spread = (c: Partial<TopologySpreadConstraint>, labels = { app: 'web' }): Pod =>
  pod('p', {
    labels,
    spec: {
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app: 'web' } },
          ...c,
        },
      ],
    },
  });
const web = (name: string, nodeName: string) => pod(name, { labels: { app: 'web' }, node: nodeName });

test('PodTopologySpread filter: skew = domain count + self − minimum', () => {
  // zone a: 2 web pods, zone b: 1, zone c: 0 → only c is within maxSkew 1.
  const cl = cluster(
    [zones('a1', 'a'), zones('b1', 'b'), zones('c1', 'c'), node('nolabel')],
    [web('w1', 'a1'), web('w2', 'a1'), web('w3', 'b1'), pod('other', { labels: { app: 'db' }, node: 'c1' })],
  );
  const got = filterAll(cl, podTopologySpread(cl.handle), spread({}));
  const r = (n: string) => reasons(got.get(n));
  assert.equal(r('a1'), "node(s) didn't match pod topology spread constraints");
  assert.equal(r('b1'), "node(s) didn't match pod topology spread constraints");
  assert.equal(r('c1'), '');
  assert.equal(r('nolabel'), "node(s) didn't match pod topology spread constraints (missing required label)");
  // maxSkew 2 admits zone b too.
  const g2 = filterAll(cl, podTopologySpread(cl.handle), spread({ maxSkew: 2 }));
  assert.equal(reasons(g2.get('b1')), '');
  // minDomains above the number of domains makes the global minimum 0: zone c only at maxSkew 1.
  const g3 = filterAll(cl, podTopologySpread(cl.handle), spread({ maxSkew: 2, minDomains: 5 }));
  assert.equal(reasons(g3.get('a1')), "node(s) didn't match pod topology spread constraints");
  assert.equal(reasons(g3.get('b1')), '');
  // A pod the selector does not match does not count itself.
  const g4 = filterAll(cl, podTopologySpread(cl.handle), spread({ maxSkew: 1 }, { app: 'other' }));
  assert.equal(reasons(g4.get('b1')), '');
});

test('PodTopologySpread filter: counts remembered per node follow pods placed and removed between cycles', () => {
  // One plugin instance over several cycles (as the scheduler runs it): zone a has 1 web pod, b 0.
  const cl = cluster([zones('a1', 'a'), zones('b1', 'b')], [web('w1', 'a1')]);
  const plugin = podTopologySpread(cl.handle);
  const fits = () => [...filterAll(cl, plugin, spread({}))].filter(([, s]) => !reasons(s)).map(([n]) => n);
  assert.deepEqual(fits(), ['b1']);
  cl.cache.addPod(web('w2', 'b1'));
  assert.deepEqual(fits(), ['a1', 'b1']);
  const w3 = web('w3', 'b1');
  cl.cache.addPod(w3);
  assert.deepEqual(fits(), ['a1']);
  // A pod's labels changed so that it no longer matches: its node counts one fewer.
  cl.cache.updatePod({ ...w3, metadata: { ...w3.metadata, labels: { app: 'db' } } });
  assert.deepEqual(fits(), ['a1', 'b1']);
  cl.cache.removePod(cl.cache.nodeInfos().find((n) => n.name === 'a1')!.pods[0].pod);
  assert.deepEqual(fits(), ['a1']);
});

test('PodTopologySpread filter honours the pod node affinity for the domains (nodeAffinityPolicy Honor)', () => {
  const cl = cluster([zones('a1', 'a'), zones('b1', 'b')], [web('w1', 'a1')]);
  // Only zone a is eligible: its count (1) is also the minimum, so a fits with skew 1.
  const p = spread({});
  p.spec.nodeSelector = { zone: 'a' };
  assert.equal(reasons(filterAll(cl, podTopologySpread(cl.handle), p).get('a1')), '');
  const ignore = spread({ nodeAffinityPolicy: 'Ignore' });
  ignore.spec.nodeSelector = { zone: 'a' };
  assert.notEqual(reasons(filterAll(cl, podTopologySpread(cl.handle), ignore).get('a1')), '');
});

test('PodTopologySpread score: fewer matching pods in the domain score higher; system defaults from a Service', () => {
  const cl = cluster([node('n1'), node('n2'), node('n3')], [web('w1', 'n1'), web('w2', 'n1'), web('w3', 'n2')]);
  const soft = spread({ topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' });
  const s = scoreAll(cl, podTopologySpread(cl.handle), soft);
  // weight log(3+2); raw = cnt × w + (maxSkew − 1): n1 3.22 → 3, n2 1.61 → 2, n3 0; normalised
  // 100 × (max + min − s) / max.
  assert.deepEqual([s.get('n1'), s.get('n2'), s.get('n3')], [0, 33, 100]);
  // No constraints of its own and no Service/controller selecting it: PodTopologySpread skips.
  const none = scoreAll(cl, podTopologySpread(cl.handle), pod('p', { labels: { app: 'web' } }));
  assert.deepEqual([...none.values()], [0, 0, 0]);
  // A Service selecting the pod gives the system default constraints (hostname maxSkew 3).
  cl.listers.svcs = [{ metadata: { name: 's', namespace: 'default' }, spec: { selector: { app: 'web' } } }];
  const dflt = scoreAll(cl, podTopologySpread(cl.handle), pod('p', { labels: { app: 'web' } }));
  assert.ok(dflt.get('n3')! > dflt.get('n2')! && dflt.get('n2')! > dflt.get('n1')!, JSON.stringify([...dflt]));
});

const affinity = (
  kind: 'podAffinity' | 'podAntiAffinity',
  app: string,
  key = 'kubernetes.io/hostname',
  ns?: string[],
) => ({
  [kind]: {
    requiredDuringSchedulingIgnoredDuringExecution: [
      { labelSelector: { matchLabels: { app } }, topologyKey: key, namespaces: ns },
    ],
  },
});

test('InterPodAffinity filter: required affinity, anti-affinity and existing pods anti-affinity', () => {
  const nodes = [zones('a1', 'a'), zones('a2', 'a'), zones('b1', 'b')];
  const db = pod('db', { labels: { app: 'db' }, node: 'a1' });
  let cl = cluster(nodes, [db]);
  // Affinity to app=db by zone: zone a nodes only.
  let got = filterAll(
    cl,
    interPodAffinity(cl.handle),
    pod('p', { spec: { affinity: affinity('podAffinity', 'db', 'zone') } }),
  );
  assert.deepEqual(
    ['a1', 'a2', 'b1'].map((n) => reasons(got.get(n))),
    ['', '', "node(s) didn't match pod affinity rules"],
  );
  // Anti-affinity to app=db by hostname: not a1.
  got = filterAll(cl, interPodAffinity(cl.handle), pod('p', { spec: { affinity: affinity('podAntiAffinity', 'db') } }));
  assert.deepEqual(
    ['a1', 'a2', 'b1'].map((n) => reasons(got.get(n))),
    ["node(s) didn't match pod anti-affinity rules", '', ''],
  );
  // An existing pod's anti-affinity to app=web by zone keeps a web pod out of its zone.
  const guard = pod('guard', { node: 'b1', spec: { affinity: affinity('podAntiAffinity', 'web', 'zone') } });
  cl = cluster(nodes, [guard]);
  got = filterAll(cl, interPodAffinity(cl.handle), pod('w', { labels: { app: 'web' } }));
  assert.deepEqual(
    ['a1', 'a2', 'b1'].map((n) => reasons(got.get(n))),
    ['', '', "node(s) didn't satisfy existing pods anti-affinity rules"],
  );
  // The first pod of a group that matches its own affinity term may go anywhere.
  cl = cluster(nodes);
  got = filterAll(
    cl,
    interPodAffinity(cl.handle),
    pod('first', { labels: { app: 'web' }, spec: { affinity: affinity('podAffinity', 'web', 'zone') } }),
  );
  assert.deepEqual(
    ['a1', 'a2', 'b1'].map((n) => reasons(got.get(n))),
    ['', '', ''],
  );
  // Terms apply to the pod's namespace unless they name others.
  cl = cluster(nodes, [pod('db2', { ns: 'other', labels: { app: 'db' }, node: 'b1' })]);
  got = filterAll(cl, interPodAffinity(cl.handle), pod('p', { spec: { affinity: affinity('podAntiAffinity', 'db') } }));
  assert.equal(reasons(got.get('b1')), '');
  got = filterAll(
    cl,
    interPodAffinity(cl.handle),
    pod('p', { spec: { affinity: affinity('podAntiAffinity', 'db', 'kubernetes.io/hostname', ['other']) } }),
  );
  assert.equal(reasons(got.get('b1')), "node(s) didn't match pod anti-affinity rules");
});

test('InterPodAffinity score: preferred terms by weight, normalised between min and max', () => {
  const nodes = [zones('a1', 'a'), zones('b1', 'b'), zones('c1', 'c')];
  const cl = cluster(nodes, [
    pod('db', { labels: { app: 'db' }, node: 'a1' }),
    pod('cache', { labels: { app: 'cache' }, node: 'b1' }),
  ]);
  const p = pod('p', {
    spec: {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, podAffinityTerm: { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'zone' } },
          ],
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 5, podAffinityTerm: { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'zone' } },
          ],
        },
      },
    },
  });
  const s = scoreAll(cl, interPodAffinity(cl.handle), p);
  // raw a=10, b=−5, c=0 → 100 × (x − (−5)) / 15
  assert.deepEqual([s.get('a1'), s.get('b1'), s.get('c1')], [100, 0, 33]);
});

test('BalancedAllocation and ImageLocality scores as upstream', () => {
  const cl = cluster([node('node1', { cpu: '4', memory: '10000' }), node('node2', { cpu: '6', memory: '10000' })]);
  const b = scoreAll(cl, nodeResourcesBalancedAllocation(), pod('p', { cpu: '3', memory: '5000' }));
  // node1 fractions 0.75 / 0.5 → std 0.125 → 87; node2 0.5 / 0.5 → 100.
  assert.deepEqual([b.get('node1'), b.get('node2')], [87, 100]);
  const img = cluster([
    node('with', { images: [{ names: ['registry.example/app:1.0'], sizeBytes: 250 * MB }] }),
    node('without'),
  ]);
  const p = pod('p', { containers: [{ name: 'c', image: 'registry.example/app:1.0' }] });
  const s = scoreAll(img, imageLocality(img.handle), p);
  // 250 MB × (1 node of 2) = 125 MB → 100 × (125 − 23) / (1000 − 23) = 10.
  assert.deepEqual([s.get('with'), s.get('without')], [10, 0]);
  // An untagged image name is :latest.
  const latest = cluster([node('n', { images: [{ names: ['busybox:latest'], sizeBytes: 600 * MB }] })]);
  const p2 = pod('p', { containers: [{ name: 'c', image: 'busybox' }] });
  assert.equal(scoreAll(latest, imageLocality(latest.handle), p2).get('n'), 59);
});
