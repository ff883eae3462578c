// ReplicaSet controller against the real API server (in-process) with simulated nodes: pods
// created to the count and owned, replaced when deleted, the least useful deleted first on scale
// down, orphans adopted and non-matching pods released, status with minReadySeconds, and no
// over-creation while its own writes are in flight (expectations).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Informer } from '../../client/index.js';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';
import { setPodReady } from '../../../../test/fixtures/sim-nodes.js';

let env: ControllerEnv;
let P: string, RS: string;
// The controllers' clock runs a minute behind until the minReadySeconds check moves it forward.
let offset = -60_000;
const rs = (name: string, replicas: number, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    ...extra,
  },
});
const podsOf = async (app: string) =>
  (await env.get(`${P}?labelSelector=app%3D${app}`)).items.filter((p: any) => !p.metadata.deletionTimestamp);

before(async () => {
  env = await startControllerEnv({ controllers: ['replicaset'], nodes: ['n1', 'n2'], now: () => Date.now() + offset });
  P = `/api/v1/namespaces/${env.ns}/pods`;
  RS = `/apis/apps/v1/namespaces/${env.ns}/replicasets`;
});
after(() => env?.close());

describe('replicaset controller', () => {
  it('leaves zero counts out of its status, as upstream (omitempty): a ReplicaSet of 0', async () => {
    await env.post(RS, rs('zero', 0));
    await until('observed', async () => (await env.get(`${RS}/zero`)).status?.observedGeneration === 1);
    // Found by the controllers differential: `readyReplicas: 0` and the like were written.
    assert.deepEqual((await env.get(`${RS}/zero`)).status, { replicas: 0, observedGeneration: 1 });
  });

  it('creates owned pods to the count, reports status, replaces a deleted pod, scales down', async () => {
    const created = await env.post(RS, rs('web', 3));
    await until('3 ready replicas', async () => (await env.get(`${RS}/web`)).status?.readyReplicas === 3);
    const pods = await podsOf('web');
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.match(p.metadata.name, /^web-[a-z0-9]{5}$/);
      assert.deepEqual(p.metadata.ownerReferences, [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web',
          uid: created.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const st = (await env.get(`${RS}/web`)).status;
    assert.equal(st.replicas, 3);
    assert.equal(st.fullyLabeledReplicas, 3);
    assert.equal(st.availableReplicas, 3);
    assert.equal(st.observedGeneration, 1);

    await env.del(`${P}/${pods[0].metadata.name}`);
    await until('replacement', async () => {
      const now = await podsOf('web');
      return now.length === 3 && !now.some((p: any) => p.metadata.name === pods[0].metadata.name);
    });

    // One pod not ready: it is the one removed when scaling down by one.
    const keep = await podsOf('web');
    await setPodReady(env.c, env.ns, keep[1].metadata.name, false);
    await until('unready seen', async () => (await env.get(`${RS}/web`)).status?.readyReplicas === 2);
    await env.patch(`${RS}/web`, { spec: { replicas: 2 } });
    await until('2 pods', async () => (await podsOf('web')).length === 2);
    const names = (await podsOf('web')).map((p: any) => p.metadata.name);
    assert.ok(!names.includes(keep[1].metadata.name), 'the unready pod was deleted first');
    await until('status 2', async () => {
      const s = (await env.get(`${RS}/web`)).status;
      return s.replicas === 2 && s.observedGeneration === 2;
    });
  });

  it('adopts a matching orphan and releases a pod whose labels stop matching', async () => {
    await env.post(P, {
      metadata: { name: 'orphan', labels: { app: 'adopt' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    const owner = await env.post(RS, rs('adopt', 2));
    await until('2 pods', async () => (await podsOf('adopt')).length === 2);
    await until('orphan adopted', async () => {
      const o = await env.get(`${P}/orphan`);
      return o.metadata.ownerReferences?.[0]?.uid === owner.metadata.uid;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await podsOf('adopt')).length, 2, 'only one pod created next to the adopted orphan');

    await env.patch(`${P}/orphan`, { metadata: { labels: { app: 'elsewhere' } } });
    await until('released', async () => !(await env.get(`${P}/orphan`)).metadata.ownerReferences?.length);
    await until('replacement', async () => (await podsOf('adopt')).length === 2);
  });

  it('does not over-create while its writes are in flight, and honours minReadySeconds', async () => {
    const adds = new Set<string>();
    const inf = new Informer(
      env.c,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      { add: (p) => adds.add(p.metadata.name ?? '') },
      { namespace: env.ns, labelSelector: 'app=burst' },
    );
    await inf.start();
    await env.post(RS, rs('burst', 30, { minReadySeconds: 1 }));
    // Waited for by watch, bounded only against a hung run: 30 pods created, bound and made ready
    // by the simulated kubelets take ≈ 150 writes in this one process, 4–5 s at load 25 and longer
    // beyond; what is asserted is the count and the order against the controller clock, not speed.
    await env.watchUntil(`${RS}/burst`, '30 ready', (r: any) => r.status?.readyReplicas === 30);
    assert.equal(
      (await env.get(`${RS}/burst`)).status.availableReplicas ?? 0,
      0,
      'none available before minReadySeconds',
    );
    offset = 0;
    env.controllers.resync();
    await env.watchUntil(`${RS}/burst`, '30 available', (r: any) => r.status?.availableReplicas === 30);
    inf.stop();
    assert.equal(adds.size, 30, 'exactly 30 pods were ever created');
  });

  it('a create that keeps failing (a quota) is retried with backoff, not in a status-write loop', async () => {
    // Each failed create names a new generated pod in its error; rewriting the ReplicaFailure
    // condition with it made every retry a status write whose own watch event re-queued the key
    // at once, bypassing the queue's backoff: a hot loop (hundreds of writes a minute).
    const ns = `${env.ns}-q`;
    await env.post('/api/v1/namespaces', { metadata: { name: ns } });
    const q = await env.post(`/api/v1/namespaces/${ns}/resourcequotas`, {
      metadata: { name: 'cpu' },
      spec: { hard: { 'requests.cpu': '1' } },
    });
    // No quota controller runs here: the status it would write, so admission enforces the quota.
    await env.c.request('PUT', `/api/v1/namespaces/${ns}/resourcequotas/cpu/status`, {
      body: { ...q, status: { hard: { 'requests.cpu': '1' }, used: { 'requests.cpu': '0' } } },
    });
    const path = `/apis/apps/v1/namespaces/${ns}/replicasets`;
    await env.post(path, rs('quota', 2));
    const failed = await env.watchUntil(`${path}/quota`, 'ReplicaFailure', (r: any) =>
      (r.status?.conditions ?? []).some((c: any) => c.type === 'ReplicaFailure'),
    );
    assert.match(
      failed.status.conditions.find((c: any) => c.type === 'ReplicaFailure').message,
      /failed quota: cpu: must specify requests.cpu/,
    );
    let writes = 0;
    const inf = new Informer(
      env.c,
      { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true },
      { update: () => void writes++ },
      { namespace: ns },
    );
    await inf.start();
    await new Promise((r) => setTimeout(r, 3000));
    inf.stop();
    await until('a FailedCreate event', async () =>
      (await env.get(`/api/v1/namespaces/${ns}/events`)).items.some((e: any) => e.reason === 'FailedCreate'),
    );
    assert.ok(writes <= 1, `the ReplicaSet was rewritten ${writes} times in 3 s while its creates failed`);
  });
});
