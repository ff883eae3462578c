// Two API servers on one real etcd (as two `skiff server`s share one): writes start from each
// store's recent copy of the object instead of a read (Store.getRecent), so here that copy is made
// stale on purpose by the other server. Optimistic concurrency must hold regardless: a stale
// resourceVersion is a 409, an unconditional PUT or a PATCH lands on the current object (no lost
// update), a no-op against a stale copy is not answered as done.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createApiServer, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources } from '../../src/kube/api/index.js';
import { openStore, type Store } from '../../src/kube/storage/index.js';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';

let etcd: Etcd;
const servers: { api: ApiServer; store: Store; base: string }[] = [];
const ns = `ae-${randomBytes(3).toString('hex')}`;
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as never;

async function call(i: number, method: string, path: string, body?: unknown, type = 'application/json') {
  const r = await fetch(servers[i].base + path, {
    method,
    headers: { 'Content-Type': type },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
}
const cmPath = (name = '') => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;
const cm = (name: string, data: Record<string, string>, resourceVersion?: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(resourceVersion ? { resourceVersion } : {}) },
  data,
});

before(async () => {
  etcd = await startEtcd();
  const prefix = `/ae${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < 2; i++) {
    const store = await openStore(`etcd://${etcd.endpoint}?prefix=${prefix}`, { compactIntervalMs: 0 });
    const api = createApiServer({ store, resources: allResources(), log: quiet });
    servers.push({ api, store, base: (await api.listen(0)).url });
  }
  assert.equal((await call(0, 'POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
});
after(async () => {
  for (const s of servers) {
    await s.api.close();
    await s.store.close();
  }
  await etcd?.stop();
});

describe('API servers on one etcd, writing from recent copies', () => {
  it('a stale resourceVersion is a 409 even when the server holds that revision', async () => {
    const c = await call(0, 'POST', cmPath(), cm('stale', { v: '1' }));
    assert.equal(c.status, 201);
    const rv1 = c.body.metadata.resourceVersion;
    // Server 0 holds revision rv1 (its own write); server 1 moves the object on.
    const u = await call(1, 'PUT', cmPath('stale'), cm('stale', { v: '2' }, rv1));
    assert.equal(u.status, 200);
    // A no-op body (equal to what server 0 holds at rv1): 409, not a 200.
    const noop = await call(0, 'PUT', cmPath('stale'), cm('stale', { v: '1' }, rv1));
    assert.equal(noop.status, 409, JSON.stringify(noop.body));
    const r = await call(0, 'PUT', cmPath('stale'), cm('stale', { v: '3' }, rv1));
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.reason, 'Conflict');
    // The current revision (which server 0 never saw written) is accepted.
    const ok = await call(0, 'PUT', cmPath('stale'), cm('stale', { v: '4' }, u.body.metadata.resourceVersion));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual((await call(1, 'GET', cmPath('stale'))).body.data, { v: '4' });
  });

  it('an unconditional PUT, a no-op PUT and a PATCH land on the current object', async () => {
    assert.equal((await call(0, 'POST', cmPath(), cm('lost', { a: '1' }))).status, 201);
    const b = await call(1, 'PUT', cmPath('lost'), cm('lost', { a: '1', b: '2' }));
    assert.equal(b.status, 200);
    // Server 0's copy says {a:1}; an unconditional PUT of exactly that must still be written.
    const put = await call(0, 'PUT', cmPath('lost'), cm('lost', { a: '1' }));
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.ok(Number(put.body.metadata.resourceVersion) > Number(b.body.metadata.resourceVersion));
    assert.deepEqual((await call(1, 'GET', cmPath('lost'))).body.data, { a: '1' });
    // Server 1 changes it again; a merge patch through server 0 keeps server 1's change.
    assert.equal((await call(1, 'PUT', cmPath('lost'), cm('lost', { a: '1', c: '3' }))).status, 200);
    const p = await call(0, 'PATCH', cmPath('lost'), { data: { d: '4' } }, 'application/merge-patch+json');
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.deepEqual(p.body.data, { a: '1', c: '3', d: '4' });
    assert.deepEqual((await call(1, 'GET', cmPath('lost'))).body.data, { a: '1', c: '3', d: '4' });
    // A patch pinned to a revision server 0 holds but etcd has moved past: 409.
    const pinned = await call(
      0,
      'PATCH',
      cmPath('lost'),
      { metadata: { resourceVersion: put.body.metadata.resourceVersion }, data: { e: '5' } },
      'application/merge-patch+json',
    );
    assert.equal(pinned.status, 409, JSON.stringify(pinned.body));
  });

  it('a write after the other server deleted and re-created the object sees the new one', async () => {
    const c = await call(0, 'POST', cmPath(), cm('again', { gen: '1' }));
    assert.equal((await call(1, 'DELETE', cmPath('again'))).status, 200);
    assert.equal((await call(1, 'POST', cmPath(), cm('again', { gen: '2' }))).status, 201);
    const r = await call(0, 'PUT', cmPath('again'), cm('again', { gen: '3' }, c.body.metadata.resourceVersion));
    assert.equal(r.status, 409);
    const p = await call(0, 'PATCH', cmPath('again'), { data: { x: 'y' } }, 'application/merge-patch+json');
    assert.equal(p.status, 200);
    assert.deepEqual(p.body.data, { gen: '2', x: 'y' });
    assert.notEqual(p.body.metadata.uid, c.body.metadata.uid);
  });
});
