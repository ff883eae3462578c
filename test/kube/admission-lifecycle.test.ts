// Namespace lifecycle admission (in-process API server on the memory store): the system's
// namespaces cannot be deleted, also not through deletecollection (the other namespaces still
// go), and creating in a terminating namespace is refused with upstream's cause.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApiServer, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources } from '../../src/kube/api/index.js';
import { createMemoryStore } from '../../src/kube/storage/index.js';

let api: ApiServer, base: string;
async function call(method: string, path: string, body?: unknown) {
  const r = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
}

before(async () => {
  api = createApiServer({ store: createMemoryStore(), resources: allResources() });
  base = (await api.listen(0)).url;
});
after(async () => {
  await api.close();
});

describe('namespace lifecycle', () => {
  it('refuses deleting default, kube-system and kube-public (403, upstream message); others go', async () => {
    for (const name of ['default', 'kube-system', 'kube-public']) {
      const r = await call('DELETE', `/api/v1/namespaces/${name}`);
      assert.equal(r.status, 403);
      assert.equal(r.body.reason, 'Forbidden');
      assert.equal(r.body.message, `namespaces "${name}" is forbidden: this namespace may not be deleted`);
      assert.equal(r.body.details.name, name);
    }
    assert.equal((await call('DELETE', '/api/v1/namespaces/kube-node-lease')).status, 200);
    assert.equal((await call('POST', '/api/v1/namespaces', { metadata: { name: 'other' } })).status, 201);
    // Namespaces have no deletecollection upstream: 405, and nothing goes.
    const all = await call('DELETE', '/api/v1/namespaces');
    assert.equal(all.status, 405);
    for (const name of ['default', 'kube-system', 'kube-public', 'other'])
      assert.equal((await call('GET', `/api/v1/namespaces/${name}`)).body.status.phase, 'Active');
  });

  it('refuses creating in a terminating namespace with the NamespaceTerminating cause', async () => {
    assert.equal((await call('POST', '/api/v1/namespaces', { metadata: { name: 'going' } })).status, 201);
    assert.equal((await call('DELETE', '/api/v1/namespaces/going')).status, 200);
    const r = await call('POST', '/api/v1/namespaces/going/configmaps', { metadata: { name: 'late' } });
    assert.equal(r.status, 403);
    assert.equal(
      r.body.message,
      'configmaps "late" is forbidden: unable to create new content in namespace going because it is being terminated',
    );
    assert.deepEqual(r.body.details.causes, [
      { reason: 'NamespaceTerminating', message: 'namespace going is being terminated', field: 'metadata.namespace' },
    ]);
    const missing = await call('POST', '/api/v1/namespaces/nowhere/configmaps', { metadata: { name: 'x' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'namespaces "nowhere" not found');
  });
});
