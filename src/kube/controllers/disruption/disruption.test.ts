// Disruption controller (+ ReplicaSet, Deployment) and pods/eviction against the in-process API
// server with simulated nodes: a PDB's status from the pods and their controller's scale, and
// evictions allowed only while the budget has room (429 otherwise), recorded in disruptedPods.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let P: string, PDB: string;
const evict = async (name: string) => {
  try {
    await env.post(`${P}/${name}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name } });
    return 'ok';
  } catch (e) {
    return (e as Error).message;
  }
};
const ready = async (app: string) =>
  ((await env.get(`${P}?labelSelector=app%3D${app}`)).items as any[]).filter(
    (p) =>
      !p.metadata.deletionTimestamp &&
      p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
  );

before(async () => {
  env = await startControllerEnv({
    controllers: ['disruption', 'replicaset', 'deployment'],
    nodes: ['n1', 'n2'],
    sim: { startMs: 300 },
  });
  P = `/api/v1/namespaces/${env.ns}/pods`;
  PDB = `/apis/policy/v1/namespaces/${env.ns}/poddisruptionbudgets`;
  await env.post(`/apis/apps/v1/namespaces/${env.ns}/deployments`, {
    metadata: { name: 'web' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    },
  });
  await until('3 ready', async () => (await ready('web')).length === 3);
});
after(() => env?.close());

describe('disruption controller and eviction', () => {
  it('minAvailable 2 of 3: one eviction at a time, 429 until the replacement is ready', async () => {
    await env.post(PDB, {
      metadata: { name: 'web' },
      spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } },
    });
    await until('status', async () => (await env.get(`${PDB}/web`)).status?.disruptionsAllowed === 1);
    const st = (await env.get(`${PDB}/web`)).status;
    assert.deepEqual([st.expectedPods, st.currentHealthy, st.desiredHealthy], [3, 3, 2]);
    assert.equal(st.conditions.find((c: any) => c.type === 'DisruptionAllowed').reason, 'SufficientPods');
    const [a, b] = await ready('web');
    assert.equal(await evict(a.metadata.name), 'ok');
    assert.match(await evict(b.metadata.name), /Cannot evict pod as it would violate the pod's disruption budget/);
    const after = (await env.get(`${PDB}/web`)).status;
    assert.equal(after.disruptionsAllowed, 0);
    assert.ok(after.disruptedPods?.[a.metadata.name] !== undefined || after.currentHealthy === 2);
    await until(
      'replacement ready, budget back',
      async () => (await env.get(`${PDB}/web`)).status?.disruptionsAllowed === 1,
      5000,
    );
    assert.equal(await evict(b.metadata.name), 'ok');
    await env.del(`${PDB}/web`);
  });

  it('maxUnavailable as a percentage counts the Deployment scale', async () => {
    await env.post(PDB, {
      metadata: { name: 'pct' },
      spec: { maxUnavailable: '34%', selector: { matchLabels: { app: 'web' } } },
    });
    await until(
      'status',
      async () => {
        const s = (await env.get(`${PDB}/pct`)).status;
        return s?.expectedPods === 3 && s.desiredHealthy === 1 && s.observedGeneration === 1;
      },
      5000,
    );
  });
});
