import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JSONSchemaProps } from '../../api/index.js';
import { applyMergePatch } from './merge.js';
import { applyStrategicPatch } from './strategic.js';
import { recordUpdate, serverSideApply } from './apply.js';
import { jsonEqual } from '../pipeline/update.js';
import { findResource, type ResourceDefinition } from '../../api/index.js';
import { fieldsV1Of, fromFieldsV1, itemKey, leaves, pathKey, toFieldsV1, type Path } from './fieldset.js';
import { itemSchema, listSemantics, propertySchema, resolve, type SchemaContext } from '../schema.js';
import { isObject } from '../../../common/index.js';

const schema: JSONSchemaProps = {
  type: 'object',
  properties: {
    metadata: {
      type: 'object',
      properties: {
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-patch-strategy': 'merge' },
      },
    },
    spec: {
      type: 'object',
      properties: {
        containers: {
          type: 'array',
          'x-kubernetes-patch-strategy': 'merge',
          'x-kubernetes-patch-merge-key': 'name',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              image: { type: 'string' },
              args: { type: 'array', items: { type: 'string' } },
            },
          },
        },
        strategy: {
          type: 'object',
          'x-kubernetes-patch-strategy': 'retainKeys',
          properties: { type: { type: 'string' }, rollingUpdate: { type: 'object' } },
        },
      },
    },
  },
};
const ctx = { defs: {} };

test('merge patch: null deletes, objects merge, arrays replace', () => {
  assert.deepEqual(applyMergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { a: null, b: { c: 9 }, l: [3] }), {
    b: { c: 9, d: 3 },
    l: [3],
  });
});

test('strategic merge patch: merge keys, $patch, $retainKeys, $deleteFromPrimitiveList, $setElementOrder', () => {
  const orig = {
    metadata: { finalizers: ['a', 'b'] },
    spec: {
      containers: [
        { name: 'x', image: '1', args: ['p'] },
        { name: 'y', image: '2' },
      ],
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
    },
  };
  const out = applyStrategicPatch(
    orig,
    {
      metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] },
      spec: {
        '$setElementOrder/containers': [{ name: 'z' }, { name: 'x' }],
        containers: [
          { name: 'x', image: '1b' },
          { name: 'y', $patch: 'delete' },
          { name: 'z', image: '3' },
        ],
        strategy: { $retainKeys: ['type'], type: 'Recreate' },
      },
    },
    schema,
    ctx,
  ) as typeof orig;
  assert.deepEqual(out.metadata.finalizers, ['b', 'c']);
  assert.deepEqual(out.spec.containers, [
    { name: 'z', image: '3' },
    { name: 'x', image: '1b', args: ['p'] },
  ]);
  assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
  const replaced = applyStrategicPatch(
    orig,
    { spec: { containers: [{ name: 'only' }, { $patch: 'replace' }] } },
    schema,
    ctx,
  ) as typeof orig;
  assert.deepEqual(replaced.spec.containers, [{ name: 'only' }]);
  assert.deepEqual(applyStrategicPatch(orig, { spec: { $patch: 'replace', containers: [] } }, schema, ctx), {
    metadata: orig.metadata,
    spec: { containers: [] },
  });
});

test('strategic merge patch: malformed directives are 400s in upstream words', () => {
  const ctx = { defs: {}, structural: false };
  const bad = (patch: unknown, msg: string) =>
    assert.throws(
      () => applyStrategicPatch({ spec: { a: 1 } }, patch, schema, ctx),
      (e: any) => e.code === 400 && e.reason === 'BadRequest' && e.message === msg,
    );
  bad({ spec: { $retainKeys: 'a' } }, 'invalid patch format of retainKeys');
  bad({ spec: { $retainKeys: ['a'], b: 2 } }, 'invalid patch format of retainKeys');
  bad({ spec: { '$setElementOrder/containers': 'x' } }, 'invalid patch format of setElementOrder list');
  bad({ metadata: { '$deleteFromPrimitiveList/finalizers': 'x' } }, 'invalid patch format of primitive list');
  // (a field the patch deletes need not be retained)
  assert.deepEqual(
    applyStrategicPatch({ spec: { a: 1, b: 2 } }, { spec: { $retainKeys: ['a'], b: null } }, schema, ctx),
    {
      spec: { a: 1 },
    },
  );
});

