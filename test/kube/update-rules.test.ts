// Update semantics the write path owes every kind (in-process API server on the memory store):
// the kinds' prepareForUpdate hook runs on PUT/PATCH/apply, status is ignored on the main resource
// and spec on /status, generation moves only when the (defaulted) spec changes, system metadata
// stays, and server-side apply re-applies manifests whose list-map keys include a defaulted field.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApiServer, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources } from '../../src/kube/api/index.js';
import { createMemoryStore } from '../../src/kube/storage/index.js';

let api: ApiServer, base: string;
const ns = `upd-${Math.random().toString(36).slice(2, 8)}`;
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
  return { status: r.status, body: json };
}
const ok = (r: { status: number; body: any }, what: string) => {
  assert.ok(r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

const deployment = (image = 'nginx') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 80 }] }] },
    },
  },
});

before(async () => {
  api = createApiServer({ store: createMemoryStore(), resources: allResources() });
  base = (await api.listen(0)).url;
  ok(await call('POST', '/api/v1/namespaces', { metadata: { name: ns } }), 'namespace');
});
after(async () => {
  await api.close();
});

describe('update rules', () => {
  it('PUT of a Service that omits its cluster IP and node ports keeps them (prepareForUpdate)', async () => {
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'np' },
      spec: {
        type: 'NodePort',
        clusterIP: '10.96.7.7',
        selector: { app: 'a' },
        ports: [{ port: 80, nodePort: 30777 }],
      },
    };
    const created = ok(await call('POST', `/api/v1/namespaces/${ns}/services`, svc), 'create');
    const put = {
      ...svc,
      metadata: { name: 'np', resourceVersion: created.metadata.resourceVersion },
      spec: { type: 'NodePort', selector: { app: 'b' }, ports: [{ port: 80 }] },
    };
    const got = ok(await call('PUT', `/api/v1/namespaces/${ns}/services/np`, put), 'replace');
    assert.equal(got.spec.clusterIP, '10.96.7.7');
    assert.deepEqual(got.spec.clusterIPs, ['10.96.7.7']);
    assert.equal(got.spec.ports[0].nodePort, 30777);
    assert.deepEqual(got.spec.selector, { app: 'b' });
  });

  it('generation moves only on a spec change after defaulting; status is ignored on the main resource', async () => {
    const created = ok(await call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment()), 'create');
    assert.equal(created.metadata.generation, 1);
    // The same manifest again (without the defaulted fields the stored object has): no spec change.
    const same = ok(
      await call('PUT', `/apis/apps/v1/namespaces/${ns}/deployments/web`, { ...deployment(), status: { replicas: 9 } }),
      'same',
    );
    assert.equal(same.metadata.generation, 1);
    // (the stored status: the empty struct upstream answers before a controller writes one)
    assert.deepEqual(same.status, {}, 'status of a PUT to the main resource is ignored');
    assert.equal(same.metadata.resourceVersion, created.metadata.resourceVersion, 'no-op update is not written');
    const changed = ok(
      await call('PUT', `/apis/apps/v1/namespaces/${ns}/deployments/web`, deployment('nginx:2')),
      'changed',
    );
    assert.equal(changed.metadata.generation, 2);
    const labelled = ok(
      await call(
        'PATCH',
        `/apis/apps/v1/namespaces/${ns}/deployments/web`,
        { metadata: { labels: { x: 'y' } } },
        'application/merge-patch+json',
      ),
      'label',
    );
    assert.equal(labelled.metadata.generation, 2, 'metadata changes do not bump generation');
  });

  it('/status ignores spec changes and keeps generation; system metadata cannot be changed', async () => {
    const cur = ok(await call('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`), 'get');
    const body = structuredClone(cur);
    body.spec.replicas = 5;
    body.status = { replicas: 3, observedGeneration: cur.metadata.generation };
    body.metadata.uid = '00000000-0000-0000-0000-000000000000';
    body.metadata.creationTimestamp = '2001-01-01T00:00:00Z';
    const st = ok(await call('PUT', `/apis/apps/v1/namespaces/${ns}/deployments/web/status`, body), 'status');
    assert.equal(st.spec.replicas, cur.spec.replicas);
    assert.equal(st.status.replicas, 3);
    assert.equal(st.metadata.generation, cur.metadata.generation);
    assert.equal(st.metadata.uid, cur.metadata.uid);
    assert.equal(st.metadata.creationTimestamp, cur.metadata.creationTimestamp);
    delete body.metadata.resourceVersion;
    const main = ok(await call('PUT', `/apis/apps/v1/namespaces/${ns}/deployments/web`, body), 'main');
    assert.equal(main.metadata.uid, cur.metadata.uid);
    assert.equal(main.metadata.creationTimestamp, cur.metadata.creationTimestamp);
    assert.equal(main.metadata.generation, cur.metadata.generation + 1);
  });

  it('/status does not move generation when defaulting fills a field an older server left out', async () => {
    const key = `/registry/apps/deployments/${ns}/web`;
    const kv = (await api.context.store.get(key))!;
    const stored = JSON.parse(new TextDecoder().decode(kv.value));
    delete stored.spec.revisionHistoryLimit;
    await api.context.store.update(key, new TextEncoder().encode(JSON.stringify(stored)), kv.modRevision);
    const cur = ok(await call('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`), 'get');
    assert.equal(cur.spec.revisionHistoryLimit, undefined);
    const st = ok(
      await call('PUT', `/apis/apps/v1/namespaces/${ns}/deployments/web/status`, { ...cur, status: { replicas: 4 } }),
      'status',
    );
    assert.equal(st.metadata.generation, cur.metadata.generation);
  });

  it('server-side apply re-applies Pods, Services and Deployments whose port keys include the defaulted protocol', async () => {
    const apply = (path: string, obj: unknown) =>
      call('PATCH', `${path}?fieldManager=kubectl`, obj, 'application/apply-patch+yaml');
    const pod = (port: number) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: port }] }] },
    });
    const svc = (port: number) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { clusterIP: '10.96.8.8', selector: { app: 'a' }, ports: [{ port }] },
    });
    const podPath = `/api/v1/namespaces/${ns}/pods/p`,
      svcPath = `/api/v1/namespaces/${ns}/services/s`,
      depPath = `/apis/apps/v1/namespaces/${ns}/deployments/ssa`;
    const dep = (port: number) => ({
      ...deployment(),
      metadata: { name: 'ssa' },
      spec: {
        ...deployment().spec,
        template: {
          ...deployment().spec.template,
          spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: port }] }] },
        },
      },
    });
    for (const [path, make] of [
      [podPath, pod],
      [svcPath, svc],
      [depPath, dep],
    ] as const) {
      const first = ok(await apply(path, make(80)), `apply ${path}`);
      const again = ok(await apply(path, make(80)), `re-apply ${path}`);
      assert.equal(
        again.metadata.resourceVersion,
        first.metadata.resourceVersion,
        `${path}: re-applying the same manifest changes nothing`,
      );
      if (path === podPath) continue; // pod container ports are immutable
      const changed = ok(await apply(path, make(81)), `changed ${path}`);
      const ports = path === svcPath ? changed.spec.ports : changed.spec.template.spec.containers[0].ports;
      assert.deepEqual(
        ports.map((p: any) => p.port ?? p.containerPort),
        [81],
        `${path}: the dropped port goes, the new one comes, no duplicates`,
      );
      const mf = JSON.stringify(changed.metadata.managedFields);
      assert.match(mf, /k:\{\\"(containerPort|port)\\":81,\\"protocol\\":\\"TCP\\"\}/);
    }
  });

  it('pods/ephemeralcontainers: GET, strategic PATCH and PUT add ephemeral containers only, with upstream rules', async () => {
    const path = `/api/v1/namespaces/${ns}/pods/dbg`;
    ok(
      await call('POST', `/api/v1/namespaces/${ns}/pods`, {
        metadata: { name: 'dbg' },
        spec: { containers: [{ name: 'app', image: 'busybox' }] },
      }),
      'pod',
    );
    const got = ok(await call('GET', `${path}/ephemeralcontainers`), 'get');
    assert.equal(got.kind, 'Pod');
    // kubectl debug's patch: a strategic merge of spec.ephemeralContainers (other changes dropped).
    const sm = 'application/strategic-merge-patch+json';
    const dbg = { name: 'debugger-1', image: 'busybox', stdin: true, tty: true, targetContainerName: 'app' };
    const p1 = ok(
      await call(
        'PATCH',
        `${path}/ephemeralcontainers`,
        { metadata: { labels: { x: 'y' } }, spec: { ephemeralContainers: [dbg], restartPolicy: 'Never' } },
        sm,
      ),
      'patch',
    );
    assert.equal(p1.spec.ephemeralContainers[0].name, 'debugger-1');
    assert.equal(p1.spec.ephemeralContainers[0].terminationMessagePolicy, 'File', 'defaulted');
    assert.equal(p1.spec.restartPolicy, 'Always', 'a change outside ephemeralContainers is dropped');
    assert.equal(p1.metadata.labels, undefined);
    // A second one is merged by name beside the first.
    const p2 = ok(
      await call(
        'PATCH',
        `${path}/ephemeralcontainers`,
        { spec: { ephemeralContainers: [{ name: 'd2', image: 'busybox' }] } },
        sm,
      ),
      'patch 2',
    );
    assert.deepEqual(
      p2.spec.ephemeralContainers.map((c: any) => c.name),
      ['debugger-1', 'd2'],
    );
    const refused = async (body: unknown, type: string, msg: RegExp) => {
      const r = await call(
        type === 'put' ? 'PUT' : 'PATCH',
        `${path}/ephemeralcontainers`,
        body,
        type === 'put' ? 'application/json' : type,
      );
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.match(r.body.message, msg);
    };
    // Removal (PUT without it), change, a duplicate name, ports/probes/resources are refused.
    const cur = ok(await call('GET', path), 'get');
    const put = structuredClone(cur);
    put.spec.ephemeralContainers = put.spec.ephemeralContainers.slice(1);
    await refused(put, 'put', /existing ephemeral containers "debugger-1" may not be removed/);
    const mp = 'application/merge-patch+json';
    const changed = structuredClone(cur.spec.ephemeralContainers);
    changed[1].image = 'nginx';
    await refused(
      { spec: { ephemeralContainers: changed } },
      mp,
      /existing ephemeral containers "d2" may not be changed/,
    );
    await refused(
      { spec: { ephemeralContainers: [{ name: 'app', image: 'busybox' }] } },
      sm,
      /ephemeralContainers\[2\]\.name: Duplicate value: "app"/,
    );
    await refused(
      { spec: { ephemeralContainers: [{ name: 'p', image: 'busybox', ports: [{ containerPort: 80 }] }] } },
      sm,
      /ephemeralContainers\[2\]\.ports: Forbidden: cannot be set for an Ephemeral Container/,
    );
    await refused(
      { spec: { ephemeralContainers: [{ name: 'p', image: 'busybox', resources: { limits: { cpu: '1' } } }] } },
      sm,
      /ephemeralContainers\[2\]\.resources: Forbidden/,
    );
    // PUT adding one works.
    const add = structuredClone(cur);
    add.spec.ephemeralContainers.push({ name: 'd3', image: 'busybox' });
    assert.equal(ok(await call('PUT', `${path}/ephemeralcontainers`, add), 'put').spec.ephemeralContainers.length, 3);
    assert.equal((await call('DELETE', `${path}/ephemeralcontainers`)).status, 405);
  });

  it('server-side apply of an autoscaling/v1 HPA: its fields stay owned across v2 writes and conflict from either version', async () => {
    const y = (pct: number) =>
      `apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: x}\n  maxReplicas: 3\n  targetCPUUtilizationPercentage: ${pct}\n`;
    const v1 = `/apis/autoscaling/v1/namespaces/${ns}/horizontalpodautoscalers/h`;
    const v2 = `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/h`;
    const apply = (path: string, mgr: string, body: string, force = false) =>
      call('PATCH', `${path}?fieldManager=${mgr}${force ? '&force=true' : ''}`, body, 'application/apply-patch+yaml');
    ok(await apply(v1, 'a', y(50)), 'apply v1');
    ok(await apply(v1, 'a', y(60)), 're-apply v1');
    // The autoscaler writes status through v2 (as the controller does).
    const cur = ok(await call('GET', v2), 'get v2');
    cur.status = {
      currentReplicas: 1,
      desiredReplicas: 1,
      conditions: [
        { type: 'AbleToScale', status: 'True', reason: 'R', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
    };
    ok(await call('PUT', `${v2}/status?fieldManager=ctl`, cur), 'status');
    const mf = ok(await call('GET', v1), 'get v1').metadata.managedFields.find((m: any) => m.manager === 'a');
    assert.equal(mf.apiVersion, 'autoscaling/v1');
    assert.ok(mf.fieldsV1['f:spec']['f:targetCPUUtilizationPercentage'], JSON.stringify(mf));
    const c1 = await apply(v1, 'b', y(70));
    assert.equal(c1.status, 409);
    assert.match(c1.body.message, /conflict with "a" using autoscaling\/v1: \.spec\.targetCPUUtilizationPercentage/);
    // A v2 applier changing the same target conflicts with the v1 owner too; force takes it over.
    const v2cfg = JSON.stringify({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'h' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' },
        maxReplicas: 3,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
        ],
      },
    });
    const c2 = await apply(v2, 'c', v2cfg);
    assert.equal(c2.status, 409, JSON.stringify(c2.body));
    assert.match(c2.body.message, /conflict with "a" using autoscaling\/v1/);
    const forced = ok(await apply(v2, 'c', v2cfg, true), 'force');
    assert.equal(forced.spec.metrics[0].resource.target.averageUtilization, 80);
    const after = ok(await call('GET', v1), 'get v1').metadata.managedFields.find((m: any) => m.manager === 'a');
    assert.equal(after?.fieldsV1['f:spec']['f:targetCPUUtilizationPercentage'], undefined, 'taken over by force');
  });
  it('an apply conflict with a scale write names the subresource, as structured-merge-diff does', async () => {
    const d = { ...deployment(), metadata: { name: 'scaled' } };
    const P = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const made = ok(await call('POST', `${P}?fieldManager=mk`, d), 'create');
    // The main resource's writes own no status (upstream resets it), though `status: {}` is stored.
    assert.deepEqual(made.status, {});
    assert.equal(made.metadata.managedFields[0].fieldsV1['f:status'], undefined);
    const sc = ok(await call('GET', `${P}/scaled/scale`), 'get scale');
    ok(await call('PUT', `${P}/scaled/scale?fieldManager=kubectl`, { ...sc, spec: { replicas: 5 } }), 'scale');
    const c = await call(
      'PATCH',
      `${P}/scaled?fieldManager=app`,
      JSON.stringify({ ...d, spec: { ...d.spec, replicas: 2 } }),
      'application/apply-patch+yaml',
    );
    assert.equal(c.status, 409);
    assert.match(c.body.message, /conflict with "kubectl" with subresource "scale" using apps\/v1: \.spec\.replicas/);
  });
  it('managedFields: maps a create or an update brings are members (`.`), as upstream records them', async () => {
    const P = `/api/v1/namespaces/${ns}/configmaps`;
    ok(await call('POST', `${P}?fieldManager=mk`, { metadata: { name: 'dots' }, data: { a: '1' } }), 'create');
    const patched = ok(
      await call(
        'PATCH',
        `${P}/dots?fieldManager=lab`,
        { metadata: { labels: { x: 'y' } } },
        'application/merge-patch+json',
      ),
      'label',
    );
    const by = (m: string) => patched.metadata.managedFields.find((e: any) => e.manager === m).fieldsV1;
    assert.deepEqual(by('mk'), { 'f:data': { '.': {}, 'f:a': {} } });
    assert.deepEqual(by('lab'), { 'f:metadata': { 'f:labels': { '.': {}, 'f:x': {} } } });
    // Another entry in a map that exists is no new member.
    const again = ok(
      await call(
        'PATCH',
        `${P}/dots?fieldManager=lab2`,
        { metadata: { labels: { z: 'w' } } },
        'application/merge-patch+json',
      ),
      'label again',
    );
    const lab2 = again.metadata.managedFields.find((e: any) => e.manager === 'lab2').fieldsV1;
    assert.deepEqual(lab2, { 'f:metadata': { 'f:labels': { 'f:z': {} } } });
  });
});
