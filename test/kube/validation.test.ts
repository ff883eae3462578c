// Validation reports every error at once, as upstream does (issue 11): the kind's own checks run
// even when the schema already found something (missing required fields, unsupported values), and
// every kind's validators survive objects with fields missing (they now see such objects).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApiServer, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources, type KubeObject } from '../../src/kube/api/index.js';
import { createMemoryStore } from '../../src/kube/storage/index.js';

let api: ApiServer, base: string;
const ns = `val-${Math.random().toString(36).slice(2, 8)}`;
async function call(method: string, path: string, body?: unknown, type = 'application/json') {
  const r = await fetch(base + path, {
    method,
    headers: { 'Content-Type': type },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
}
const causes = (b: any) => (b.details?.causes ?? []).map((c: any) => `${c.field}: ${c.message}`);

before(async () => {
  api = createApiServer({ store: createMemoryStore(), resources: allResources() });
  base = (await api.listen(0)).url;
  assert.equal((await call('POST', '/api/v1/namespaces', { metadata: { name: ns } })).status, 201);
});
after(async () => {
  await api.close();
});

describe('validation reports every error at once', () => {
  const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };

  for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet']) {
    it(`a ${kind} without a selector: spec.selector Required and the template labels mismatch`, async () => {
      const plural = `${kind.toLowerCase()}s`;
      const r = await call('POST', `/apis/apps/v1/namespaces/${ns}/${plural}`, {
        apiVersion: 'apps/v1',
        kind,
        metadata: { name: 'nosel' },
        spec: { template, serviceName: 'x' },
      });
      assert.equal(r.status, 422);
      assert.deepEqual(causes(r.body), [
        'spec.selector: Required value',
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
      ]);
      assert.equal(
        r.body.message,
        `${kind}.apps "nosel" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: \`selector\` does not match template \`labels\`]`,
      );
    });
  }

  it('a Pod: an invalid name, an unsupported restartPolicy (schema) and a missing image (kind) together', async () => {
    const r = await call('POST', `/api/v1/namespaces/${ns}/pods`, {
      metadata: { name: 'Bad' },
      spec: { containers: [{ name: 'c' }], restartPolicy: 'Sometimes' },
    });
    assert.equal(r.status, 422);
    const got = causes(r.body);
    assert.ok(
      got.some((c: string) => c.startsWith('metadata.name: Invalid value: "Bad"')),
      got.join('\n'),
    );
    assert.ok(got.includes('spec.containers[0].image: Required value'), got.join('\n'));
    assert.ok(
      got.some((c: string) => c.startsWith('spec.restartPolicy: Unsupported value: "Sometimes"')),
      got.join('\n'),
    );
  });

  it('update rules and field rules together (an immutable selector and a negative replica count)', async () => {
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'upd' },
      spec: { selector: { matchLabels: { app: 'x' } }, template },
    };
    assert.equal((await call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, d)).status, 201);
    const r = await call('PUT', `/apis/apps/v1/namespaces/${ns}/deployments/upd`, {
      ...d,
      spec: {
        replicas: -1,
        selector: { matchLabels: { app: 'y' } },
        template: { ...template, metadata: { labels: { app: 'y' } } },
      },
    });
    assert.equal(r.status, 422);
    const got = causes(r.body);
    assert.ok(
      got.some((c: string) => c.startsWith('spec.replicas: Invalid value: -1')),
      got.join('\n'),
    );
    assert.ok(
      got.some((c: string) => c.startsWith('spec.selector: Invalid value') && c.endsWith('field is immutable')),
      got.join('\n'),
    );
  });

  it('a Secret update reports immutability before the kind rules, as upstream', async () => {
    const P = `/api/v1/namespaces/${ns}/secrets`;
    assert.equal(
      (await call('POST', P, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'st' }, data: { a: 'Yg==' } }))
        .status,
      201,
    );
    const r = await call('PATCH', `${P}/st`, { type: 'kubernetes.io/tls' }, 'application/merge-patch+json');
    assert.equal(r.status, 422);
    assert.deepEqual(
      r.body.details.causes.map((c: { field: string }) => c.field),
      ['type', 'data[tls.crt]', 'data[tls.key]'],
    );
  });

  it('a value of the wrong type stops at the type error (as upstream decoding does: a 400)', async () => {
    const r = await call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'typed' },
      spec: { replicas: 'three', template },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.reason, 'BadRequest');
    assert.equal(
      r.body.message,
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
      'the kind validators did not run on a mistyped object',
    );
    // Go names the innermost struct and drops list indexes and map keys from the path.
    const deeper = await call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'typed2' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { ...template, spec: { containers: [{ name: 'c', image: 5 }] } },
      },
    });
    assert.equal(
      deeper.body.message,
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.image of type string',
    );
    const map = await call('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'typed3' },
      data: { k: 1 },
    });
    assert.equal(
      map.body.message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string',
    );
    const meta = await call('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'typed4', labels: 'a' },
    });
    assert.equal(
      meta.body.message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string',
    );
  });

  it("every kind's validators take objects with fields missing without failing (no 500)", async () => {
    for (const def of allResources()) {
      if (!def.validate && !def.validateUpdate) continue;
      const skeletons: KubeObject[] = [
        { metadata: { name: 'x', namespace: 'ns' } },
        { metadata: { name: 'x', namespace: 'ns' }, spec: {} },
      ];
      // Every top-level and spec-level property present but empty.
      const props = Object.keys(def.schema.properties ?? {}).filter(
        (p) => !['apiVersion', 'kind', 'metadata'].includes(p),
      );
      skeletons.push({ metadata: { name: 'x' }, ...Object.fromEntries(props.map((p) => [p, {}])) });
      skeletons.push({ metadata: { name: 'x' }, spec: { template: {}, selector: {}, jobTemplate: {} } });
      for (const o of skeletons) {
        const what = `${def.kind} ${JSON.stringify(o)}`;
        assert.doesNotThrow(() => def.validate?.(structuredClone(o)), what);
        assert.doesNotThrow(() => def.validateUpdate?.(structuredClone(o), structuredClone(o)), what);
        const withDefaults = structuredClone(o);
        assert.doesNotThrow(() => def.defaults?.(withDefaults), what);
        assert.doesNotThrow(() => def.validate?.(withDefaults), what);
      }
    }
  });
});
