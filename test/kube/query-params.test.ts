// Query parameters as upstream's parameter codec decodes them (issue 11): booleans are false only
// when "0" or "false" in any case, so the Python client's `watch=True` watches; integers that do
// not parse are 400s; and dry-run on PUT, PATCH and DELETE stores nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApiServer, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources } from '../../src/kube/api/index.js';
import { createMemoryStore, type Store } from '../../src/kube/storage/index.js';

let api: ApiServer, base: string, store: Store;
const ns = `qp-${Math.random().toString(36).slice(2, 8)}`;
async function call(method: string, path: string, body?: unknown, type = 'application/json') {
  const r = await fetch(base + path, {
    method,
    headers: { 'Content-Type': type },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json, text };
}
const cm = (name: string, data: Record<string, string> = { a: '1' }) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

before(async () => {
  store = createMemoryStore();
  api = createApiServer({ store, resources: allResources() });
  base = (await api.listen(0)).url;
  assert.equal((await call('POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
  assert.equal((await call('POST', `/api/v1/namespaces/${ns}/configmaps`, cm('one'))).status, 201);
});
after(async () => {
  await api.close();
});

describe('boolean and integer query parameters', () => {
  const path = `/api/v1/namespaces/${ns}/configmaps`;
  // Upstream's Convert_Slice_string_To_bool: "0" and "false" (any case) are false, anything else true.
  for (const v of ['True', 'true', 'TRUE', '1', 't', 'T', 'yes', '']) {
    it(`watch=${JSON.stringify(v)} is a watch`, async () => {
      const r = await call('GET', `${path}?watch=${encodeURIComponent(v)}&timeoutSeconds=1`);
      assert.equal(r.status, 200);
      const first = JSON.parse(r.text.split('\n')[0]);
      assert.equal(first.type, 'ADDED', r.text.slice(0, 200));
      assert.equal(first.object.metadata.name, 'one');
    });
  }
  for (const v of ['False', 'false', 'FALSE', '0']) {
    it(`watch=${v} is a list`, async () => {
      const r = await call('GET', `${path}?watch=${v}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.kind, 'ConfigMapList');
    });
  }
  it('allowWatchBookmarks=True and sendInitialEvents=True end the initial events with a bookmark', async () => {
    const r = await call(
      'GET',
      `${path}?watch=True&allowWatchBookmarks=True&sendInitialEvents=True&resourceVersionMatch=NotOlderThan&resourceVersion=0&timeoutSeconds=1`,
    );
    const events = r.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const bm = events.find((e) => e.type === 'BOOKMARK');
    assert.equal(bm?.object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
  });
  it('sendInitialEvents=False from resourceVersion 0 sends no initial state', async () => {
    const r = await call('GET', `${path}?watch=1&sendInitialEvents=False&resourceVersion=0&timeoutSeconds=1`);
    assert.equal(r.text.trim(), '');
  });
  it('integers that do not parse are 400s with strconv.ParseInt’s message', async () => {
    for (const q of ['timeoutSeconds=abc&watch=1', 'limit=ten']) {
      const r = await call('GET', `${path}?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.body.message, /^strconv\.ParseInt: parsing "(abc|ten)": invalid syntax$/);
    }
    const g = await call('DELETE', `${path}/one?gracePeriodSeconds=1.5`);
    assert.equal(g.status, 400);
  });
  it('force=True takes fields over in server-side apply; orphanDependents=True orphans', async () => {
    const apply = (mgr: string, v: string, force = '') =>
      call(
        'PATCH',
        `${path}/applied?fieldManager=${mgr}${force}`,
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, data: { k: v } },
        'application/apply-patch+yaml',
      );
    assert.equal((await apply('a', '1')).status, 201);
    assert.equal((await apply('b', '2')).status, 409);
    assert.equal((await apply('b', '2', '&force=True')).status, 200);
    const d = await call('DELETE', `${path}/applied?orphanDependents=True`);
    assert.ok(d.body.metadata.finalizers.includes('orphan'), JSON.stringify(d.body));
  });
});

describe('dry-run on PUT, PATCH and DELETE', () => {
  const path = `/api/v1/namespaces/${ns}/configmaps`;
  const stored = async (name: string) => {
    const kv = await store.get(`/registry/core/configmaps/${ns}/${name}`);
    return kv ? JSON.parse(new TextDecoder().decode(kv.value)) : undefined;
  };
  it('PUT ?dryRun=All answers the updated object and stores nothing', async () => {
    assert.equal((await call('POST', path, cm('dry-put'))).status, 201);
    const rev = await store.currentRevision();
    const r = await call('PUT', `${path}/dry-put?dryRun=All`, cm('dry-put', { a: '2' }));
    assert.equal(r.status, 200);
    assert.equal(r.body.data.a, '2');
    assert.equal((await stored('dry-put')).data.a, '1');
    assert.equal(await store.currentRevision(), rev);
    // Validation still runs.
    const bad = await call('PUT', `${path}/dry-put?dryRun=All`, { ...cm('dry-put'), data: { 'bad key!': 'x' } });
    assert.equal(bad.status, 422);
  });
  it('PATCH ?dryRun=All (merge, JSON, strategic, apply) stores nothing', async () => {
    assert.equal((await call('POST', path, cm('dry-patch'))).status, 201);
    const rev = await store.currentRevision();
    const patches: [string, unknown][] = [
      ['application/merge-patch+json', { data: { a: 'm' } }],
      ['application/json-patch+json', [{ op: 'replace', path: '/data/a', value: 'j' }]],
      ['application/strategic-merge-patch+json', { data: { a: 's' } }],
    ];
    for (const [type, body] of patches) {
      const r = await call('PATCH', `${path}/dry-patch?dryRun=All`, body, type);
      assert.equal(r.status, 200, `${type}: ${r.text}`);
      assert.notEqual(r.body.data.a, '1');
    }
    const ap = await call(
      'PATCH',
      `${path}/dry-patch-new?dryRun=All&fieldManager=t`,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry-patch-new' }, data: { a: 'x' } },
      'application/apply-patch+yaml',
    );
    assert.equal(ap.status, 201);
    assert.equal(await stored('dry-patch-new'), undefined);
    assert.equal((await stored('dry-patch')).data.a, '1');
    assert.equal(await store.currentRevision(), rev);
  });
  it('DELETE ?dryRun=All answers as a delete would and keeps the object (also with a finalizer)', async () => {
    assert.equal((await call('POST', path, cm('dry-del'))).status, 201);
    const fin = { ...cm('dry-del-fin'), metadata: { name: 'dry-del-fin', finalizers: ['example.com/hold'] } };
    assert.equal((await call('POST', path, fin)).status, 201);
    const rev = await store.currentRevision();
    const d = await call('DELETE', `${path}/dry-del?dryRun=All`);
    assert.equal(d.status, 200);
    assert.equal(d.body.status, 'Success');
    const f = await call('DELETE', `${path}/dry-del-fin?dryRun=All`);
    assert.equal(f.status, 200);
    assert.ok(f.body.metadata.deletionTimestamp, 'the answer shows the pending deletion');
    assert.ok(await stored('dry-del'));
    assert.equal((await stored('dry-del-fin')).metadata.deletionTimestamp, undefined);
    const dc = await call('DELETE', `${path}?dryRun=All`);
    assert.equal(dc.status, 200);
    assert.ok(await stored('dry-del'));
    assert.equal(await store.currentRevision(), rev);
    // Upstream validates DeleteOptions: 422 Invalid.
    const bad = await call('DELETE', `${path}/dry-del?dryRun=Nope`);
    assert.equal(bad.status, 422);
    assert.match(bad.body.message, /^DeleteOptions\.meta\.k8s\.io "" is invalid: dryRun: Unsupported value/);
  });
});
