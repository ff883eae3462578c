// Node lifecycle and taint eviction against the in-process API server with simulated nodes
// (leases renewed every 100 ms, grace period 2.5 s): a node whose lease stops is Ready=Unknown with
// the unreachable taints and its pods are evicted per their tolerations; a NoExecute taint set by
// hand evicts pods without a toleration; cordon adds the unschedulable taint; a node that comes back is Ready and untainted again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let P: string;
const pod = (name: string, node: string, tolerations?: unknown[]) => ({
  metadata: { name },
  spec: { nodeName: node, tolerations, containers: [{ name: 'c', image: 'busybox' }] },
});
const node = (n: string) => env.get(`/api/v1/nodes/${n}`);
const taintKeys = async (n: string) =>
  ((await node(n)).spec.taints ?? []).map((t: any) => `${t.key}:${t.effect}`).sort();

before(async () => {
  env = await startControllerEnv({
    controllers: ['node-lifecycle', 'taint-eviction'],
    nodes: ['n1', 'n2'],
    sim: { renewMs: 100 },
    options: { nodeLifecycle: { gracePeriodMs: 2500, monitorPeriodMs: 200 } },
  });
  P = `/api/v1/namespaces/${env.ns}/pods`;
});
after(() => env?.close());

describe('node lifecycle and taint eviction', () => {
  it('records RegisteredNode for each node it sees, as upstream (kubectl describe node)', async () => {
    const uid = (await node('n1')).metadata.uid;
    let ev: any;
    await until('RegisteredNode', async () => {
      const l = await env.get('/api/v1/namespaces/default/events?fieldSelector=reason%3DRegisteredNode');
      ev = l.items.find((e: any) => e.involvedObject.name === 'n1');
      return !!ev;
    });
    assert.deepEqual(
      [ev.involvedObject.kind, ev.involvedObject.uid, ev.type, ev.source.component, ev.message],
      ['Node', uid, 'Normal', 'node-controller', 'Node n1 event: Registered Node n1 in Controller'],
    );
  });

  it('a silent node becomes Unknown and unreachable; its pods go as their tolerations say', async () => {
    await env.post(P, pod('plain', 'n2')); // gets the default 300 s tolerations (DefaultTolerationSeconds)
    await env.post(
      P,
      pod('zero', 'n2', [
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 },
      ]),
    );
    await env.post(
      P,
      pod('brief', 'n2', [
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 },
      ]),
    );
    await env.post(
      P,
      pod('forever', 'n2', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]),
    );
    await until('pods running', async () => (await env.get(P)).items.every((p: any) => p.status?.phase === 'Running'));
    const killedAt = Date.now();
    env.nodes!.kill('n2');
    // Waits are by watch and bounded only against a hung run; the timing asserted is against the
    // timestamps the controllers wrote (RFC 3339, whole seconds), which hold at any load.
    const unknown = await env.watchUntil('/api/v1/nodes/n2', 'n2 Unknown', (n: any) => {
      const c = n.status.conditions.find((x: any) => x.type === 'Ready');
      return c.status === 'Unknown';
    });
    const readyCond = unknown.status.conditions.find((x: any) => x.type === 'Ready');
    assert.equal(readyCond.reason, 'NodeStatusUnknown');
    assert.equal(readyCond.message, 'Kubelet stopped posting node status.');
    // Not before the grace period (2.5 s) after the last renewal (≤ 100 ms before the kill).
    assert.ok(
      Date.parse(readyCond.lastTransitionTime) >= Math.floor(killedAt / 1000) * 1000 + 2000,
      `Unknown at ${readyCond.lastTransitionTime}, killed at ${new Date(killedAt).toISOString()}`,
    );
    const tainted = await env.watchUntil(
      '/api/v1/nodes/n2',
      'unreachable taints',
      (n: any) =>
        JSON.stringify((n.spec.taints ?? []).map((t: any) => `${t.key}:${t.effect}`).sort()) ===
        JSON.stringify(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']),
    );
    const timeAdded = Date.parse(tainted.spec.taints.find((t: any) => t.effect === 'NoExecute').timeAdded);
    assert.ok(Number.isFinite(timeAdded), 'the NoExecute taint has its timeAdded');
    // As kube-controller-manager 1.32 (found by the controllers differential): every taint it adds
    // has its time; the pressure conditions the kubelet never posted are added Unknown
    // (NodeStatusNeverUpdated); the beta OS label follows the stable one.
    assert.ok(
      Number.isFinite(Date.parse(tainted.spec.taints.find((t: any) => t.effect === 'NoSchedule').timeAdded)),
      'the NoSchedule taint has its timeAdded too',
    );
    assert.deepEqual(
      unknown.status.conditions.map((c: any) => [c.type, c.status, c.reason, c.message]),
      [
        ['Ready', 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.'],
        ['MemoryPressure', 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.'],
        ['DiskPressure', 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.'],
        ['PIDPressure', 'Unknown', 'NodeStatusNeverUpdated', 'Kubelet never posted node status.'],
      ],
    );
    await until('beta OS label', async () => (await node('n2')).metadata.labels['beta.kubernetes.io/os'] === 'linux');
    // Evicted = deleted; the silent node's agent cannot confirm, so (as upstream) the pod stays
    // Terminating (deletionTimestamp set). The taint manager marks it DisruptionTarget first, at
    // the moment of its decision (the controller's clock).
    const evictedAt = async (name: string) => {
      const p = await env.watchUntil(`${P}/${name}`, `${name} evicted`, (x: any) => !!x.metadata.deletionTimestamp);
      const c = p.status.conditions.find((x: any) => x.type === 'DisruptionTarget');
      assert.equal(c?.reason, 'DeletionByTaintManager', `${name}: ${JSON.stringify(p.status.conditions)}`);
      assert.equal(
        p.status.conditions.find((x: any) => x.type === 'Ready').status,
        'False',
        'pods of the node are not ready',
      );
      return Date.parse(c.lastTransitionTime);
    };
    // tolerationSeconds 0: at once, no later than the next second after the taint (unless the
    // machine stalls for a second, the eviction is decided within the second the taint appeared).
    const zero = await evictedAt('zero');
    assert.ok(zero >= timeAdded, 'zero is evicted after the taint');
    // tolerationSeconds 2: not before timeAdded + 2 s, whatever the load (the controller's deadline
    // is on whole seconds, as the stored timeAdded, so the bound is exact).
    const brief = await evictedAt('brief');
    assert.ok(
      brief >= timeAdded + 2000,
      `a pod tolerating for 2 s is evicted at ${new Date(brief).toISOString()}, taint added ${new Date(timeAdded).toISOString()}`,
    );
    assert.ok(brief >= zero, 'brief goes after zero');
    const events = await env.get(`/api/v1/namespaces/${env.ns}/events?fieldSelector=reason%3DTaintManagerEviction`);
    assert.deepEqual(events.items.map((e: any) => e.involvedObject.name).sort(), ['brief', 'zero']);
    // Each pod marked not ready has upstream's Warning NodeNotReady "Node is not ready".
    const notReady = await env.get(`/api/v1/namespaces/${env.ns}/events?fieldSelector=reason%3DNodeNotReady`);
    assert.deepEqual(
      [...new Set(notReady.items.map((e: any) => `${e.type} ${e.involvedObject.name}: ${e.message}`))].sort(),
      ['brief', 'forever', 'plain', 'zero'].map((n) => `Warning ${n}: Node is not ready`),
    );
    const stays = async (name: string) => !(await env.get(`${P}/${name}`)).metadata.deletionTimestamp;
    assert.equal(await stays('forever'), true, 'a pod tolerating forever stays');
    assert.equal(await stays('plain'), true, 'a pod with the default 300 s tolerations stays for now');
    assert.equal(JSON.stringify(await taintKeys('n1')), '[]', 'the live node is untouched');
    const n1 = (await node('n1')).status.conditions.find((c: any) => c.type === 'Ready');
    assert.equal(n1.status, 'True', 'a renewing node stays Ready (for longer than the grace period)');
  });

  it('a NoExecute taint evicts pods without a toleration; cordon adds the unschedulable taint', async () => {
    await env.post(P, pod('a', 'n1'));
    await env.post(P, pod('b', 'n1', [{ key: 'maintenance', operator: 'Exists', effect: 'NoExecute' }]));
    await env.patch(`/api/v1/nodes/n1`, {
      spec: { taints: [{ key: 'maintenance', value: 'now', effect: 'NoExecute' }] },
    });
    await until('a evicted', async () => !(await env.maybe(`${P}/a`)));
    const events = await env.get(`/api/v1/namespaces/${env.ns}/events?fieldSelector=involvedObject.name%3Da`);
    assert.ok(events.items.some((e: any) => e.reason === 'TaintManagerEviction'));
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(await env.maybe(`${P}/b`));
    await env.patch(`/api/v1/nodes/n1`, { spec: { unschedulable: true } });
    await until('cordoned', async () =>
      (await taintKeys('n1')).includes('node.kubernetes.io/unschedulable:NoSchedule'),
    );
    await env.patch(`/api/v1/nodes/n1`, { spec: { unschedulable: null } });
    await until(
      'uncordoned',
      async () => !(await taintKeys('n1')).includes('node.kubernetes.io/unschedulable:NoSchedule'),
    );
    assert.ok((await taintKeys('n1')).includes('maintenance:NoExecute'), 'taints it does not manage are kept');
  });

  it('a node that comes back posts Ready again and loses the unreachable taints', async () => {
    env.nodes!.kill('n1');
    const has = (n: any) =>
      (n.spec.taints ?? []).some((t: any) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute');
    await env.watchUntil('/api/v1/nodes/n1', 'unreachable taint on n1', has);
    env.nodes!.revive('n1');
    const back = await env.watchUntil('/api/v1/nodes/n1', 'n1 Ready and untainted', (n: any) => {
      const ready = n.status.conditions.find((c: any) => c.type === 'Ready');
      return ready.status === 'True' && !has(n);
    });
    assert.ok(
      back.spec.taints.some((t: any) => t.key === 'maintenance'),
      'taints it does not manage are kept',
    );
  });
});
