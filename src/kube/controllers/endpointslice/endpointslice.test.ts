// EndpointSlice controller against the in-process API server with simulated nodes: endpoints
// with ready / serving / terminating, named ports, upstream's labels and owner, at most 100
// endpoints per slice, a placeholder slice for a Service without endpoints, and no duplicate
// slices while its creates are in flight.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let P: string, S: string, ES: string;
const pod = (name: string, labels: Record<string, string>, finalizers?: string[]) => ({
  metadata: { name, labels, finalizers },
  spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'web', containerPort: 8080 }] }] },
});
const slices = async (svc: string) =>
  (await env.get(`${ES}?labelSelector=kubernetes.io%2Fservice-name%3D${svc}`)).items as any[];
const endpoints = async (svc: string) => (await slices(svc)).flatMap((s) => s.endpoints ?? []);

before(async () => {
  env = await startControllerEnv({
    controllers: ['endpointslice'],
    nodes: ['n1', 'n2'],
    options: { maxEndpointsPerSlice: 10 },
    sim: { behavior: (p: any) => (p.metadata.labels?.ready === 'no' ? 'unready' : 'ready') },
  });
  P = `/api/v1/namespaces/${env.ns}/pods`;
  S = `/api/v1/namespaces/${env.ns}/services`;
  ES = `/apis/discovery.k8s.io/v1/namespaces/${env.ns}/endpointslices`;
});
after(() => env?.close());

describe('endpointslice controller', () => {
  it('a placeholder first, then endpoints with conditions, ports, labels and owner', async () => {
    const svc = await env.post(S, {
      metadata: { name: 'web', labels: { team: 'a' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
    });
    await until('placeholder', async () => (await slices('web')).length === 1);
    const [ph] = await slices('web');
    assert.deepEqual([ph.endpoints ?? [], ph.ports ?? []], [[], []]);
    await env.post(P, pod('a', { app: 'web' }));
    await env.post(P, pod('b', { app: 'web', ready: 'no' }));
    await until('2 endpoints', async () => (await endpoints('web')).length === 2);
    const all = await slices('web');
    assert.equal(all.length, 1, 'the placeholder gave way to one slice');
    const s = all[0];
    assert.equal(s.addressType, 'IPv4');
    assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.equal(s.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(s.metadata.labels.team, 'a');
    assert.match(s.metadata.name, /^web-[a-z0-9]{5}$/);
    assert.equal(s.metadata.ownerReferences[0].uid, svc.metadata.uid);
    const byName = Object.fromEntries(s.endpoints.map((e: any) => [e.targetRef.name, e]));
    assert.deepEqual(byName.a.conditions, { ready: true, serving: true, terminating: false });
    assert.deepEqual(byName.b.conditions, { ready: false, serving: false, terminating: false });
    assert.ok(byName.a.nodeName);
    assert.match(s.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time'], /^\d{4}-\d\d-\d\dT/);
  });

  it('a terminating pod stays, serving and not ready', async () => {
    await env.post(P, pod('held', { app: 'web' }, ['example.com/hold']));
    await until('held ready', async () =>
      (await endpoints('web')).some((e) => e.targetRef.name === 'held' && e.conditions.ready),
    );
    await env.del(`${P}/held`);
    await until('held terminating', async () =>
      (await endpoints('web')).some((e) => e.targetRef.name === 'held' && e.conditions.terminating),
    );
    const e = (await endpoints('web')).find((x) => x.targetRef.name === 'held');
    assert.deepEqual(e.conditions, { ready: false, serving: true, terminating: true });
    await env.patch(`${P}/held`, { metadata: { finalizers: null } });
    await until('held gone', async () => !(await endpoints('web')).some((x) => x.targetRef.name === 'held'));
  });

  it('splits 25 endpoints into slices of at most 10 (--max-endpoints-per-slice), without duplicates', async () => {
    await env.post(S, { metadata: { name: 'big' }, spec: { selector: { app: 'big' }, ports: [{ port: 80 }] } });
    await Promise.all(Array.from({ length: 25 }, (_, i) => env.post(P, pod(`big-${i}`, { app: 'big' }))));
    await until('25 endpoints', async () => (await endpoints('big')).length === 25);
    const all = await slices('big');
    assert.ok(all.every((s) => s.endpoints.length <= 10));
    assert.equal(all.length, 3);
    const names = (await endpoints('big')).map((e) => e.targetRef.name);
    assert.equal(new Set(names).size, 25);
    await env.c.request('DELETE', P, { query: { labelSelector: 'app=big' } });
    await until('back to a placeholder', async () => {
      const s = await slices('big');
      return s.length === 1 && !(s[0].endpoints ?? []).length;
    });
  });
});