test('server-side apply: ownership by list-map key, conflicts, removal of dropped fields', () => {
  const def = { schema, group: 'g', version: 'v1', kind: 'K' } as unknown as ResourceDefinition;
  const mi = (manager: string) => ({ manager, apiVersion: 'g/v1' });
  const a1 = serverSideApply(
    def,
    ctx,
    undefined,
    {
      metadata: { name: 'o' },
      spec: {
        containers: [
          { name: 'x', image: '1' },
          { name: 'y', image: '2' },
        ],
      },
    },
    mi('a'),
    false,
  );
  const b1 = serverSideApply(
    def,
    ctx,
    a1,
    { metadata: { name: 'o' }, spec: { containers: [{ name: 'z', image: '3' }] } },
    mi('b'),
    false,
  );
  assert.deepEqual(
    (b1.spec as { containers: { name: string }[] }).containers.map((c) => c.name),
    ['x', 'y', 'z'],
  );
  assert.throws(
    () =>
      serverSideApply(
        def,
        ctx,
        b1,
        { metadata: { name: 'o' }, spec: { containers: [{ name: 'x', image: 'other' }] } },
        mi('b'),
        false,
      ),
    (e: { code?: number; details?: { causes?: { field: string }[] } }) =>
      e.code === 409 && e.details!.causes![0].field === '.spec.containers[name="x"].image',
  );
  const a2 = serverSideApply(
    def,
    ctx,
    b1,
    { metadata: { name: 'o' }, spec: { containers: [{ name: 'x', image: '1' }] } },
    mi('a'),
    false,
  );
  assert.deepEqual(
    (a2.spec as { containers: { name: string }[] }).containers.map((c) => c.name),
    ['x', 'z'],
    "y was only a's and is removed",
  );
  const fields = a2.metadata.managedFields!.find((m) => m.manager === 'a')!.fieldsV1 as Record<
    string,
    Record<string, Record<string, unknown>>
  >;
  assert.deepEqual(Object.keys(fields['f:spec']['f:containers']), ['k:{"name":"x"}']);
});

test('fieldsV1Of (the create path) equals toFieldsV1(leaves()) key for key, with the real Pod schema', () => {
  const pod = findResource('', 'v1', 'pods')!;
  const pctx = { defs: pod.definitions ?? {} };
  const objs: unknown[] = [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ns', uid: 'u', labels: { app: 'a', tier: 'b' }, finalizers: ['x/y'] },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'img',
            ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }],
            resources: { requests: { cpu: '100m', memory: '500Mi' } },
            env: [{ name: 'A', value: '1' }],
            args: ['a', 'b'],
          },
          { name: 'd', image: 'img2', securityContext: {} },
        ],
        tolerations: [{ key: 'k', operator: 'Exists' }],
        nodeSelector: {},
        dnsPolicy: 'ClusterFirst',
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
      },
      status: {},
    },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'only' } },
    {
      metadata: { name: 'defaulted', annotations: { 'a/b': 'c' }, ownerReferences: [{ uid: 'o', name: 'rs' }] },
      spec: {
        volumes: [
          {
            name: 'kube-api-access',
            projected: {
              sources: [
                { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
                { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              ],
              defaultMode: 420,
            },
          },
        ],
        containers: [{ name: 'c', volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run' }] }],
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
        securityContext: { sysctls: [{ name: 'a', value: 'b' }] },
      },
    },
    { metadata: { name: 'e', labels: {} }, spec: { containers: [] } },
  ];
  // fieldsV1Of also marks the free maps a create brings (`f:labels: {.: {}, …}`, as upstream's
  // comparison with the empty object); apart from those marks it is the leaves' set.
  const unmarked = (f: unknown, key = ''): unknown => {
    if (!f || typeof f !== 'object') return f;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(f)) if (!(k === '.' && !key.startsWith('k:'))) out[k] = unmarked(v, k);
    return out;
  };
  for (const o of objs) {
    const want = JSON.stringify(toFieldsV1(leaves(o, pod.schema, pctx).keys()));
    assert.equal(JSON.stringify(unmarked(fieldsV1Of(o, pod.schema, pctx))), want);
    // leaves() (planned walk) against the general walk it replaced, leaf for leaf, in order
    assert.deepEqual([...leaves(o, pod.schema, pctx)], [...leavesReference(o, pod.schema, pctx)]);
  }
  assert.equal(JSON.stringify(fieldsV1Of(objs[1], pod.schema, pctx)), '{}');
  const marked = fieldsV1Of(
    { metadata: { labels: { a: 'b' } }, spec: { nodeSelector: { x: 'y' }, containers: [{ name: 'c' }] } },
    pod.schema,
    pctx,
  ) as any;
  assert.deepEqual(marked['f:metadata']['f:labels'], { '.': {}, 'f:a': {} });
  assert.deepEqual(marked['f:spec']['f:nodeSelector'], {}, 'an atomic map is a leaf');
  assert.equal(marked['f:spec']['.'], undefined, 'a struct is no member of its own');
  // A null (template metadata's creationTimestamp, Go's zero) is no field of a built-in kind.
  assert.deepEqual(fieldsV1Of({ spec: { nodeName: null, hostname: 'h' } }, pod.schema, pctx), {
    'f:spec': { 'f:hostname': {} },
  });
  // The mark survives toFieldsV1(fromFieldsV1(…)) (a later write's re-encoding of the entry).
  assert.deepEqual(toFieldsV1(fromFieldsV1(marked)), marked);
});

