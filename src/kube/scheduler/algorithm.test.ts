// The cache (assume, confirm, forget; node order) and one scheduling decision over the default
// profile: how many nodes are searched, the rotating start, and upstream's failure message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Algorithm, numFeasibleNodesToFind } from './algorithm.js';
import { CycleState, fitErrorMessage, NodeToStatus, unresolvable, unschedulable } from './framework.js';
import { PodInfo } from './nodeinfo.js';
import { defaultPlugins } from './plugins/index.js';
import { cluster, node, pod } from './testing.js';

test('numFeasibleNodesToFind: all below 100 nodes, then 50% − n/125 (min 5%), at least 100', () => {
  const cases: [number, number][] = [
    [10, 10],
    [99, 99],
    [100, 100],
    [1000, 420],
    [5000, 500],
    [6000, 300],
    [20_000, 1000],
  ];
  for (const [n, want] of cases) assert.equal(numFeasibleNodesToFind(n), want, `${n} nodes`);
  assert.equal(numFeasibleNodesToFind(1000, 30), 300);
});

test('fitErrorMessage: counts per reason, sorted as strings (count included), then PostFilter', () => {
  const s = new NodeToStatus();
  s.set('a', unschedulable('Insufficient cpu'));
  s.set('b', unresolvable('node(s) had untolerated taint {dedicated: gpu}'));
  s.set('c', unresolvable('node(s) had untolerated taint {dedicated: gpu}'));
  const msg = fitErrorMessage(3, {
    nodeToStatus: s,
    unschedulablePlugins: new Set(),
    postFilterMsg:
      'preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.',
  });
  assert.equal(
    msg,
    '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}. ' +
      'preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.',
  );
  // Sorting is by string: "10 x" comes before "2 y".
  const many = new NodeToStatus();
  for (let i = 0; i < 10; i++) many.set(`x${i}`, unschedulable('x'));
  many.set('y0', unschedulable('y'));
  many.set('y1', unschedulable('y'));
  assert.equal(
    fitErrorMessage(12, { nodeToStatus: many, unschedulablePlugins: new Set() }),
    '0/12 nodes are available: 10 x, 2 y.',
  );
  // A PreFilter rejection names itself once, not per node.
  assert.equal(
    fitErrorMessage(5, {
      nodeToStatus: new NodeToStatus(),
      unschedulablePlugins: new Set(),
      preFilterMsg: 'pod has unbound immediate PersistentVolumeClaims',
    }),
    '0/5 nodes are available: pod has unbound immediate PersistentVolumeClaims.',
  );
});

test('default profile: a pod that fits nowhere gets every node reason from its first failing filter', () => {
  const cl = cluster([
    node('small', { cpu: '1' }),
    node('gpu1', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    node('gpu2', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }], cpu: '1' }),
  ]);
  const prof = cl.profile((h) => defaultPlugins(h, () => []));
  const alg = new Algorithm(prof, cl.cache);
  const r = alg.schedule(new CycleState(), new PodInfo(pod('p', { cpu: '2' })));
  assert.equal(r.kind, 'unfit');
  if (r.kind !== 'unfit') return;
  assert.equal(
    fitErrorMessage(r.numAllNodes, r.diagnosis),
    '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}.',
  );
  assert.deepEqual([...r.diagnosis.unschedulablePlugins].sort(), ['NodeResourcesFit', 'TaintToleration']);
});

test('default profile: picks the least loaded node, spreads by rotation and assumes placement', () => {
  const nodes = Array.from({ length: 4 }, (_, i) => node(`n${i}`, { cpu: '4', memory: '8Gi' }));
  const cl = cluster(nodes, [pod('busy', { node: 'n0', cpu: '3' })]);
  const prof = cl.profile((h) => defaultPlugins(h, () => []));
  const alg = new Algorithm(prof, cl.cache);
  const placed: string[] = [];
  for (let i = 0; i < 6; i++) {
    const pi = new PodInfo(pod(`p${i}`, { cpu: '1', memory: '1Gi' }));
    const r = alg.schedule(new CycleState(), pi);
    assert.equal(r.kind, 'scheduled');
    if (r.kind !== 'scheduled') return;
    placed.push(r.node);
    cl.cache.assumePod(pi, r.node);
  }
  // n0 is the busiest, so it gets a pod only after the others have two.
  assert.equal(placed.filter((n) => n === 'n0').length, 0);
  assert.deepEqual(
    ['n1', 'n2', 'n3'].map((n) => placed.filter((x) => x === n).length),
    [2, 2, 2],
  );
});

