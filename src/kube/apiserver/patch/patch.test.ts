import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JSONSchemaProps } from '../../api/index.js';
import { applyMergePatch } from './merge.js';
import { applyStrategicPatch } from './strategic.js';
import { serverSideApply } from './apply.js';
import { findResource, type ResourceDefinition } from '../../api/index.js';
import { fieldsV1Of, leaves, toFieldsV1 } from './fieldset.js';

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
  for (const o of objs) {
    const want = JSON.stringify(toFieldsV1(leaves(o, pod.schema, pctx).keys()));
    assert.equal(JSON.stringify(fieldsV1Of(o, pod.schema, pctx)), want);
  }
  assert.equal(JSON.stringify(fieldsV1Of(objs[1], pod.schema, pctx)), '{}');
});
