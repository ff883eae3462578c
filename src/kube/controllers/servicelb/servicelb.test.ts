// ServiceLB against the in-process API server with simulated nodes: a LoadBalancer Service gets the
// ready nodes' addresses as ingress; another class is left alone; turning it into a ClusterIP
// Service clears the ingress.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
before(async () => {
  env = await startControllerEnv({ controllers: ['servicelb'], nodes: ['lb-a', 'lb-b'] });
});
after(() => env?.close());

const ingress = async (name: string) =>
  ((await env.get(`/api/v1/namespaces/${env.ns}/services/${name}`)).status?.loadBalancer?.ingress ?? []).map(
    (i: { ip: string }) => i.ip,
  );

describe('servicelb controller', () => {
  it('publishes the ready nodes as ingress; leaves other classes; clears a Service that stops being one', async () => {
    const svc = (name: string, spec: Record<string, unknown>) =>
      env.post(`/api/v1/namespaces/${env.ns}/services`, { metadata: { name }, spec });
    await svc('lb', { type: 'LoadBalancer', ports: [{ port: 80 }] });
    await svc('other', { type: 'LoadBalancer', loadBalancerClass: 'example.com/lb', ports: [{ port: 80 }] });
    await until('ingress of both nodes', async () => (await ingress('lb')).length === 2);
    assert.deepEqual((await ingress('lb')).sort(), ['192.0.2.1', '192.0.2.2']);
    const st = (await env.get(`/api/v1/namespaces/${env.ns}/services/lb`)).status.loadBalancer.ingress[0];
    assert.equal(st.ipMode, 'VIP');
    assert.deepEqual(await ingress('other'), []);
    await env.patch(`/api/v1/namespaces/${env.ns}/services/lb`, { spec: { type: 'ClusterIP' } });
    await until('ingress cleared', async () => (await ingress('lb')).length === 0);
  });
});
