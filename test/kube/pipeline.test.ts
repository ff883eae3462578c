// The write pipeline's order, seen from a kind and an admission plugin that record what they
// get (in-process API server on the memory store): defaulting runs once per write (create, PUT,
// each PATCH type, apply, status), mutating admission sees the defaulted object and its changes
// are validated and stored, validating admission sees the final object, a refusal stores
// nothing, and DELETE goes through admission with the stored object.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApiServer, type AdmissionPlugin, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources, type KubeObject, type ResourceDefinition } from '../../src/kube/api/index.js';
import { createMemoryStore } from '../../src/kube/storage/index.js';

let api: ApiServer, base: string;
const ns = `pl-${Math.random().toString(36).slice(2, 8)}`;
let defaulted = 0;
const raced = new Set<string>();
const seen: { phase: string; op: string; name?: string; data?: unknown; annotations?: unknown }[] = [];

async function call(method: string, path: string, body?: unknown, type = 'application/json') {
  const r = await fetch(base + path, {
    method,
    headers: { 'Content-Type': type },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
}

before(async () => {
  const resources = allResources().map((d): ResourceDefinition => {
    if (d.group !== '' || d.plural !== 'configmaps') return d;
    return {
      ...d,
      defaults(o: KubeObject) {
        defaulted++;
        d.defaults?.(o);
        o.data = { ...((o.data as object) ?? {}), defaulted: 'yes' };
      },
    };
  });
  const recorder: AdmissionPlugin = {
    name: 'Recorder',
    admit(a) {
      if (a.def.plural !== 'configmaps') return;
      seen.push({ phase: 'admit', op: a.operation, name: a.name, data: structuredClone(a.object?.data) });
      if (a.object) a.object.metadata.annotations = { ...a.object.metadata.annotations, admitted: 'yes' };
    },
    async validate(a) {
      if (a.def.plural !== 'configmaps') return;
      // Another writer changes the object between the DELETE's read and its write, once.
      if (a.operation === 'DELETE' && a.name?.startsWith('raced') && !raced.has(a.name)) {
        raced.add(a.name);
        const r = await call(
          'PATCH',
          `/api/v1/namespaces/${ns}/configmaps/${a.name}`,
          { data: { by: 'another' } },
          'application/merge-patch+json',
        );
        assert.equal(r.status, 200);
      }
      const o = a.object ?? a.oldObject;
      seen.push({ phase: 'validate', op: a.operation, name: a.name, annotations: o?.metadata.annotations });
      if (o?.metadata.name === 'refused') throw new Error('refused by the recorder');
    },
  };
  api = createApiServer({ store: createMemoryStore(), resources, admission: [recorder] });
  base = (await api.listen(0)).url;
  assert.equal((await call('POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
});
after(async () => {
  await api.close();
});

describe('the write pipeline', () => {
  const path = `/api/v1/namespaces/${ns}/configmaps`;
  const count = async (what: string, f: () => Promise<{ status: number; body: any }>) => {
    defaulted = 0;
    seen.length = 0;
    const r = await f();
    assert.ok(r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(defaulted, 1, `${what}: defaulting ran ${defaulted} times`);
    return r;
  };

  it('defaults once per write, before mutating admission; admission changes are stored', async () => {
    const c = await count('create', () => call('POST', path, { metadata: { name: 'one' }, data: { a: '1' } }));
    assert.deepEqual(seen[0], { phase: 'admit', op: 'CREATE', name: 'one', data: { a: '1', defaulted: 'yes' } });
    assert.deepEqual(seen[1], { phase: 'validate', op: 'CREATE', name: 'one', annotations: { admitted: 'yes' } });
    assert.equal(c.body.metadata.annotations.admitted, 'yes');
    await count('put', () => call('PUT', `${path}/one`, { metadata: { name: 'one' }, data: { a: '2' } }));
    assert.equal(seen[0].op, 'UPDATE');
    await count('merge patch', () =>
      call('PATCH', `${path}/one`, { data: { b: '1' } }, 'application/merge-patch+json'),
    );
    await count('strategic patch', () =>
      call('PATCH', `${path}/one`, { data: { c: '1' } }, 'application/strategic-merge-patch+json'),
    );
    await count('json patch', () =>
      call('PATCH', `${path}/one`, [{ op: 'add', path: '/data/d', value: '1' }], 'application/json-patch+json'),
    );
    await count('apply (update)', () =>
      call(
        'PATCH',
        `${path}/one?fieldManager=t&force=true`,
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' }, data: { e: '1' } },
        'application/apply-patch+yaml',
      ),
    );
    await count('apply (create)', () =>
      call(
        'PATCH',
        `${path}/two?fieldManager=t`,
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'two' }, data: { e: '1' } },
        'application/apply-patch+yaml',
      ),
    );
    const got = await call('GET', `${path}/one`);
    assert.equal(got.body.data.defaulted, 'yes');
    assert.equal(got.body.metadata.annotations.admitted, 'yes');
  });

  it('a validating refusal stores nothing; DELETE is admitted with the stored object', async () => {
    const r = await call('POST', path, { metadata: { name: 'refused' } });
    assert.equal(r.status, 500);
    assert.equal((await call('GET', `${path}/refused`)).status, 404);
    seen.length = 0;
    assert.equal((await call('DELETE', `${path}/two`)).status, 200);
    assert.deepEqual(
      seen.map((s) => `${s.phase} ${s.op} ${s.name}`),
      ['admit DELETE two', 'validate DELETE two'],
    );
  });
  it('a DELETE that lost a race with another writer is tried again, not answered with Conflict', async () => {
    for (const name of ['raced-1', 'raced-2', 'raced-3'])
      assert.equal((await call('POST', path, { metadata: { name, labels: { race: 'yes' } } })).status, 201);
    const one = await call('DELETE', `${path}/raced-1`);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    const coll = await call('DELETE', `${path}?labelSelector=race%3Dyes`);
    assert.equal(coll.status, 200, JSON.stringify(coll.body));
    assert.deepEqual([...raced].sort(), ['raced-1', 'raced-2', 'raced-3']);
    assert.equal((await call('GET', `${path}?labelSelector=race%3Dyes`)).body.items.length, 0);
    // A precondition that fails is still a Conflict.
    await call('POST', path, { metadata: { name: 'pre' } });
    const pre = await call('DELETE', `${path}/pre`, { preconditions: { uid: 'not-its-uid' } });
    assert.equal(pre.status, 409);
    // Upstream's words (BeforeDelete): the kind, not the resource, and both UIDs.
    assert.match(
      pre.body.message,
      /^Operation cannot be fulfilled on ConfigMap "pre": the UID in the precondition \(not-its-uid\) does not match the UID in record \([0-9a-f-]{36}\)\. The object might have been deleted and then recreated$/,
    );
    assert.equal(pre.body.details.kind, 'ConfigMap');
    // DeleteOptions.dryRun in the body (kubectl delete --dry-run=server) deletes nothing.
    const dry = await call('DELETE', `${path}/pre`, { dryRun: ['All'] });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal((await call('GET', `${path}/pre`)).status, 200);
  });
});
