// EndpointSlice controller at upstream's default size: 230 ready pods behind one Service end up in
// three slices of at most 100 endpoints, each endpoint exactly once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
before(async () => {
  env = await startControllerEnv({ controllers: ['endpointslice'], nodes: ['n1', 'n2', 'n3'] });
});
after(() => env?.close());

describe('endpointslice controller (default size)', () => {
  it('230 endpoints: 3 slices of at most 100', async () => {
    const P = `/api/v1/namespaces/${env.ns}/pods`;
    const ES = `/apis/discovery.k8s.io/v1/namespaces/${env.ns}/endpointslices`;
    await env.post(`/api/v1/namespaces/${env.ns}/services`, {
      metadata: { name: 'big' },
      spec: { selector: { app: 'big' }, ports: [{ port: 80 }] },
    });
    for (let i = 0; i < 230; i += 23)
      await Promise.all(
        Array.from({ length: 23 }, (_, j) =>
          env.post(P, {
            metadata: { name: `b-${i + j}`, labels: { app: 'big' } },
            spec: { containers: [{ name: 'c', image: 'x' }] },
          }),
        ),
      );
    const eps = async () => (await env.get(ES)).items.flatMap((s: any) => s.endpoints ?? []);
    await until('230 endpoints', async () => (await eps()).length === 230, 120_000);
    const slices = (await env.get(ES)).items;
    assert.equal(slices.length, 3);
    assert.ok(slices.every((s: any) => s.endpoints.length <= 100));
    assert.equal(new Set((await eps()).map((e: any) => e.targetRef.uid)).size, 230);
  });
});
