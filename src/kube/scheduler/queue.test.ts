// The scheduling queue: priority order, backoff (1 s doubling to 10 s), unschedulable pods moved
// by the events their rejecting plugins registered (and only those), the move-request rule for
// pods in flight, gated pods, and the nominator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulingQueue, type QueuedPodInfo } from './queue.js';
import { nodeResourcesFit } from './plugins/node-resources.js';
import { taintToleration } from './plugins/taint-toleration.js';
import { schedulingGates } from './plugins/simple.js';
import { pod } from './testing.js';

function setup() {
  let now = 1_000_000;
  const q = new SchedulingQueue([nodeResourcesFit(), taintToleration(), schedulingGates()], { now: () => now });
  const flush = (ms: number) => {
    now += ms;
    q.flushBackoff();
  };
  return { q, flush, tick: (ms: number) => (now += ms) };
}

const popName = async (q: SchedulingQueue) => (await q.pop())?.pi.pod.metadata.name;

async function fail(q: SchedulingQueue, plugins: string[]): Promise<QueuedPodInfo> {
  const qi = (await q.pop())!;
  const cycle = q.schedulingCycle;
  qi.unschedulablePlugins = new Set(plugins);
  q.addUnschedulable(qi, cycle);
  return qi;
}

test('active queue: higher priority first, then arrival order', async () => {
  const { q, tick } = setup();
  q.add(pod('a', { priority: 0 }));
  tick(1);
  q.add(pod('b', { priority: 10 }));
  tick(1);
  q.add(pod('c', { priority: 0 }));
  tick(1);
  q.add(pod('d', { priority: 10 }));
  assert.deepEqual([await popName(q), await popName(q), await popName(q), await popName(q)], ['b', 'd', 'a', 'c']);
});

test('unschedulable pods move only on events their plugins registered; then back off', async () => {
  const { q, flush } = setup();
  q.add(pod('cpu'));
  q.add(pod('taint'));
  await fail(q, ['NodeResourcesFit']);
  await fail(q, ['TaintToleration']);
  assert.deepEqual(q.pendingCounts, { active: 0, backoff: 0, unschedulable: 2 });
  // A deleted assigned pod frees resources: NodeResourcesFit registered it, TaintToleration did not.
  q.moveAllOnEvent('AssignedPod', 'Delete');
  assert.deepEqual(q.pendingCounts, { active: 0, backoff: 1, unschedulable: 1 });
  // Still backing off (1 s after one attempt): not active before then.
  flush(500);
  assert.equal(q.pendingCounts.active, 0);
  flush(600);
  assert.equal(q.pendingCounts.active, 1);
  assert.equal(await popName(q), 'cpu');
  // A node taint change moves the other; a condition change interests nobody.
  q.moveAllOnEvent('Node', 'UpdateNodeCondition');
  assert.equal(q.pendingCounts.unschedulable, 1);
  q.moveAllOnEvent('Node', 'UpdateNodeTaint');
  assert.equal(q.pendingCounts.unschedulable, 0);
});

test('backoff doubles per attempt up to 10 s', async () => {
  const { q, flush } = setup();
  q.add(pod('p'));
  const expect = [1000, 2000, 4000, 8000, 10_000, 10_000];
  for (const d of expect) {
    const qi = (await q.pop())!;
    qi.unschedulablePlugins = new Set();
    q.addUnschedulable(qi, q.schedulingCycle); // no plugin to wait for: straight to backoff
    flush(d - 1);
    assert.equal(q.pendingCounts.active, 0, `still backing off before ${d} ms`);
    flush(1);
    assert.equal(q.pendingCounts.active, 1, `active after ${d} ms`);
  }
});

test('a move request during a pod cycle sends the failed pod to backoff, not unschedulable', async () => {
  const { q } = setup();
  q.add(pod('p'));
  const qi = (await q.pop())!;
  const cycle = q.schedulingCycle;
  q.moveAllOnEvent('Node', 'Add'); // while p is being scheduled
  qi.unschedulablePlugins = new Set(['NodeResourcesFit']);
  q.addUnschedulable(qi, cycle);
  assert.deepEqual(q.pendingCounts, { active: 0, backoff: 1, unschedulable: 0 });
});

test('an update of an unschedulable pod moves it; a status-only update does not', async () => {
  const { q } = setup();
  const p = pod('p');
  q.add(p);
  await fail(q, ['NodeResourcesFit']);
  q.update(p, { ...p, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] } });
  assert.equal(q.pendingCounts.unschedulable, 1);
  q.update(p, { ...p, metadata: { ...p.metadata, labels: { new: 'label' } } });
  assert.equal(q.pendingCounts.unschedulable, 0);
});

test('gated pods wait until their gates are removed; deleted pods leave', async () => {
  const { q } = setup();
  const gated = pod('g', { spec: { schedulingGates: [{ name: 'wait' }] } });
  q.add(gated);
  assert.deepEqual(q.pendingCounts, { active: 0, backoff: 0, unschedulable: 1 });
  q.moveAllOnEvent('Node', 'Add');
  assert.equal(q.pendingCounts.unschedulable, 1);
  q.update(gated, { ...gated, spec: { ...gated.spec, schedulingGates: [] } });
  assert.equal(q.pendingCounts.active, 1);
  q.delete(gated);
  assert.equal(q.pendingCounts.active, 0);
});

test('pop waits for a pod; close releases waiters', async () => {
  const { q } = setup();
  const waiting = q.pop();
  q.add(pod('late'));
  assert.equal((await waiting)?.pi.pod.metadata.name, 'late');
  const w2 = q.pop();
  q.close();
  assert.equal(await w2, undefined);
});

test('nominator: pods with status.nominatedNodeName are listed for their node until bound', () => {
  const { q } = setup();
  const p = pod('p', { status: { phase: 'Pending', nominatedNodeName: 'n1' } });
  q.add(p);
  assert.deepEqual(
    q.nominatedPodsForNode('n1').map((x) => x.pod.metadata.name),
    ['p'],
  );
  q.update(p, { ...p, spec: { ...p.spec, nodeName: 'n1' } });
  assert.deepEqual(q.nominatedPodsForNode('n1'), []);
});
