// VolumeBinding (local PVs, WaitForFirstConsumer) and DefaultPreemption (victims, PDBs,
// preemptionPolicy) as upstream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, filterAll, node, pod, reasons } from '../testing.js';
import { volumeBinding } from './volume-binding.js';
import { defaultPreemption } from './default-preemption.js';
import { nodeResourcesFit } from './node-resources.js';
import { CycleState, NodeToStatus, unresolvable, unschedulable } from '../framework.js';
import { PodInfo } from '../nodeinfo.js';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from '../types.js';

const localPV = (name: string, nodeName: string, size = '10Gi', cls = 'local'): PersistentVolume => ({
  metadata: { name },
  spec: {
    capacity: { storage: size },
    accessModes: ['ReadWriteOnce'],
    storageClassName: cls,
    local: { path: `/mnt/${name}` },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] },
        ],
      },
    },
  },
  status: { phase: 'Available' },
});
const claim = (name: string, size = '5Gi', cls = 'local', volumeName?: string): PersistentVolumeClaim => ({
  metadata: {
    name,
    namespace: 'default',
    uid: `pvc-${name}`,
    annotations: volumeName ? { 'pv.kubernetes.io/bind-completed': 'yes' } : undefined,
  },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: size } },
    storageClassName: cls,
    volumeName,
  },
});
const withClaims = (...names: string[]): Pod =>
  pod('p', {
    spec: { volumes: names.map((n) => ({ name: n, persistentVolumeClaim: { claimName: n } })) },
  });

test('VolumeBinding: WaitForFirstConsumer claims need an available local PV on the node', () => {
  const cl = cluster([node('n1'), node('n2'), node('n3')]);
  cl.listers.classes = [
    {
      metadata: { name: 'local' },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
    },
    { metadata: { name: 'eager' }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'Immediate' },
  ];
  cl.listers.pvList = [localPV('pv1', 'n1'), localPV('pv2', 'n2', '1Gi')];
  cl.listers.pvcList = [claim('data'), claim('eager', '1Gi', 'eager')];
  const vb = volumeBinding(cl.handle);
  const got = filterAll(cl, vb, withClaims('data'));
  assert.deepEqual(
    ['n1', 'n2', 'n3'].map((n) => reasons(got.get(n))),
    [
      '',
      "node(s) didn't find available persistent volumes to bind",
      "node(s) didn't find available persistent volumes to bind",
    ],
  );
  assert.equal(filterAll(cl, vb, pod('novol')).get('n1'), undefined);
  assert.equal(reasons(filterAll(cl, vb, withClaims('eager')).pre), 'pod has unbound immediate PersistentVolumeClaims');
  assert.equal(reasons(filterAll(cl, vb, withClaims('missing')).pre), 'persistentvolumeclaim "missing" not found');
  // A bound claim's PV pins the pod to its node.
  cl.listers.pvcList.push(claim('bound', '1Gi', 'local', 'pv2'));
  const b = filterAll(cl, vb, withClaims('bound'));
  assert.deepEqual(
    ['n1', 'n2', 'n3'].map((n) => reasons(b.get(n))),
    ['node(s) had volume node affinity conflict', '', 'node(s) had volume node affinity conflict'],
  );
  // A PV assumed for another claim (Reserve) is not offered again.
  const state = new CycleState();
  const first = new PodInfo(withClaims('data'));
  vb.preFilter!(state, first);
  vb.filter!(state, first, cl.cache.get('n1')!);
  vb.reserve!(state, first, 'n1');
  cl.listers.pvcList.push(claim('data2'));
  const second = filterAll(cl, vb, withClaims('data2'));
  assert.equal(reasons(second.get('n1')), "node(s) didn't find available persistent volumes to bind");
  vb.unreserve!(state, first, 'n1');
  assert.equal(reasons(filterAll(cl, vb, withClaims('data2')).get('n1')), '');
});

