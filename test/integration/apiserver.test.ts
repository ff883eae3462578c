// The API server machinery in-process over HTTP on the memory store: list/watch semantics,
// selectors, paging, dry-run, subresources, patches and their directives, server-side apply
// ownership, tables, discovery and OpenAPI shapes, and Status errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { createApiServer, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources } from '../../src/kube/api/index.js';
import { createMemoryStore } from '../../src/kube/storage/index.js';

let api: ApiServer, base: string;
const ns = 'it';
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json, headers: r.headers };
}
const cm = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...extra },
  data: { a: '1' },
});

before(async () => {
  api = createApiServer({ store: createMemoryStore(), resources: allResources() });
  base = (await api.listen(0)).url;
  assert.equal((await call('POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
});
after(async () => {
  await api.close();
});

describe('apiserver machinery', () => {
  it('answers /readyz?verbose, /livez/<check> and /metrics as upstream (kubectl get --raw)', async () => {
    const v = await call('GET', '/readyz?verbose');
    assert.equal(v.status, 200);
    assert.equal(
      v.body,
      '[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/bootstrap-controller ok\n[+]shutdown ok\nreadyz check passed\n',
    );
    assert.equal((await call('GET', '/livez')).body, 'ok');
    assert.deepEqual([(await call('GET', '/livez/etcd')).body, (await call('GET', '/livez/nope')).status], ['ok', 404]);
    assert.match(
      (await call('GET', '/healthz?verbose&exclude=etcd')).body,
      /\[\+\]etcd excluded: ok\nhealthz check passed\n$/,
    );
    await call('GET', `/api/v1/namespaces/${ns}/configmaps`);
    await call('GET', `/api/v1/namespaces/${ns}/configmaps/nope`);
    const m = await call('GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = String(m.body);
    const count = (labels: string) =>
      Number(
        new RegExp(`^apiserver_request_total\\{${labels.replace(/[{}]/g, '\\$&')}\\} (\\d+)$`, 'm').exec(text)?.[1] ??
          0,
      );
    const list =
      'code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="LIST",version="v1"';
    assert.ok(count(list) >= 1, text.slice(0, 2000));
    const get404 = list.replace('code="200"', 'code="404"').replace('LIST', 'GET').replace('"namespace"', '"resource"');
    assert.ok(count(get404) >= 1);
    assert.match(
      text,
      /^apiserver_request_duration_seconds_bucket\{.*resource="configmaps".*verb="LIST".*le="\+Inf"\} \d+$/m,
    );
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
  });

  it("a POST or PUT body with a value of the wrong type is upstream's decode 400; a patch's is 422", async () => {
    const dep = (replicas: unknown) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'typ' },
      spec: {
        replicas,
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
    const P = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const msg =
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32';
    const post = await call('POST', P, dep('two'));
    assert.deepEqual([post.status, post.body.reason, post.body.message], [400, 'BadRequest', msg]);
    assert.equal((await call('POST', P, dep(1))).status, 201);
    const put = await call('PUT', `${P}/typ`, dep('two'));
    assert.deepEqual([put.status, put.body.reason], [400, 'BadRequest']);
    const patch = await call(
      'PATCH',
      `${P}/typ`,
      { spec: { replicas: 'two' } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.deepEqual([patch.status, patch.body.reason], [422, 'Invalid']);
  });

  it('serves health, version and both discovery formats', async () => {
    assert.equal((await call('GET', '/readyz')).status, 200);
    assert.match((await call('GET', '/version')).body.gitVersion, /^v1\.32\./);
    const agg = await call('GET', '/apis', undefined, {
      Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
    });
    assert.equal(
      agg.headers.get('content-type'),
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    const apps = agg.body.items.find((g: any) => g.metadata.name === 'apps');
    const deploy = apps.versions[0].resources.find((r: any) => r.resource === 'deployments');
    assert.deepEqual(deploy.responseKind, { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.ok(deploy.subresources.some((s: any) => s.subresource === 'scale' && s.responseKind.kind === 'Scale'));
    const legacy = await call('GET', '/api');
    assert.deepEqual(legacy.body.versions, ['v1']);
    const rl = await call('GET', '/apis/apps/v1');
    assert.ok(rl.body.resources.some((r: any) => r.name === 'deployments/scale' && r.group === 'autoscaling'));
    const core = await call('GET', '/api', undefined, {
      Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    });
    assert.equal(core.body.items[0].metadata.name, '');
  });

  it('publishes OpenAPI v3 with fieldValidation on PATCH and GVK-tagged schemas', async () => {
    const idx = await call('GET', '/openapi/v3');
    const url = idx.body.paths['apis/apps/v1'].serverRelativeURL as string;
    assert.match(url, /^\/openapi\/v3\/apis\/apps\/v1\?hash=/);
    const doc = (await call('GET', url)).body;
    const p = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'];
    assert.deepEqual(p.patch['x-kubernetes-group-version-kind'], { group: 'apps', version: 'v1', kind: 'Deployment' });
    assert.ok(p.patch.parameters.some((x: any) => x.name === 'fieldValidation' && x.in === 'query'));
    assert.ok(
      Object.values(doc.components.schemas).some(
        (s: any) => s['x-kubernetes-group-version-kind']?.[0]?.kind === 'Deployment',
      ),
    );
  });

  it('lists with label and field selectors and pages with limit/continue', async () => {
    for (let i = 0; i < 7; i++)
      assert.equal(
        (
          await call(
            'POST',
            `/api/v1/namespaces/${ns}/configmaps`,
            cm(`page-${i}`, { labels: { grp: i % 2 ? 'odd' : 'even', page: 'y' } }),
          )
        ).status,
        201,
      );
    const odd = await call(
      'GET',
      `/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent('grp in (odd),page')}`,
    );
    assert.deepEqual(
      odd.body.items.map((o: any) => o.metadata.name),
      ['page-1', 'page-3', 'page-5'],
    );
    const notEven = await call(
      'GET',
      `/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent('grp!=even,!nope')}`,
    );
    assert.equal(notEven.body.items.filter((o: any) => o.metadata.name.startsWith('page')).length, 3);
    const byName = await call(
      'GET',
      `/api/v1/configmaps?fieldSelector=${encodeURIComponent(`metadata.name=page-2,metadata.namespace=${ns}`)}`,
    );
    assert.deepEqual(
      byName.body.items.map((o: any) => o.metadata.name),
      ['page-2'],
    );
    const bad = await call('GET', `/api/v1/configmaps?fieldSelector=spec.nope%3Dx`);
    assert.equal(bad.status, 400);
    // ConfigMaps have no field selectors of their own: the scheme's default conversion's words.
    assert.equal(
      bad.body.message,
      '"spec.nope" is not a known field selector: only "metadata.name", "metadata.namespace"',
    );
    const badPod = await call('GET', `/api/v1/pods?fieldSelector=spec.nope%3Dx`);
    assert.equal(badPod.body.message, 'field label not supported: spec.nope');
    const seen: string[] = [];
    let cont = '';
    let pages = 0;
    do {
      const r = await call(
        'GET',
        `/api/v1/namespaces/${ns}/configmaps?labelSelector=page%3Dy&limit=3${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
      );
      assert.equal(r.status, 200);
      assert.ok(r.body.items.length <= 3);
      seen.push(...r.body.items.map((o: any) => o.metadata.name));
      cont = r.body.metadata.continue ?? '';
      pages++;
    } while (cont);
    assert.equal(pages, 3);
    assert.deepEqual(
      seen,
      Array.from({ length: 7 }, (_, i) => `page-${i}`),
    );
  });

  it('watches with selectors: objects entering and leaving are ADDED and DELETED; 410 Expired once compacted', async () => {
    const list = await call('GET', `/api/v1/namespaces/${ns}/configmaps`);
    const rv = list.body.metadata.resourceVersion;
    const ac = new AbortController();
    const res = await fetch(
      `${base}/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${rv}&labelSelector=w%3Dyes`,
      { signal: ac.signal },
    );
    const events: any[] = [];
    const reader = (async () => {
      let buf = '';
      for await (const chunk of res.body as any) {
        buf += Buffer.from(chunk).toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      }
    })().catch(() => {});
    await call('POST', `/api/v1/namespaces/${ns}/configmaps`, cm('w1', { labels: { w: 'no' } }));
    await call(
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/w1`,
      { metadata: { labels: { w: 'yes' } } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    await call(
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/w1`,
      { data: { b: '2' } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    await call(
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/w1`,
      { metadata: { labels: { w: 'no' } } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    for (let i = 0; i < 100 && events.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await reader;
    assert.deepEqual(
      events.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    assert.equal(events[2].object.metadata.labels.w, 'no');
    assert.ok(
      events.every((e) => res.headers.get('content-type') === 'application/json' && e.object.kind === 'ConfigMap'),
    );
    await api.context.store.compact(await api.context.store.currentRevision());
    const old = await call('GET', `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=2`);
    const ev = typeof old.body === 'string' ? JSON.parse(old.body.split('\n')[0]) : old.body;
    assert.equal(ev.type, 'ERROR');
    assert.deepEqual([ev.object.code, ev.object.reason], [410, 'Expired']);
  });

  it('watch of a single name with a table Accept yields one-row Tables', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/api/v1/watch/namespaces/${ns}/configmaps/page-0`, {
      signal: ac.signal,
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' },
    });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    ac.abort();
    const ev = JSON.parse(Buffer.from(value!).toString().split('\n')[0]);
    assert.equal(ev.type, 'ADDED');
    assert.equal(ev.object.kind, 'Table');
    assert.equal(ev.object.rows.length, 1);
    assert.equal(ev.object.rows[0].cells[0], 'page-0');
    assert.equal(ev.object.rows[0].object.kind, 'PartialObjectMetadata');
  });

  it('creates with generateName, honours dryRun and fieldValidation, reports Invalid with causes', async () => {
    const g = await call('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { generateName: 'gen-' } });
    assert.equal(g.status, 201);
    assert.match(g.body.metadata.name, /^gen-[a-z0-9]{5}$/);
    const dry = await call('POST', `/api/v1/namespaces/${ns}/configmaps?dryRun=All`, cm('dry'));
    assert.equal(dry.status, 201);
    assert.equal((await call('GET', `/api/v1/namespaces/${ns}/configmaps/dry`)).status, 404);
    const strict = await call('POST', `/api/v1/namespaces/${ns}/configmaps?fieldValidation=Strict`, {
      ...cm('s'),
      spec: { foo: 1 },
    });
    assert.equal(strict.status, 400);
    assert.equal(
      strict.body.message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "spec"',
    );
    const warn = await call('POST', `/api/v1/namespaces/${ns}/configmaps?fieldValidation=Warn`, {
      ...cm('warned'),
      bogus: 1,
    });
    assert.equal(warn.status, 201);
    assert.equal(warn.headers.get('warning'), '299 - "unknown field \\"bogus\\""');
    assert.equal(warn.body.bogus, undefined, 'unknown fields are pruned');
    const inv = await call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'bad' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c' }] } },
      },
    });
    assert.equal(inv.status, 422);
    assert.equal(inv.body.reason, 'Invalid');
    assert.ok(
      inv.body.details.causes.some((c: any) => c.field === 'spec.template.spec.containers[0].image'),
      JSON.stringify(inv.body),
    );
    const missing = await call('POST', '/api/v1/namespaces/nowhere/configmaps', cm('x'));
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'namespaces "nowhere" not found');
    const dup = await call('POST', `/api/v1/namespaces/${ns}/configmaps`, cm('page-0'));
    assert.equal(dup.status, 409);
    assert.equal(dup.body.reason, 'AlreadyExists');
  });

  it('patches: strategic merge with merge keys and directives, status and scale subresources', async () => {
    const dep = {
      metadata: { name: 'd' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: {
            containers: [
              {
                name: 'one',
                image: 'x',
                env: [
                  { name: 'A', value: '1' },
                  { name: 'B', value: '2' },
                ],
                ports: [{ containerPort: 80 }],
              },
              { name: 'two', image: 'y' },
            ],
          },
        },
      },
    };
    const c = await call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, dep);
    assert.equal(c.status, 201, JSON.stringify(c.body));
    assert.equal(c.body.metadata.generation, 1);
    const smp = {
      spec: {
        template: {
          spec: {
            $setElementOrder$containers: undefined,
            containers: [
              { name: 'two', image: 'y2' },
              {
                name: 'one',
                env: [
                  { name: 'A', $patch: 'delete' },
                  { name: 'C', value: '3' },
                ],
              },
            ],
          },
        },
      },
    };
    const p = await call(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/d`,
      JSON.stringify(smp).replace('"$setElementOrder$containers":null,', ''),
      { 'Content-Type': 'application/strategic-merge-patch+json' },
    );
    assert.equal(p.status, 200, JSON.stringify(p.body));
    const cs = p.body.spec.template.spec.containers;
    assert.deepEqual(
      cs.map((x: any) => x.name),
      ['one', 'two'],
    );
    assert.equal(cs[1].image, 'y2');
    assert.deepEqual(
      cs[0].env.map((e: any) => e.name),
      ['B', 'C'],
    );
    assert.equal(cs[0].ports[0].containerPort, 80);
    assert.equal(p.body.metadata.generation, 2);
    const order = await call(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/d`,
      { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'two' }, { name: 'one' }] } } } },
      { 'Content-Type': 'application/strategic-merge-patch+json' },
    );
    assert.deepEqual(
      order.body.spec.template.spec.containers.map((x: any) => x.name),
      ['two', 'one'],
    );
    const replace = await call(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/d`,
      { spec: { template: { spec: { containers: [{ name: 'only', image: 'z' }, { $patch: 'replace' }] } } } },
      { 'Content-Type': 'application/strategic-merge-patch+json' },
    );
    assert.deepEqual(
      replace.body.spec.template.spec.containers.map((x: any) => x.name),
      ['only'],
    );
    // status: the main resource ignores status, the status subresource ignores spec.
    const st = await call(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/d`,
      { status: { replicas: 9 } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(st.body.status?.replicas, undefined);
    const st2 = await call(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/d/status`,
      { spec: { replicas: 7 }, status: { replicas: 4 } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(st2.body.status.replicas, 4);
    assert.equal(st2.body.spec.replicas, 1);
    const scale = await call('GET', `/apis/apps/v1/namespaces/${ns}/deployments/d/scale`);
    assert.deepEqual(
      [
        scale.body.kind,
        scale.body.apiVersion,
        scale.body.spec.replicas,
        scale.body.status.replicas,
        scale.body.status.selector,
      ],
      ['Scale', 'autoscaling/v1', 1, 4, 'a=b'],
    );
    const scaled = await call(
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/d/scale`,
      { spec: { replicas: 3 } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(scaled.body.spec.replicas, 3);
    const negative = await call('PUT', `/apis/apps/v1/namespaces/${ns}/deployments/d/scale`, {
      metadata: { name: 'd' },
      spec: { replicas: -1 },
    });
    assert.equal(negative.status, 422);
  });

  it('server-side apply tracks ownership, conflicts with causes, and removes fields the applier dropped', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps/ssa`;
    const applyAs = (mgr: string, data: Record<string, string>, force = false) =>
      call(
        'PATCH',
        `${path}?fieldManager=${mgr}${force ? '&force=true' : ''}`,
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data },
        { 'Content-Type': 'application/apply-patch+yaml' },
      );
    assert.equal((await applyAs('a', { x: '1', y: '2' })).status, 201);
    assert.equal((await applyAs('b', { z: '3' })).status, 200);
    const conflict = await applyAs('b', { x: 'other' });
    assert.equal(conflict.status, 409);
    assert.deepEqual(conflict.body.details.causes, [
      { reason: 'FieldManagerConflict', message: 'conflict with "a" using v1', field: '.data.x' },
    ]);
    const shared = await applyAs('b', { x: '1', z: '3' });
    assert.equal(shared.status, 200, 'the same value is shared ownership, not a conflict');
    const dropped = await applyAs('a', { x: '1' });
    assert.deepEqual(dropped.body.data, { x: '1', z: '3' }, 'y was owned by a only and is removed; z stays with b');
    const forced = await applyAs('b', { x: 'forced', z: '3' }, true);
    assert.equal(forced.body.data.x, 'forced');
    const managers = forced.body.metadata.managedFields.map(
      (m: any) =>
        `${m.manager}:${m.operation}:${Object.keys(m.fieldsV1['f:data'] ?? {})
          .sort()
          .join(',')}`,
    );
    assert.deepEqual(managers.sort(), ['b:Apply:f:x,f:z']);
    const noManager = await call(
      'PATCH',
      path,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' } },
      { 'Content-Type': 'application/apply-patch+yaml' },
    );
    assert.equal(noManager.status, 400);
  });

  it('updates with optimistic concurrency; deletes with finalizers, preconditions and deletecollection', async () => {
    const got = (await call('GET', `/api/v1/namespaces/${ns}/configmaps/page-1`)).body;
    const ok = await call('PUT', `/api/v1/namespaces/${ns}/configmaps/page-1`, { ...got, data: { a: '2' } });
    assert.equal(ok.status, 200);
    assert.notEqual(ok.body.metadata.resourceVersion, got.metadata.resourceVersion);
    const stale = await call('PUT', `/api/v1/namespaces/${ns}/configmaps/page-1`, { ...got, data: { a: '3' } });
    assert.equal(stale.status, 409);
    assert.equal(
      stale.body.message,
      'Operation cannot be fulfilled on configmaps "page-1": the object has been modified; please apply your changes to the latest version and try again',
    );
    const same = await call('PUT', `/api/v1/namespaces/${ns}/configmaps/page-1`, ok.body);
    assert.equal(same.body.metadata.resourceVersion, ok.body.metadata.resourceVersion, 'a no-op update is not written');
    // A PUT's answer is the stored text (no second serialisation): the object a GET returns, with
    // the new managedFields entry; an unconditional PUT (no resourceVersion) is written too.
    const after = (await call('GET', `/api/v1/namespaces/${ns}/configmaps/page-1`)).body;
    assert.deepEqual(ok.body, after);
    assert.deepEqual(ok.body.data, { a: '2' });
    assert.ok(ok.body.metadata.managedFields?.length);
    const { resourceVersion: _rv, ...noRv } = after.metadata;
    const blind = await call('PUT', `/api/v1/namespaces/${ns}/configmaps/page-1`, {
      ...after,
      metadata: noRv,
      data: { a: '4' },
    });
    assert.equal(blind.status, 200);
    assert.deepEqual(blind.body, (await call('GET', `/api/v1/namespaces/${ns}/configmaps/page-1`)).body);
    assert.deepEqual(blind.body.data, { a: '4' });
    const pre = await call('DELETE', `/api/v1/namespaces/${ns}/configmaps/page-1`, { preconditions: { uid: 'nope' } });
    assert.equal(pre.status, 409);
    const orphan = await call('DELETE', `/api/v1/namespaces/${ns}/configmaps/page-2?propagationPolicy=Orphan`);
    assert.equal(orphan.status, 200);
    assert.deepEqual(orphan.body.metadata.finalizers, ['orphan']);
    assert.ok(orphan.body.metadata.deletionTimestamp);
    const dc = await call('DELETE', `/api/v1/namespaces/${ns}/configmaps?labelSelector=grp%3Deven`);
    assert.equal(dc.status, 200);
    const left = await call('GET', `/api/v1/namespaces/${ns}/configmaps?labelSelector=grp%3Deven`);
    assert.deepEqual(
      left.body.items.map((o: any) => o.metadata.name),
      ['page-2'],
      'only the one held by its orphan finalizer remains',
    );
    const nsDel = await call('DELETE', `/api/v1/namespaces/${ns}-gone`);
    assert.equal(nsDel.status, 404);
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'term' } });
    const term = await call('DELETE', '/api/v1/namespaces/term');
    assert.equal(term.body.status.phase, 'Terminating');
    const refused = await call('POST', '/api/v1/namespaces/term/configmaps', cm('late'));
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /because it is being terminated/);
    const relabel = await call(
      'PATCH',
      '/api/v1/namespaces/term',
      { metadata: { labels: { x: 'y' } } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(relabel.status, 200);
    assert.equal(
      (await call('GET', '/api/v1/namespaces/term')).status,
      200,
      'a terminating namespace stays until its spec.finalizers are gone',
    );
    const fin = await call('PUT', '/api/v1/namespaces/term/finalize', {
      metadata: { name: 'term' },
      spec: { finalizers: [] },
    });
    assert.equal(fin.status, 200);
    assert.equal((await call('GET', '/api/v1/namespaces/term')).status, 404);
  });

  it('deletes with DeleteOptions sent as protobuf, as client-go typed clients (helm) send them', async () => {
    const made = await call('POST', `/api/v1/namespaces/${ns}/configmaps`, cm('pb-del'));
    assert.equal(made.status, 201);
    const root = protobuf.Root.fromJSON(
      JSON.parse(readFileSync(new URL('../../src/kube/apiserver/proto/kube.json', import.meta.url), 'utf8')),
    );
    const opts = root.lookupType('k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions');
    const unknown = root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
    const frame = (o: Record<string, unknown>) =>
      Buffer.concat([
        Buffer.from('k8s\0', 'binary'),
        unknown
          .encode(
            unknown.fromObject({
              typeMeta: { apiVersion: 'v1', kind: 'DeleteOptions' },
              raw: opts.encode(opts.fromObject(o)).finish(),
              contentType: '',
            }),
          )
          .finish(),
      ]);
    const del = (o: Record<string, unknown>) =>
      fetch(`${base}/api/v1/namespaces/${ns}/configmaps/pb-del`, {
        method: 'DELETE',
        headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' },
        body: frame(o),
      });
    // A precondition on another uid is refused: the body was read, not ignored.
    const refused = await del({ preconditions: { uid: 'not-the-uid' } });
    assert.equal(refused.status, 409, await refused.text());
    const ok = await del({ propagationPolicy: 'Background', preconditions: { uid: made.body.metadata.uid } });
    assert.equal(ok.status, 200, await ok.text());
    assert.equal((await call('GET', `/api/v1/namespaces/${ns}/configmaps/pb-del`)).status, 404);
  });

  it("answers client-go's metadata client: PartialObjectMetadata for get, list and watch", async () => {
    const made = await call('POST', `/api/v1/namespaces/${ns}/configmaps`, cm('pom', { labels: { pom: 'yes' } }));
    assert.equal(made.status, 201);
    // The metadata client's Accept: protobuf first, then JSON, each as=PartialObjectMetadata[List].
    const accept = (as: string) =>
      `application/vnd.kubernetes.protobuf;as=${as};g=meta.k8s.io;v=v1,application/json;as=${as};g=meta.k8s.io;v=v1,application/json`;
    const one = await call('GET', `/api/v1/namespaces/${ns}/configmaps/pom`, undefined, {
      Accept: accept('PartialObjectMetadata'),
    });
    assert.equal(one.status, 200);
    assert.equal(one.body.kind, 'PartialObjectMetadata');
    assert.equal(one.body.apiVersion, 'meta.k8s.io/v1');
    assert.equal(one.body.metadata.uid, made.body.metadata.uid);
    assert.equal(one.body.data, undefined, 'no data: metadata only');
    const list = await call('GET', `/api/v1/namespaces/${ns}/configmaps?labelSelector=pom%3Dyes`, undefined, {
      Accept: accept('PartialObjectMetadataList'),
    });
    assert.equal(list.body.kind, 'PartialObjectMetadataList');
    assert.ok(list.body.metadata.resourceVersion);
    assert.deepEqual(
      list.body.items.map((i: any) => [i.kind, i.apiVersion, i.metadata.name, i.data]),
      [['PartialObjectMetadata', 'meta.k8s.io/v1', 'pom', undefined]],
    );
    const all = await call('GET', `/api/v1/namespaces/${ns}/configmaps`, undefined, {
      Accept: accept('PartialObjectMetadataList'),
    });
    assert.equal(all.body.kind, 'PartialObjectMetadataList', 'the unfiltered list too');
    assert.ok(all.body.items.every((i: any) => i.kind === 'PartialObjectMetadata' && i.data === undefined));
    const wrong = await call('GET', `/api/v1/namespaces/${ns}/configmaps/pom`, undefined, {
      Accept: accept('PartialObjectMetadataList'),
    });
    assert.equal(wrong.status, 406);
    assert.equal(wrong.body.reason, 'NotAcceptable');
    // A watch with initial events (client-go's WatchList) and a change after it.
    const ac = new AbortController();
    const res = await fetch(
      `${base}/api/v1/namespaces/${ns}/configmaps?watch=1&labelSelector=pom%3Dyes&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
      { headers: { Accept: accept('PartialObjectMetadata') }, signal: ac.signal },
    );
    const reader = res.body!.getReader();
    let text = '';
    const lines = async (n: number) => {
      while (text.split('\n').filter(Boolean).length < n) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    };
    const initial = await lines(2);
    assert.deepEqual(
      initial.map((e) => [e.type, e.object.kind, e.object.apiVersion]),
      [
        ['ADDED', 'PartialObjectMetadata', 'meta.k8s.io/v1'],
        ['BOOKMARK', 'PartialObjectMetadata', 'meta.k8s.io/v1'],
      ],
    );
    assert.equal(initial[1].object.metadata.annotations['k8s.io/initial-events-end'], 'true');
    await call('PATCH', `/api/v1/namespaces/${ns}/configmaps/pom`, '{"data":{"b":"2"}}', {
      'Content-Type': 'application/merge-patch+json',
    });
    const after = await lines(3);
    assert.equal(after[2].type, 'MODIFIED');
    assert.equal(after[2].object.kind, 'PartialObjectMetadata');
    assert.equal(after[2].object.data, undefined);
    ac.abort();
  });

  it('never crashes on malformed requests', async () => {
    const cases: [string, string, string | undefined, Record<string, string>?][] = [
      ['POST', `/api/v1/namespaces/${ns}/configmaps`, '{'],
      ['POST', `/api/v1/namespaces/${ns}/configmaps`, 'null'],
      ['POST', `/api/v1/namespaces/${ns}/configmaps`, '"str"'],
      ['POST', `/api/v1/namespaces/${ns}/configmaps`, '{"metadata": "x"}'],
      ['POST', `/api/v1/namespaces/${ns}/configmaps`, '{"metadata": {"name": 5}}'],
      ['POST', `/api/v1/namespaces/${ns}/configmaps`, '{"metadata": {"name": "l", "labels": {"a": 1}}}'],
      [
        'PATCH',
        `/api/v1/namespaces/${ns}/configmaps/page-3`,
        '[{"op":"bogus"}]',
        { 'Content-Type': 'application/json-patch+json' },
      ],
      [
        'PATCH',
        `/api/v1/namespaces/${ns}/configmaps/page-3`,
        '[1]',
        { 'Content-Type': 'application/strategic-merge-patch+json' },
      ],
      ['PATCH', `/api/v1/namespaces/${ns}/configmaps/page-3`, '{}', { 'Content-Type': 'application/xml' }],
      [
        'POST',
        `/api/v1/namespaces/${ns}/configmaps`,
        'k8s\u0000garbage',
        { 'Content-Type': 'application/vnd.kubernetes.protobuf' },
      ],
      ['GET', `/api/v1/namespaces/${ns}/configmaps?limit=x`, undefined],
      ['GET', `/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent('a in (')}`, undefined],
      ['GET', `/api/v1/namespaces/${ns}/configmaps?resourceVersionMatch=Exact`, undefined],
      ['DELETE', `/api/v1/namespaces/${ns}/configmaps/page-3`, '{"propagationPolicy":"Sideways"}'],
    ];
    for (const [m, p, b, h] of cases) {
      const r = await call(m, p, b, h);
      assert.ok(r.status >= 400 && r.status < 500, `${m} ${p} ${b}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.kind, 'Status');
    }
    assert.equal((await call('GET', '/healthz')).status, 200);
  });

  it("answers malformed requests in kube-apiserver 1.32's words (found by the kubectl differential)", async () => {
    const P = `/api/v1/namespaces/${ns}/configmaps`;
    const said = async (m: string, p: string, b?: string, h?: Record<string, string>) => {
      const r = await call(m, p, b, h);
      return [r.status, r.body.reason, r.body.message, r.body.details];
    };
    const unrec = (why: string, data: string) =>
      `the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: ${why} (${data})`;
    assert.deepEqual(await said('POST', P, '{"apiVersion":'), [
      400,
      'BadRequest',
      unrec('unexpected end of JSON input', '{"apiVersion":'),
      undefined,
    ]);
    assert.deepEqual(await said('POST', P, ''), [
      400,
      'BadRequest',
      unrec('unexpected end of JSON input', '<empty>'),
      undefined,
    ]);
    assert.deepEqual(
      (await said('POST', P, '[1,2]'))[2],
      unrec(
        'json: cannot unmarshal array into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }',
        '5b312c325d',
      ),
    );
    assert.equal(
      (await said('POST', P, JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } })))[2],
      'Secret in version "v1" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): unknown conversion',
    );
    assert.equal(
      (await said('POST', P, JSON.stringify({ apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'x' } })))[2],
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: no kind "ConfigMap" is registered for version "apps/v1" in scheme "pkg/runtime/scheme.go:100"',
    );
    // A negative limit is no limit; a resourceVersion that is no number is upstream's 500.
    assert.equal((await call('GET', `${P}?limit=-1`)).status, 200);
    assert.deepEqual(await said('GET', `${P}?resourceVersion=abc`), [
      500,
      undefined,
      'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
      undefined,
    ]);
    const opts = await call('GET', `${P}?resourceVersionMatch=Exact`);
    assert.deepEqual(
      [opts.status, opts.body.reason, opts.body.message, opts.body.details.kind, opts.body.details.group],
      [
        422,
        'Invalid',
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
        'ListOptions',
        'meta.k8s.io',
      ],
    );
    const dry = await call('POST', `${P}?dryRun=Bogus`, JSON.stringify({ metadata: { name: 'd' } }));
    assert.equal(dry.status, 422);
    assert.equal(
      dry.body.message,
      'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Bogus"}: supported values: "All"',
    );
    const fv = await call('PUT', `${P}/page-3?fieldValidation=Bogus`, JSON.stringify({ metadata: { name: 'page-3' } }));
    assert.equal(
      fv.body.message,
      'UpdateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Bogus": supported values: "", "Ignore", "Strict", "Warn"',
    );
    // Methods a path does not serve, and a patch of another media type: upstream's generic answers.
    const generic405 = [405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}];
    assert.deepEqual(await said('POST', `${P}/page-3`, '{}'), generic405);
    assert.deepEqual(await said('PUT', P, '{}'), generic405);
    assert.deepEqual(await said('PATCH', `${P}/page-3`, '{}'), [
      415,
      'UnsupportedMediaType',
      '415: Unsupported Media Type',
      {},
    ]);
    // Patches that cannot apply: upstream's generic 422, and Go's decoder on a non-object.
    const jp = { 'Content-Type': 'application/json-patch+json' };
    for (const op of ['[{"op":"remove","path":"/nosuch"}]', '[{"op":"test","path":"/data","value":9}]'])
      assert.deepEqual(await said('PATCH', `${P}/page-3`, op, jp), [
        422,
        'Invalid',
        'the server rejected our request due to an error in our request',
        {},
      ]);
    assert.deepEqual(
      (
        await said('PATCH', `${P}/page-3`, '"not json"', { 'Content-Type': 'application/strategic-merge-patch+json' })
      )[2],
      'json: cannot unmarshal string into Go value of type map[string]interface {}',
    );
    // A continue token that does not decode is a 400, as upstream's storage answers it.
    const badCont = await said('GET', `${P}?continue=garbage`);
    assert.deepEqual(badCont.slice(0, 2), [400, 'BadRequest']);
    assert.match(String(badCont[2]), /^invalid continue token: continue key is not valid: /);
    // A resource's subresources are listed by name, as upstream's discovery does.
    const apps = await call('GET', '/apis/apps/v1');
    const names = apps.body.resources.map((x: { name: string }) => x.name);
    assert.ok(names.indexOf('deployments/scale') < names.indexOf('deployments/status'), names.join(' '));
    // Status details leave out the core group's "".
    const nf = await call('GET', `${P}/absent`);
    assert.deepEqual(nf.body.details, { name: 'absent', kind: 'configmaps' });
  });

  it('survives clients that vanish mid-body, mid-watch, or speak garbage', async () => {
    const { port } = new URL(base);
    const send = (raw: string, ms = 50) =>
      new Promise<void>((res) => {
        const s = net.connect(Number(port), '127.0.0.1', () => {
          s.write(raw);
          setTimeout(() => {
            s.destroy();
            res();
          }, ms);
        });
        s.on('error', () => res());
      });
    await send(
      `POST /api/v1/namespaces/${ns}/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"metadata":`,
    );
    await send(
      `POST /api/v1/namespaces/${ns}/configmaps HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbad`,
    );
    await send('GET /api/v1/configmaps?watch=1 HTTP/1.1\r\nHost: x\r\n\r\n', 200);
    await send(`GET /api/v1/namespaces/%E0%A4%A/configmaps HTTP/1.1\r\nHost: x\r\n\r\n`);
    await send('GARBAGE\r\n\r\n');
    assert.equal((await call('GET', '/healthz')).status, 200);
    assert.equal((await call('GET', `/api/v1/namespaces/${ns}/configmaps/page-3`)).status, 200);
  });
});