/** The general leaves() walk the planned one replaced (resolves each node's schema on the way). */
function leavesReference(obj: unknown, schema: JSONSchemaProps | undefined, ctx: SchemaContext): Map<string, string> {
  const IGNORED = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp']);
  for (const k of ['managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds']) IGNORED.add(k);
  const skipTop = new Set(['apiVersion', 'kind']);
  const out = new Map<string, string>();
  const walk = (v: unknown, s: JSONSchemaProps | undefined, p: Path, top: boolean) => {
    if (v === null && !ctx.structural) return; // a built-in kind's null is no field (Go's zero)
    const r = resolve(s, ctx);
    if (isObject(v) && !(r?.['x-kubernetes-map-type'] === 'atomic') && Object.keys(v).length > 0) {
      for (const [k, cv] of Object.entries(v)) {
        if (top && skipTop.has(k)) continue;
        if (p.length === 1 && p[0] === 'f:metadata' && IGNORED.has(k)) continue;
        walk(cv, propertySchema(r, k, ctx), [...p, `f:${k}`], false);
      }
      return;
    }
    if (Array.isArray(v) && v.length > 0) {
      const sem = listSemantics(r, ctx);
      if (sem.type === 'map' && sem.keys.length) {
        const is = itemSchema(r, ctx);
        for (const item of v) {
          const ip = [...p, `k:${itemKey(item, sem.keys, sem.defaults)}`];
          out.set(pathKey(ip), '.');
          walk(item, is, ip, false);
        }
        return;
      }
      if (sem.type === 'set') {
        for (const item of v) out.set(pathKey([...p, `v:${JSON.stringify(item)}`]), JSON.stringify(item));
        return;
      }
    }
    if (p.length) out.set(pathKey(p), JSON.stringify(v));
  };
  walk(obj, schema, [], true);
  return out;
}