test('DefaultPreemption: fewest, lowest-priority victims; PDBs; preemptionPolicy Never', async () => {
  const nodes = [node('n1', { cpu: '2' }), node('n2', { cpu: '2' })];
  const existing = [
    pod('low-a', { node: 'n1', cpu: '1', priority: 1 }),
    pod('low-b', { node: 'n1', cpu: '1', priority: 1 }),
    pod('mid', { node: 'n2', cpu: '1500m', priority: 5, labels: { app: 'mid' } }),
    pod('high', { node: 'n2', cpu: '500m', priority: 100 }),
  ];
  const run = async (p: Pod, pdbs: never[] = []) => {
    const cl = cluster(nodes, existing);
    const prof = cl.profile((h) => [{ plugin: nodeResourcesFit() }, { plugin: defaultPreemption(h, () => pdbs) }]);
    const state = new CycleState();
    const pi = new PodInfo(p);
    prof.runPreFilter(state, pi);
    const statuses = new NodeToStatus();
    for (const n of cl.cache.nodeInfos()) statuses.set(n.name, prof.runFilter(state, pi, n) ?? unschedulable());
    const r = await prof.runPostFilter(state, pi, statuses);
    return Object.assign(r, { requests: cl.requests, events: cl.events });
  };
  // Needs 1500m at priority 10: n1 needs both low pods gone (2 victims, priority 1); n2 needs mid
  // (1 victim, priority 5). Fewer PDB violations tie, lowest highest-victim priority wins: n1.
  let r = await run(pod('p', { cpu: '1500m', priority: 10 }));
  assert.equal(r.status.code, 'Success');
  assert.equal(r.nominatedNodeName, 'n1');
  // Victims get the DisruptionTarget condition, then a graceful delete, and a Preempted event.
  const calls = r.requests.map((q) => `${q.method} ${q.path}`);
  for (const v of ['low-a', 'low-b']) {
    assert.ok(calls.includes(`PATCH /api/v1/namespaces/default/pods/${v}/status`), calls.join('\n'));
    assert.ok(calls.includes(`DELETE /api/v1/namespaces/default/pods/${v}`), calls.join('\n'));
  }
  assert.equal(calls.filter((c) => c.startsWith('DELETE')).length, 2);
  const patch = r.requests.find((q) => q.method === 'PATCH')?.body as { status: { conditions: { reason: string }[] } };
  assert.equal(patch.status.conditions[0].reason, 'PreemptionByScheduler');
  assert.match(r.events[0].message, /^Preempted by pod uid-p-\d+ on node n1$/);
  // A PDB protecting nothing on n1 but allowing no disruption of mid changes nothing; one on the
  // low pods (none allowed) makes n1 the violating choice and n2 wins.
  const pdb = (app: string) =>
    ({
      metadata: { name: app, namespace: 'default' },
      spec: { selector: { matchLabels: { app } } },
      status: { disruptionsAllowed: 0 },
    }) as never;
  const lowLabelled = existing.map((e) =>
    e.metadata.name?.startsWith('low') ? { ...e, metadata: { ...e.metadata, labels: { app: 'low' } } } : e,
  );
  existing.splice(0, existing.length, ...lowLabelled);
  r = await run(pod('p', { cpu: '1500m', priority: 10 }), [pdb('low')]);
  assert.equal(r.nominatedNodeName, 'n2');
  // Nothing of lower priority to evict anywhere.
  r = await run(pod('p', { cpu: '1500m', priority: 0 }));
  assert.equal(r.status.code, 'Unschedulable');
  assert.equal(
    r.status.message,
    'preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.',
  );
  r = await run(pod('p', { cpu: '1500m', priority: 10, spec: { preemptionPolicy: 'Never' } }));
  assert.equal(r.status.message, 'preemption: not eligible due to preemptionPolicy=Never.');
});

test('DefaultPreemption skips nodes that failed as unresolvable', async () => {
  const cl = cluster([node('n1', { cpu: '1' })], [pod('low', { node: 'n1', cpu: '1', priority: 0 })]);
  const prof = cl.profile((h) => [{ plugin: nodeResourcesFit() }, { plugin: defaultPreemption(h, () => []) }]);
  const statuses = new NodeToStatus();
  statuses.set('n1', unresolvable('node(s) had untolerated taint {a: b}'));
  const r = await prof.runPostFilter(new CycleState(), new PodInfo(pod('p', { cpu: '1', priority: 9 })), statuses);
  assert.equal(r.status.message, 'preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.');
});
