// StatefulSet controller (+ garbage collector) against the in-process API server with simulated
// nodes whose pods take 80 ms to become ready: web-0, web-1, web-2 in order with their PVCs,
// names kept across deletion, ordered scale-down, RollingUpdate with a partition, OnDelete,
// Parallel, and the PVC retention policy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Informer } from '../../client/index.js';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let SS: string, P: string, PVC: string;
const sts = (
  name: string,
  spec: Record<string, unknown> = {},
  image = 'web:1',
  labels: Record<string, string> = {},
) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name },
  spec: {
    serviceName: name,
    replicas: 3,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name, ...labels } }, spec: { containers: [{ name: 'c', image }] } },
    ...spec,
  },
});
const claim = {
  metadata: { name: 'www' },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
};
const live = async (app: string) =>
  ((await env.get(`${P}?labelSelector=app%3D${app}`)).items as any[])
    .filter((p) => !p.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
const setImage = (name: string, image: string) =>
  env.patch(
    `${SS}/${name}`,
    { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } },
    'application/strategic-merge-patch+json',
  );
const readyAll = (name: string, n: number) => async () => {
  const s = (await env.get(`${SS}/${name}`)).status ?? {};
  return s.readyReplicas === n && s.replicas === n;
};

before(async () => {
  env = await startControllerEnv({
    controllers: ['statefulset', 'garbagecollector', 'storage-protection'],
    nodes: ['n1', 'n2'],
    sim: { startMs: 80, behavior: (p: any) => (p.metadata.labels?.stay === 'pending' ? 'pending' : 'ready') },
  });
  SS = `/apis/apps/v1/namespaces/${env.ns}/statefulsets`;
  P = `/api/v1/namespaces/${env.ns}/pods`;
  PVC = `/api/v1/namespaces/${env.ns}/persistentvolumeclaims`;
});
after(() => env?.close());