test('leaves() equals the general walk for ConfigMaps, Events, a bound pod, atomic maps and sets, and no schema', () => {
  const cases: [string, string, string, unknown][] = [
    [
      '',
      'v1',
      'configmaps',
      { metadata: { name: 'c', labels: { a: 'b' }, annotations: {} }, data: { v: 'x', w: '' }, binaryData: {} },
    ],
    [
      '',
      'v1',
      'configmaps',
      { metadata: { name: 'c', resourceVersion: '5', managedFields: [{ manager: 'm' }] }, data: {} },
    ],
    [
      '',
      'v1',
      'events',
      {
        metadata: { name: 'e', namespace: 'n' },
        involvedObject: { kind: 'Pod', name: 'p', uid: 'u' },
        reason: 'Scheduled',
        count: 1,
        source: { component: 's' },
        firstTimestamp: '2026-12-07T16:00:00Z',
      },
    ],
    [
      '',
      'v1',
      'pods',
      {
        metadata: { name: 'p' },
        spec: {
          nodeName: 'n',
          containers: [{ name: 'c', command: ['a', 'a'], ports: [{ containerPort: 80, protocol: 'TCP' }] }],
          nodeSelector: { a: 'b' },
          readinessGates: [],
        },
        status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
      },
    ],
    [
      '',
      'v1',
      'nodes',
      {
        metadata: { name: 'n', labels: { z: 'a' } },
        spec: { podCIDRs: ['10.0.0.0/24'], taints: [{ key: 'k', effect: 'NoSchedule' }] },
        status: { capacity: { cpu: '4' }, addresses: [{ type: 'InternalIP', address: '1.2.3.4' }] },
      },
    ],
    [
      'apps',
      'v1',
      'deployments',
      {
        metadata: { name: 'd' },
        spec: {
          selector: { matchLabels: { a: 'b' } },
          template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c' }] } },
        },
      },
    ],
  ];
  for (const [g, v, plural, o] of cases) {
    const def = findResource(g, v, plural)!;
    const ctx = { defs: def.definitions ?? {} };
    const got = [...leaves(o, def.schema, ctx)];
    assert.ok(got.length > 0, plural);
    assert.deepEqual(got, [...leavesReference(o, def.schema, ctx)], plural);
  }
  // no schema at all (free-form custom resources), and values of the wrong type for the schema
  const free = { metadata: { name: 'x' }, spec: { a: [1, { b: 2 }], c: {}, d: null } };
  assert.deepEqual([...leaves(free, undefined, { defs: {} })], [...leavesReference(free, undefined, { defs: {} })]);
  const pod = findResource('', 'v1', 'pods')!;
  const odd = { metadata: { labels: 'x' }, spec: { containers: { name: 'c' }, tolerations: 'none' } };
  const pctx = { defs: pod.definitions ?? {} };
  assert.deepEqual([...leaves(odd, pod.schema, pctx)], [...leavesReference(odd, pod.schema, pctx)]);
});

test('recordUpdate says an update surely differs only when a changed scalar field proves it', () => {
  const cases: [string, string, unknown, unknown, boolean][] = [
    ['', 'configmaps', { data: { a: '1' } }, { data: { a: '2' } }, true],
    ['', 'configmaps', { data: { a: '1' } }, { data: { a: '1', b: '' } }, true],
    ['', 'configmaps', { data: { a: '1', b: '2' } }, { data: { a: '1' } }, false], // a removal: compared in full
    ['', 'configmaps', { data: { a: '1' } }, { data: { a: '1' } }, false],
    ['', 'configmaps', { metadata: { labels: { x: 'y' } } }, { metadata: { labels: { x: 'z' } } }, true],
    // an atomic map's leaf is its JSON: a reordered nodeSelector is the same document
    ['', 'pods', { spec: { nodeSelector: { a: '1', b: '2' } } }, { spec: { nodeSelector: { b: '2', a: '1' } } }, false],
    ['', 'pods', { spec: { nodeSelector: { a: '1' } } }, { spec: { nodeSelector: { a: '2' } } }, false],
    // under a list-map key (JSON in the path): left to the full comparison
    [
      '',
      'pods',
      { spec: { containers: [{ name: 'c', image: 'a' }] } },
      { spec: { containers: [{ name: 'c', image: 'b' }] } },
      false,
    ],
    // a built-in kind's null is Go's zero value, no field: nothing proves a difference (compared in full)
    ['', 'pods', { spec: { nodeName: undefined } }, { spec: { nodeName: null } }, false],
    ['', 'pods', { spec: {} }, { spec: { nodeName: 'n' } }, true],
  ];
  for (const [g, plural, a, b, want] of cases) {
    const def = findResource(g, 'v1', plural)!;
    const base = (o: unknown) =>
      ({ apiVersion: 'v1', kind: def.kind, ...(o as object), metadata: { name: 'x', ...(o as any).metadata } }) as any;
    const old = base(a);
    const next = base(b);
    const got = recordUpdate(def, { defs: def.definitions ?? {} }, old, next, { manager: 'm', apiVersion: 'v1' });
    assert.equal(got, want, `${plural} ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
    // never claimed for two equal documents
    if (got) assert.equal(jsonEqual(old, next), false);
  }
});
