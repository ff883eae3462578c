// PersistentVolume binder against the in-process API server: the smallest fitting volume is bound
// (claimRef, volumeName, phases, annotations), Released (Retain) or deleted (Delete) when its
// claim goes, WaitForFirstConsumer waits for the selected node and picks a volume for it, and a
// claim whose volume disappears is Lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let C: string;
const pv = (name: string, size: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: {
    capacity: { storage: size },
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'manual',
    hostPath: { path: `/tmp/${name}` },
    persistentVolumeReclaimPolicy: 'Retain',
    ...extra,
  },
});
const pvc = (name: string, size: string, cls = 'manual', annotations?: Record<string, string>) => ({
  metadata: { name, annotations },
  spec: { accessModes: ['ReadWriteOnce'], storageClassName: cls, resources: { requests: { storage: size } } },
});
const uniq = () => Math.random().toString(36).slice(2, 7);

before(async () => {
  env = await startControllerEnv({
    controllers: ['persistentvolume-binder', 'storage-protection'],
    nodes: ['n1', 'n2'],
  });
  C = `/api/v1/namespaces/${env.ns}/persistentvolumeclaims`;
});
after(() => env?.close());

describe('persistentvolume binder', () => {
  it('binds the smallest fitting volume, then releases it when the claim goes', async () => {
    const small = `small-${uniq()}`,
      big = `big-${uniq()}`;
    await env.post('/api/v1/persistentvolumes', pv(big, '5Gi'));
    await env.post('/api/v1/persistentvolumes', pv(small, '1Gi'));
    await until(
      'available',
      async () => (await env.get(`/api/v1/persistentvolumes/${small}`)).status?.phase === 'Available',
    );
    const claim = await env.post(C, pvc('data', '500Mi'));
    await until('bound', async () => (await env.get(`${C}/data`)).status?.phase === 'Bound');
    const c = await env.get(`${C}/data`);
    assert.equal(c.spec.volumeName, small);
    assert.equal(c.metadata.annotations['pv.kubernetes.io/bind-completed'], 'yes');
    assert.equal(c.metadata.annotations['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.deepEqual(c.status.capacity, { storage: '1Gi' });
    const v = await env.get(`/api/v1/persistentvolumes/${small}`);
    assert.equal(v.status.phase, 'Bound');
    assert.deepEqual([v.spec.claimRef.name, v.spec.claimRef.uid], ['data', claim.metadata.uid]);
    assert.equal((await env.get(`/api/v1/persistentvolumes/${big}`)).status.phase, 'Available');
    await env.del(`${C}/data`);
    await until(
      'released',
      async () => (await env.get(`/api/v1/persistentvolumes/${small}`)).status?.phase === 'Released',
    );
  });

  it('a volume pre-bound by claimRef (no uid) is Available, then bound to that claim, not to another', async () => {
    // Found by the controllers differential: a StatefulSet's claims never bound to volumes made
    // for them (claimRef with name and namespace only), so its pods never started.
    const name = `pre-${uniq()}`;
    await env.post(
      '/api/v1/persistentvolumes',
      pv(name, '1Gi', { storageClassName: 'pre', claimRef: { namespace: env.ns, name: 'wanted' } }),
    );
    await until(
      'available',
      async () => (await env.get(`/api/v1/persistentvolumes/${name}`)).status?.phase === 'Available',
    );
    await env.post(C, pvc('other', '1Gi', 'pre'));
    const claim = await env.post(C, pvc('wanted', '1Gi', 'pre'));
    await until('bound', async () => (await env.get(`${C}/wanted`)).status?.phase === 'Bound');
    const v = await env.get(`/api/v1/persistentvolumes/${name}`);
    assert.equal(v.status.phase, 'Bound');
    assert.deepEqual(
      [v.spec.claimRef.kind, v.spec.claimRef.apiVersion, v.spec.claimRef.name, v.spec.claimRef.uid],
      ['PersistentVolumeClaim', 'v1', 'wanted', claim.metadata.uid],
    );
    // The user bound the volume: no bound-by-controller on it; the claim was bound by the controller.
    assert.equal(v.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
    const c = await env.get(`${C}/wanted`);
    assert.equal(c.spec.volumeName, name);
    assert.equal(c.metadata.annotations['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.equal((await env.get(`${C}/other`)).status?.phase, 'Pending');
  });

  it('a claim of a storage class that does not exist: Warning ProvisioningFailed, as upstream', async () => {
    await env.post(C, pvc('classless', '1Gi', 'no-such-class'));
    await until('event', async () =>
      (await env.get(`/api/v1/namespaces/${env.ns}/events?fieldSelector=involvedObject.name%3Dclassless`)).items.some(
        (e: any) =>
          e.type === 'Warning' &&
          e.reason === 'ProvisioningFailed' &&
          e.message === 'storageclass.storage.k8s.io "no-such-class" not found',
      ),
    );
  });

  it('a Delete volume goes with its claim; a claim whose volume disappears is Lost', async () => {
    const d = `del-${uniq()}`;
    await env.post(
      '/api/v1/persistentvolumes',
      pv(d, '1Gi', { persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'del' }),
    );
    await env.post(C, pvc('temp', '1Gi', 'del'));
    await until('bound', async () => (await env.get(`${C}/temp`)).status?.phase === 'Bound');
    await env.del(`${C}/temp`);
    await until('volume deleted', async () => !(await env.maybe(`/api/v1/persistentvolumes/${d}`)));
    const l = `lost-${uniq()}`;
    await env.post('/api/v1/persistentvolumes', pv(l, '1Gi', { storageClassName: 'lost' }));
    await env.post(C, pvc('orphan', '1Gi', 'lost'));
    await until('bound', async () => (await env.get(`${C}/orphan`)).status?.phase === 'Bound');
    await env.del(`/api/v1/persistentvolumes/${l}`);
    // pv-protection holds a bound volume (as upstream): it goes once its finalizer is forced off
    await env.patch(
      `/api/v1/persistentvolumes/${l}`,
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    );
    await until('lost', async () => (await env.get(`${C}/orphan`)).status?.phase === 'Lost');
  });

  it('WaitForFirstConsumer binds only once a node is selected, to a volume reachable from it', async () => {
    await env.post('/apis/storage.k8s.io/v1/storageclasses', {
      metadata: { name: `local-${env.ns}` },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    const affinity = (node: string) => ({
      required: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }],
      },
    });
    for (const n of ['n1', 'n2'])
      await env.post(
        '/api/v1/persistentvolumes',
        pv(`local-${n}-${env.ns}`, '1Gi', {
          storageClassName: `local-${env.ns}`,
          hostPath: undefined,
          local: { path: '/mnt' },
          nodeAffinity: affinity(n),
        }),
      );
    await env.post(C, pvc('late', '1Gi', `local-${env.ns}`));
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual((await env.get(`${C}/late`)).status?.phase, 'Bound', 'waits for a consumer');
    await env.patch(`${C}/late`, { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'n2' } } });
    await until('bound', async () => (await env.get(`${C}/late`)).status?.phase === 'Bound');
    assert.equal((await env.get(`${C}/late`)).spec.volumeName, `local-n2-${env.ns}`);
  });
});
