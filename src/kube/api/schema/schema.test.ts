import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allResources } from '../index.js';
import { DEFINITIONS } from './registry.js';
import type { JSONSchemaProps } from '../types.js';

function refs(s: JSONSchemaProps | undefined, out: Set<string>): void {
  if (!s || typeof s !== 'object') return;
  if (s.$ref) out.add(s.$ref);
  for (const p of Object.values(s.properties ?? {})) refs(p, out);
  if (typeof s.additionalProperties === 'object') refs(s.additionalProperties, out);
  refs(s.items, out);
  for (const x of [...(s.allOf ?? []), ...(s.anyOf ?? []), ...(s.oneOf ?? [])]) refs(x, out);
}

test('every $ref in every schema resolves to a definition', () => {
  const all = new Set<string>();
  for (const r of allResources()) refs(r.schema, all);
  for (const d of Object.values(DEFINITIONS)) refs(d, all);
  const missing = [...all].filter((r) => !(r.replace('#/components/schemas/', '') in DEFINITIONS));
  assert.deepEqual(missing, []);
});

test('every kind has a GVK, columns starting with Name, descriptions on top-level fields', () => {
  const seen = new Set<string>();
  for (const r of allResources()) {
    const key = `${r.group}/${r.version}/${r.kind}`;
    assert.ok(!seen.has(key), `duplicate ${key}`);
    seen.add(key);
    assert.deepEqual(r.schema['x-kubernetes-group-version-kind'], [{ group: r.group, version: r.version, kind: r.kind }]);
    assert.ok(r.columns.length >= 1);
    assert.ok(r.columns.some((c) => c.format === 'name') || r.kind === 'Event', `${key} has a name column`);
    for (const [name, p] of Object.entries(r.schema.properties ?? {})) assert.ok(p.description, `${key}.${name} has a description`);
    assert.ok(r.definitions && Object.keys(r.definitions).includes('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'));
  }
});

test('pod spec list semantics match upstream merge keys', () => {
  const spec = DEFINITIONS['io.k8s.api.core.v1.PodSpec'];
  assert.equal(spec.properties!.containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(spec.properties!.volumes['x-kubernetes-patch-strategy'], 'merge,retainKeys');
  assert.equal(spec.properties!.tolerations['x-kubernetes-list-type'], 'atomic');
  const c = DEFINITIONS['io.k8s.api.core.v1.Container'];
  assert.equal(c.properties!.ports['x-kubernetes-patch-merge-key'], 'containerPort');
  assert.deepEqual(c.properties!.ports['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
  assert.equal(c.properties!.env['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(c.properties!.volumeMounts['x-kubernetes-patch-merge-key'], 'mountPath');
});
