// Service cluster IP and node port allocation (in-process API servers on one memory store, as two
// servers on one etcd would be): allocation on create, requested values honoured or refused with
// a 422 naming the field, headless, NodePort, release on delete and on type change, no double
// allocation across a restart or between two servers, undo when the Service write fails, repair.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApiServer, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources } from '../../src/kube/api/index.js';
import { createMemoryStore } from '../../src/kube/storage/index.js';

type Store = ReturnType<typeof createMemoryStore>;
const servers: ApiServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function start(store: Store, cidr = '10.96.0.0/12') {
  const api = createApiServer({
    store,
    resources: allResources(),
    serviceNetwork: { cidr, nodePortRange: { min: 30000, max: 30009 } },
  });
  servers.push(api);
  const base = (await api.listen(0)).url;
  const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const r = await fetch(base + path, {
      method,
      headers: { 'Content-Type': type },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as any };
  };
  return { api, call };
}
const svc = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
});
const P = '/api/v1/namespaces/default/services';
const until = async (f: () => Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('service IP and node port allocation', () => {
  it('allocates on create, honours requests, refuses taken or out-of-range values with 422, leaves headless alone', async () => {
    const { call } = await start(createMemoryStore());
    const a = await call('POST', P, svc('a'));
    assert.equal(a.status, 201);
    assert.match(a.body.spec.clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\./);
    assert.deepEqual(a.body.spec.clusterIPs, [a.body.spec.clusterIP]);
    assert.notEqual(a.body.spec.clusterIP, '10.96.0.1', 'the first address is kept for the kubernetes Service');
    const b = await call('POST', P, svc('b', { clusterIP: '10.96.100.100' }));
    assert.equal(b.body.spec.clusterIP, '10.96.100.100');
    const dup = await call('POST', P, svc('c', { clusterIP: '10.96.100.100' }));
    assert.equal(dup.status, 422);
    assert.equal(dup.body.details.causes[0].field, 'spec.clusterIPs');
    assert.match(dup.body.message, /provided IP is already allocated/);
    const out = await call('POST', P, svc('d', { clusterIP: '192.168.1.1' }));
    assert.equal(out.status, 422);
    assert.match(out.body.message, /not in the valid range. The range of valid IPs is 10\.96\.0\.0\/12/);
    const h = await call('POST', P, svc('h', { clusterIP: 'None' }));
    assert.equal(h.body.spec.clusterIP, 'None');
    const np = await call(
      'POST',
      P,
      svc('np', {
        type: 'NodePort',
        ports: [
          { name: 'http', port: 80 },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      }),
    );
    assert.equal(np.status, 201, JSON.stringify(np.body));
    for (const p of np.body.spec.ports) assert.ok(p.nodePort >= 30000 && p.nodePort <= 30009, `nodePort ${p.nodePort}`);
    const npDup = await call(
      'POST',
      P,
      svc('np2', { type: 'NodePort', ports: [{ port: 81, nodePort: np.body.spec.ports[0].nodePort }] }),
    );
    assert.equal(npDup.status, 422);
    assert.equal(npDup.body.details.causes[0].field, 'spec.ports[0].nodePort');
    const dry = await call('POST', `${P}?dryRun=All`, svc('dry', { clusterIP: '10.96.100.101' }));
    assert.equal(dry.status, 201);
    const real = await call('POST', P, svc('real', { clusterIP: '10.96.100.101' }));
    assert.equal(real.status, 201, JSON.stringify(real.body));
    const exists = await call('POST', P, svc('a', { clusterIP: '10.96.100.102' }));
    assert.equal(exists.status, 409);
    assert.equal(
      (await call('POST', P, svc('e', { clusterIP: '10.96.100.102' }))).status,
      201,
      'a failed Service write gives its claim back',
    );
  });

  it('releases on delete and on type change; no double allocation across a restart or two servers', async () => {
    const store = createMemoryStore();
    const one = await start(store, '10.0.0.0/29');
    const two = await start(store, '10.0.0.0/29');
    // 8 addresses: network, the kubernetes Service's, broadcast excluded → 5, created concurrently through both.
    const made = await Promise.all([0, 1, 2, 3, 4].map((i) => (i % 2 ? one : two).call('POST', P, svc(`s${i}`))));
    assert.deepEqual(
      made.map((m) => m.status),
      [201, 201, 201, 201, 201],
    );
    assert.equal(new Set(made.map((m) => m.body.spec.clusterIP)).size, 5);
    const full = await one.call('POST', P, svc('full'));
    assert.equal(full.status, 422);
    assert.match(full.body.message, /range is full/);
    await one.api.close();
    const again = await start(store, '10.0.0.0/29');
    assert.equal((await again.call('POST', P, svc('after-restart'))).status, 422, 'restart keeps the allocations');
    const freed = made[0].body.spec.clusterIP;
    assert.equal((await two.call('DELETE', `${P}/s0`)).status, 200);
    await until(async () => (await again.call('POST', P, svc('reuse', { clusterIP: freed }))).status === 201);
    // ClusterIP → NodePort claims a port; back to ClusterIP gives it back.
    const toNp = await again.call('PATCH', `${P}/s1`, { spec: { type: 'NodePort' } }, 'application/merge-patch+json');
    assert.equal(toNp.status, 200, JSON.stringify(toNp.body));
    const port = toNp.body.spec.ports[0].nodePort;
    assert.ok(port >= 30000 && port <= 30009);
    const back = await again.call('PATCH', `${P}/s1`, { spec: { type: 'ClusterIP' } }, 'application/merge-patch+json');
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body.spec.ports[0].nodePort, undefined);
    const reuse = await again.call(
      'PATCH',
      `${P}/s2`,
      { spec: { type: 'NodePort', ports: [{ port: 80, nodePort: port }] } },
      'application/merge-patch+json',
    );
    assert.equal(reuse.status, 200, JSON.stringify(reuse.body));
  });

  it('repair at start claims what stored Services hold and drops claims without a Service', async () => {
    const store = createMemoryStore();
    const te = new TextEncoder();
    await store.create(
      '/registry/skiff/serviceips/10.96.5.5',
      te.encode(JSON.stringify({ namespace: 'default', name: 'gone', uid: 'x', time: 0 })),
    );
    const first = await start(store);
    await until(async () => !(await store.get('/registry/skiff/serviceips/10.96.5.5')));
    assert.equal((await first.call('POST', P, svc('ok', { clusterIP: '10.96.5.5' }))).status, 201);
    // A Service stored without its claim (written before claims existed) gets it back at start.
    await store.delete('/registry/skiff/serviceips/10.96.5.5', 0);
    await first.api.close();
    const second = await start(store);
    await until(async () => Boolean(await store.get('/registry/skiff/serviceips/10.96.5.5')));
    assert.equal((await second.call('POST', P, svc('dup', { clusterIP: '10.96.5.5' }))).status, 422);
  });
});
