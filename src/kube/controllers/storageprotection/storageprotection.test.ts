// Storage object in-use protection: claims and volumes get upstream's finalizers (as
// kube-controller-manager 1.32 adds them: found by the controllers differential); a claim deleted
// while a running pod uses it stays Terminating until the pod goes; a volume deleted while Bound
// stays until it is not.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';
import { PV_PROTECTION, PVC_PROTECTION } from './controller.js';

let env: ControllerEnv;
let C: string, P: string;
const uniq = () => Math.random().toString(36).slice(2, 7);
before(async () => {
  env = await startControllerEnv({ controllers: ['storage-protection'], nodes: ['n1'] });
  C = `/api/v1/namespaces/${env.ns}/persistentvolumeclaims`;
  P = `/api/v1/namespaces/${env.ns}/pods`;
});
after(() => env?.close());

describe('storage protection', () => {
  it('a claim in use stays until its pod goes; an unused one goes at once', async () => {
    const claim = (name: string) => ({
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'x', resources: { requests: { storage: '1Gi' } } },
    });
    await env.post(C, claim('used'));
    await env.post(C, claim('free'));
    for (const n of ['used', 'free'])
      await until(`${n} protected`, async () =>
        (await env.get(`${C}/${n}`)).metadata.finalizers?.includes(PVC_PROTECTION),
      );
    await env.post(P, {
      metadata: { name: 'user' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'c', image: 'busybox' }],
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'used' } }],
      },
    });
    await until('pod running', async () => (await env.get(`${P}/user`)).status?.phase === 'Running');
    await env.del(`${C}/free`);
    await until('free gone', async () => !(await env.maybe(`${C}/free`)));
    await env.del(`${C}/used`);
    await new Promise((r) => setTimeout(r, 500));
    const held = await env.get(`${C}/used`);
    assert.ok(held.metadata.deletionTimestamp, 'terminating');
    assert.deepEqual(held.metadata.finalizers, [PVC_PROTECTION]);
    await env.del(`${P}/user`, { gracePeriodSeconds: 0 });
    await until('used gone once the pod is', async () => !(await env.maybe(`${C}/used`)));
  });

  it('a volume is protected; deleted while Bound it waits, then goes', async () => {
    const name = `v-${uniq()}`;
    await env.post('/api/v1/persistentvolumes', {
      metadata: { name },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp/x' } },
    });
    const path = `/api/v1/persistentvolumes/${name}`;
    await until('protected', async () => (await env.get(path)).metadata.finalizers?.includes(PV_PROTECTION));
    await env.patch(`${path}/status`, { status: { phase: 'Bound' } });
    await env.del(path);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok((await env.get(path)).metadata.deletionTimestamp, 'a Bound volume waits');
    await env.patch(`${path}/status`, { status: { phase: 'Released' } });
    await until('gone', async () => !(await env.maybe(path)));
  });
});