describe('statefulset controller', () => {
  it('OrderedReady: web-0, web-1, web-2 in order, each after the previous is ready, with PVCs', async () => {
    const created = new Map<string, number>();
    const ready = new Map<string, number>();
    const inf = new Informer(
      env.c,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      {
        add: (p: any) => created.set(p.metadata.name, Date.now()),
        update: (_o: any, p: any) => {
          if (
            !ready.has(p.metadata.name) &&
            p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')
          )
            ready.set(p.metadata.name, Date.now());
        },
      },
      { namespace: env.ns, labelSelector: 'app=web' },
    );
    await inf.start();
    await env.post(SS, sts('web', { volumeClaimTemplates: [claim] }));
    await until('3 ready', readyAll('web', 3));
    inf.stop();
    assert.deepEqual([...created.keys()], ['web-0', 'web-1', 'web-2']);
    assert.ok(created.get('web-1')! >= ready.get('web-0')!, 'web-1 after web-0 was ready');
    assert.ok(created.get('web-2')! >= ready.get('web-1')!, 'web-2 after web-1 was ready');
    const pods = await live('web');
    for (const [i, p] of pods.entries()) {
      assert.equal(p.spec.hostname, `web-${i}`);
      assert.equal(p.spec.subdomain, 'web');
      assert.equal(p.metadata.labels['statefulset.kubernetes.io/pod-name'], `web-${i}`);
      assert.equal(p.metadata.labels['apps.kubernetes.io/pod-index'], String(i));
      assert.deepEqual(p.spec.volumes.find((v: any) => v.name === 'www').persistentVolumeClaim, {
        claimName: `www-web-${i}`,
      });
    }
    const claims = ((await env.get(PVC)).items as any[]).map((c) => c.metadata.name).sort();
    assert.deepEqual(claims, ['www-web-0', 'www-web-1', 'www-web-2']);
    const st = (await env.get(`${SS}/web`)).status;
    assert.equal(st.currentRevision, st.updateRevision);
    assert.equal(st.currentReplicas, 3);
    // As kube-controller-manager 1.32 writes them (found by the controllers differential): the
    // revision's hash label, the pods' generateName, collisionCount 0, an event per claim and none
    // of the ReplicaSet's wording.
    assert.equal(st.collisionCount, 0);
    const rev = (await env.get(`/apis/apps/v1/namespaces/${env.ns}/controllerrevisions`)).items.find(
      (r: any) => r.metadata.name === st.updateRevision,
    );
    assert.equal(`web-${rev.metadata.labels['controller.kubernetes.io/hash']}`, rev.metadata.name);
    assert.equal(rev.data.spec.template.metadata.creationTimestamp, null);
    for (const p of pods) assert.equal(p.metadata.generateName, 'web-');
    const msgs = (await env.get(`/api/v1/namespaces/${env.ns}/events?fieldSelector=involvedObject.name%3Dweb`)).items
      .filter((e: any) => e.involvedObject.kind === 'StatefulSet')
      .map((e: any) => e.message);
    for (let i = 0; i < 3; i++) {
      assert.ok(msgs.includes(`create Claim www-web-${i} Pod web-${i} in StatefulSet web success`), msgs.join('\n'));
      assert.ok(msgs.includes(`create Pod web-${i} in StatefulSet web successful`));
    }
  });

  it('keeps names across deletion, scales down from the highest ordinal, keeps claims', async () => {
    const old = (await live('web'))[1];
    await env.del(`${P}/web-1`);
    await until('web-1 back', async () => {
      const p = (await live('web')).find((x) => x.metadata.name === 'web-1');
      return Boolean(p) && p.metadata.uid !== old.metadata.uid;
    });
    await until('3 ready again', readyAll('web', 3));
    const order: string[] = [];
    const inf = new Informer(
      env.c,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      { delete: (p: any) => order.push(p.metadata.name) },
      { namespace: env.ns, labelSelector: 'app=web' },
    );
    await inf.start();
    await env.patch(`${SS}/web`, { spec: { replicas: 1 } });
    await until('scaled down', async () => (await live('web')).map((p) => p.metadata.name).join() === 'web-0');
    // `live` leaves out pods that are terminating: web-1 may be marked for deletion before its
    // removal (the simulated kubelet's) reaches this informer. Wait for both removals.
    await until('both removals seen', () => order.length >= 2);
    inf.stop();
    assert.deepEqual(order, ['web-2', 'web-1'], 'the highest ordinal goes first');
    assert.equal(((await env.get(PVC)).items as any[]).length, 3, 'claims are retained');
  });

  it('RollingUpdate with a partition updates only the ordinals at or above it, from the top', async () => {
    await env.post(SS, sts('part', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }));
    await until('3 ready', readyAll('part', 3));
    await setImage('part', 'web:2');
    await until(
      'web-2 updated',
      async () => (await live('part')).map((p) => p.spec.containers[0].image).join() === 'web:1,web:1,web:2',
    );
    await until('status', async () => (await env.get(`${SS}/part`)).status?.updatedReplicas === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await live('part')).map((p) => p.spec.containers[0].image).join(), 'web:1,web:1,web:2');
    const order: string[] = [];
    const inf = new Informer(
      env.c,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      { delete: (p: any) => order.push(p.metadata.name) },
      { namespace: env.ns, labelSelector: 'app=part' },
    );
    await inf.start();
    await env.patch(`${SS}/part`, { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
    await until('all updated', async () => {
      const s = (await env.get(`${SS}/part`)).status;
      return s.updatedReplicas === 3 && s.readyReplicas === 3 && s.currentRevision === s.updateRevision;
    });
    await until('both removals seen', () => order.length >= 2); // the watch may trail the status read
    inf.stop();
    assert.deepEqual(order, ['part-1', 'part-0']);
  });

  it('OnDelete replaces only deleted pods; Parallel creates all at once', async () => {
    await env.post(SS, sts('od', { replicas: 2, updateStrategy: { type: 'OnDelete' } }));
    await until('2 ready', readyAll('od', 2));
    await setImage('od', 'web:2');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await live('od')).map((p) => p.spec.containers[0].image).join(), 'web:1,web:1');
    await env.del(`${P}/od-0`);
    await until(
      'od-0 updated',
      async () => (await live('od')).map((p) => p.spec.containers[0].image).join() === 'web:2,web:1',
    );

    await env.post(SS, sts('par', { podManagementPolicy: 'Parallel' }, 'web:1', { stay: 'pending' }));
    await until('3 pods though none is ready', async () => (await live('par')).length === 3);
  });

  it('PVC retention: whenScaled Delete removes the claims of removed pods, whenDeleted Delete the rest', async () => {
    await env.post(
      SS,
      sts('ret', {
        replicas: 2,
        volumeClaimTemplates: [claim],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' },
      }),
    );
    await until('2 ready', readyAll('ret', 2));
    const c0 = await env.get(`${PVC}/www-ret-0`);
    assert.equal(c0.metadata.ownerReferences[0].kind, 'StatefulSet');
    await env.patch(`${SS}/ret`, { spec: { replicas: 1 } });
    await until('claim of ret-1 deleted', async () => !(await env.maybe(`${PVC}/www-ret-1`)));
    assert.ok(await env.maybe(`${PVC}/www-ret-0`));
    await env.del(`${SS}/ret`);
    await until('claim of ret-0 deleted with the set', async () => !(await env.maybe(`${PVC}/www-ret-0`)));
  });
});
