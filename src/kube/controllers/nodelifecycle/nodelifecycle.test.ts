// Node lifecycle and taint eviction against the in-process API server with simulated nodes
// (leases renewed every 100 ms, grace period 2.5 s): a node whose lease stops is Ready=Unknown with
// the unreachable taints and its pods are evicted per their tolerations; a NoExecute taint set by
// hand evicts pods without a toleration; cordon adds the unschedulable taint.
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
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 },
      ]),
    );
    await env.post(
      P,
      pod('forever', 'n2', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]),
    );
    await until('pods running', async () => (await env.get(P)).items.every((p: any) => p.status?.phase === 'Running'));
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(
      (await node('n2')).status.conditions.find((c: any) => c.type === 'Ready').status,
      'True',
      'a renewing node stays Ready',
    );
    env.nodes!.kill('n2');
    await until(
      'n2 Unknown',
      async () => {
        const c = (await node('n2')).status.conditions.find((x: any) => x.type === 'Ready');
        return (
          c.status === 'Unknown' &&
          c.reason === 'NodeStatusUnknown' &&
          c.message === 'Kubelet stopped posting node status.'
        );
      },
      5000,
    );
    await until(
      'unreachable taints',
      async () =>
        JSON.stringify(await taintKeys('n2')) ===
        JSON.stringify(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']),
    );
    assert.ok((await node('n2')).spec.taints.find((t: any) => t.effect === 'NoExecute').timeAdded);
    // Evicted = deleted; the silent node's agent cannot confirm, so (as upstream) the pod may stay
    // Terminating (deletionTimestamp set) rather than vanish.
    const evicted = async (name: string) => {
      const p = await env.maybe(`${P}/${name}`);
      return !p || !!p.metadata.deletionTimestamp;
    };
    await until('zero evicted', () => evicted('zero'));
    const brief = await env.maybe(`${P}/brief`);
    assert.ok(brief && !brief.metadata.deletionTimestamp, 'a pod tolerating for 1 s is not evicted at once');
    assert.equal(
      brief.status.conditions.find((c: any) => c.type === 'Ready').status,
      'False',
      'pods of the node are not ready',
    );
    await until('brief evicted after its tolerationSeconds', () => evicted('brief'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await evicted('forever'), false, 'a pod tolerating forever stays');
    assert.equal(await evicted('plain'), false, 'a pod with the default 300 s tolerations stays for now');
    assert.equal(JSON.stringify(await taintKeys('n1')), '[]', 'the live node is untouched');
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
});