test('cache: assumed pods count until forgotten; informer confirmation replaces them; zones interleave', () => {
  const cl = cluster([
    node('a1', { labels: { 'topology.kubernetes.io/zone': 'a' } }),
    node('a2', { labels: { 'topology.kubernetes.io/zone': 'a' } }),
    node('a3', { labels: { 'topology.kubernetes.io/zone': 'a' } }),
    node('b1', { labels: { 'topology.kubernetes.io/zone': 'b' } }),
  ]);
  assert.deepEqual(
    cl.cache.nodeInfos().map((n) => n.name),
    ['a1', 'b1', 'a2', 'a3'],
  );
  const p = pod('p', { cpu: '1' });
  const pi = new PodInfo(p);
  cl.cache.assumePod(pi, 'a1');
  assert.equal(cl.cache.get('a1')!.requested.milliCPU, 1000);
  assert.ok(cl.cache.isAssumed(pi.key));
  cl.cache.forgetPod(pi.key);
  assert.equal(cl.cache.get('a1')!.requested.milliCPU, 0);
  cl.cache.assumePod(pi, 'a1');
  cl.cache.addPod({ ...p, spec: { ...p.spec, nodeName: 'a1' } });
  assert.ok(!cl.cache.isAssumed(pi.key));
  assert.equal(cl.cache.get('a1')!.pods.length, 1);
  // A pod on a node the cache has not seen yet waits there; the node is listed once it exists.
  cl.cache.addPod(pod('early', { node: 'later', cpu: '1' }));
  assert.equal(cl.cache.get('later'), undefined);
  cl.cache.addNode(node('later'));
  assert.equal(cl.cache.get('later')!.requested.milliCPU, 1000);
});

test('odd pod specs never make a scheduling cycle throw', () => {
  const cl = cluster([node('n1', { labels: { zone: 'a' } }), node('n2', { labels: { zone: 'b' } })]);
  const prof = cl.profile((h) => defaultPlugins(h, () => []));
  const alg = new Algorithm(prof, cl.cache);
  const odd: Record<string, unknown>[] = [
    { containers: undefined },
    { containers: [{ name: 'c', resources: { requests: { cpu: 'lots', memory: -1 } } }] },
    { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: -5 }] }] },
    {
      affinity: {
        podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: null, topologyKey: '' }] },
      },
    },
    {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] }, topologyKey: 'zone' },
          ],
        },
      },
    },
    {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'Gt' }] }],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, preference: {} }],
        },
      },
    },
    { topologySpreadConstraints: [{ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' }] },
    {
      topologySpreadConstraints: [
        { maxSkew: 0, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: {} },
      ],
    },
    { tolerations: [{ operator: 'Weird', effect: 'NoSchedule' }, {}] },
    {
      volumes: [
        { name: 'v', ephemeral: {} },
        { name: 'w', persistentVolumeClaim: { claimName: '' } },
      ],
    },
    { overhead: { cpu: 'x' }, initContainers: [{ name: 'i', restartPolicy: 'Always' }] },
    { schedulingGates: [] },
  ];
  for (const spec of odd) {
    const p = pod('odd', { spec: spec as never });
    const r = alg.schedule(new CycleState(), new PodInfo(p));
    assert.ok(['scheduled', 'unfit'].includes(r.kind), `${JSON.stringify(spec)} → ${r.kind}`);
  }
});

test("NodeInfo's copies of its sums, byte counts split in two, give back the Resource objects' numbers", () => {
  const memories = ['1G', '32Gi', '1500000001', '7Ti', '1'];
  const cl = cluster(memories.map((m, i) => node(`n${i}`, { memory: m, extra: { 'ephemeral-storage': m } })));
  const check = (what: string) => {
    for (const n of cl.cache.nodeInfos())
      for (const x of [n, n.clone()]) {
        assert.equal(x.allocMemory, x.allocatable.memory, `${what} ${n.name} allocatable memory`);
        assert.equal(x.allocEphemeralStorage, x.allocatable.ephemeralStorage, `${what} ${n.name} ephemeral`);
        assert.equal(x.reqMemory, x.requested.memory, `${what} ${n.name} requested memory`);
        assert.equal(x.reqEphemeralStorage, x.requested.ephemeralStorage, `${what} ${n.name} requested ephemeral`);
        assert.equal(x.nonZeroMemory, x.nonZeroRequested.memory, `${what} ${n.name} non-zero memory`);
        assert.equal(x.reqMilliCPU, x.requested.milliCPU, `${what} ${n.name} cpu`);
        assert.equal(x.podCount, x.pods.length, `${what} ${n.name} pods`);
      }
  };
  check('empty');
  const placed: PodInfo[] = [];
  for (let i = 0; i < 40; i++) {
    const p = new PodInfo(pod(`p${i}`, { cpu: `${i * 7}m`, memory: i % 3 ? `${i * 333_333_337}` : undefined }));
    placed.push(cl.cache.assumePod(p, `n${i % memories.length}`));
  }
  check('with pods');
  assert.ok(cl.cache.get('n1')!.reqMemory > 2 ** 31, 'beyond the small-integer range');
  for (const p of placed.filter((_, i) => i % 2)) cl.cache.forgetPod(p.key);
  check('half removed');
});
