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
    assert.deepEqual(r.schema['x-kubernetes-group-version-kind'], [
      { group: r.group, version: r.version, kind: r.kind },
    ]);
    assert.ok(r.columns.length >= 1);
    assert.ok(r.columns.some((c) => c.format === 'name') || r.kind === 'Event', `${key} has a name column`);
    for (const [name, p] of Object.entries(r.schema.properties ?? {}))
      assert.ok(p.description, `${key}.${name} has a description`);
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

test('list-map key fields that upstream defaults carry the default (server-side apply keys)', () => {
  assert.equal(DEFINITIONS['io.k8s.api.core.v1.ContainerPort'].properties!.protocol.default, 'TCP');
  assert.equal(DEFINITIONS['io.k8s.api.core.v1.ServicePort'].properties!.protocol.default, 'TCP');
  assert.deepEqual(DEFINITIONS['io.k8s.api.core.v1.ServiceSpec'].properties!.ports['x-kubernetes-list-map-keys'], [
    'port',
    'protocol',
  ]);
});

test('schemas name every field the upstream-generated client models know (no unknown-field rejections)', async () => {
  // @kubernetes/client-node's models are generated from upstream's OpenAPI; their attribute lists
  // are an independent record of each type's fields.
  const models = (await import('@kubernetes/client-node')) as unknown as Record<
    string,
    { attributeTypeMap?: { baseName: string }[] }
  >;
  const missing: string[] = [];
  let checked = 0;
  for (const [name, def] of Object.entries(DEFINITIONS)) {
    const m =
      /^io\.k8s\.(?:api\.(\w+)|apimachinery\.pkg\.apis\.(meta)|apiextensions-apiserver\.pkg\.apis\.(apiextensions))\.(v\d\w*)\.(\w+)$/.exec(
        name,
      );
    if (!m) continue;
    const group = m[1] ?? m[2] ?? m[3],
      ver = m[4],
      kind = m[5];
    const V = ver[0].toUpperCase() + ver.slice(1);
    const cls = [`${V}${kind}`, `${group[0].toUpperCase()}${group.slice(1)}${V}${kind}`]
      .map((c) => models[c])
      .find((c) => c?.attributeTypeMap);
    if (!cls) continue;
    checked++;
    const props = Object.keys(def.properties ?? {});
    if (def['x-kubernetes-preserve-unknown-fields'] && !props.length) continue;
    for (const a of cls.attributeTypeMap!) if (!props.includes(a.baseName)) missing.push(`${name}.${a.baseName}`);
  }
  assert.ok(checked > 200, `compared ${checked} types`);
  assert.deepEqual(missing, []);
});
