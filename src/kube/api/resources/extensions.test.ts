// Kinds outside core/apps/batch: autoscaling, discovery, coordination, events, RBAC, CRDs, reviews.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource, isVirtual } from '../index.js';

const now = new Date('2024-01-01T12:00:00Z');
const msgs = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);
const obj = (name: string, rest: Record<string, unknown>, ns: string | undefined = 'default'): any => ({
  metadata: { name, ...(ns ? { namespace: ns } : {}), creationTimestamp: '2024-01-01T11:00:00Z' },
  ...rest,
});

test('hpa: defaults, validation, targets column', () => {
  const hpa = findResource('autoscaling', 'v2', 'hpa')!;
  const h = obj('web', {
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 10, behavior: {} },
  });
  hpa.defaults!(h);
  assert.equal(h.spec.minReplicas, 1);
  assert.deepEqual(h.spec.metrics, [
    { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
  ]);
  assert.equal(h.spec.behavior.scaleDown.policies[0].type, 'Percent');
  assert.deepEqual(hpa.validate!(h), []);
  assert.deepEqual(hpa.row(h, now), ['web', 'Deployment/web', 'cpu: <unknown>/80%', '1', 10, 0, '60m']);
  h.status = {
    currentReplicas: 3,
    currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 42 } } }],
  };
  assert.equal(hpa.row(h, now)[2], 'cpu: 42%/80%');
  const bad = obj('web', { spec: { scaleTargetRef: { kind: 'Deployment' }, minReplicas: 5, maxReplicas: 2 } });
  assert.deepEqual(msgs(hpa.validate!(bad)), [
    'spec.scaleTargetRef.name: Required value',
    'spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`',
  ]);
});

test('endpointslice: address validation, immutable addressType, table', () => {
  const es = findResource('discovery.k8s.io', 'v1', 'endpointslices')!;
  const e = obj('web-abc', {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }, { addresses: ['10.0.0.2'] }],
    ports: [{ name: 'http', port: 80 }],
  });
  es.defaults!(e);
  assert.equal(e.ports[0].protocol, 'TCP');
  assert.deepEqual(es.validate!(e), []);
  assert.deepEqual(es.row(e, now), ['web-abc', 'IPv4', '80', '10.0.0.1,10.0.0.2', '60m']);
  const bad = obj('x', {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['fe80::1'] }, { addresses: [] }],
    ports: [{ port: 0, protocol: 'TCP' }],
  });
  assert.deepEqual(msgs(es.validate!(bad)), [
    'endpoints[0].addresses[0]: Invalid value: "fe80::1": must be a valid IPv4 address',
    'endpoints[1].addresses: Required value: must contain at least 1 address',
    'ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
  ]);
  assert.deepEqual(msgs(es.validateUpdate!({ ...e, addressType: 'IPv6' }, e)), [
    'addressType: Invalid value: "IPv6": field is immutable',
  ]);
});

test('lease and events.k8s.io event', () => {
  const lease = findResource('coordination.k8s.io', 'v1', 'leases')!;
  assert.deepEqual(lease.row(obj('n1', { spec: { holderIdentity: 'n1' } }, 'kube-node-lease'), now), [
    'n1',
    'n1',
    '60m',
  ]);
  assert.deepEqual(msgs(lease.validate!(obj('n1', { spec: { leaseDurationSeconds: 0 } }))), [
    'spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
  ]);
  const ev = findResource('events.k8s.io', 'v1', 'events')!;
  assert.deepEqual(msgs(ev.validate!(obj('e', { type: 'Loud' }))), [
    'eventTime: Required value',
    'reportingController: Required value',
    'reportingInstance: Required value',
    'action: Required value',
    'reason: Required value',
    'type: Unsupported value: "Loud": supported values: "Normal", "Warning"',
  ]);
  const ok = obj('e', {
    eventTime: '2024-01-01T11:59:00.000000Z',
    reportingController: 'skiff.dev/sched',
    reportingInstance: 's-1',
    action: 'Binding',
    reason: 'Scheduled',
    type: 'Normal',
    note: 'assigned',
    regarding: { kind: 'Pod', name: 'p', uid: 'u' },
  });
  assert.deepEqual(ev.validate!(ok), []);
  assert.deepEqual(ev.row(ok, now).slice(0, 7), [
    '60s',
    'Normal',
    'Scheduled',
    'pod/p',
    '',
    'skiff.dev/sched, s-1',
    'assigned',
  ]);
  assert.equal(ev.fieldSelectors!['regarding.uid'](ok), 'u');
});

test('rbac: rule checks, binding checks, roleRef immutable, tables', () => {
  const role = findResource('rbac.authorization.k8s.io', 'v1', 'roles')!;
  assert.equal(role.nameRule, 'path');
  assert.deepEqual(
    msgs(
      role.validate!(
        obj('r', {
          rules: [
            { verbs: [], apiGroups: [''], resources: ['pods'] },
            { verbs: ['get'], nonResourceURLs: ['/healthz'] },
            { verbs: ['get'] },
          ],
        }),
      ),
    ),
    [
      'rules[0].verbs: Required value: verbs must contain at least one value',
      'rules[1].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to non-resource URLs',
      'rules[2].apiGroups: Required value: resource rules must supply at least one api group',
      'rules[2].resources: Required value: resource rules must supply at least one resource',
    ],
  );
  assert.deepEqual(role.row(obj('r', {}), now), ['r', '2024-01-01T11:00:00Z']);
  const cr = findResource('rbac.authorization.k8s.io', 'v1', 'clusterroles')!;
  assert.deepEqual(
    cr.validate!(obj('c', { rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] }, undefined)),
    [],
  );
  assert.deepEqual(
    msgs(
      cr.validate!(
        obj(
          'c',
          {
            aggregationRule: { clusterRoleSelectors: [] },
            rules: [{ verbs: ['get'], resources: ['pods'], apiGroups: [''], nonResourceURLs: ['/x'] }],
          },
          undefined,
        ),
      ),
    ),
    [
      'rules[0].nonResourceURLs: Invalid value: []string{"/x"}: rules cannot apply to both regular resources and non-resource URLs',
      'aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil',
    ],
  );
  const rb = findResource('rbac.authorization.k8s.io', 'v1', 'rolebindings')!;
  const b = obj('b', {
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [
      { kind: 'User', name: 'alice' },
      { kind: 'ServiceAccount', name: 'ci', namespace: 'default' },
      { kind: 'Group', name: 'devs' },
    ],
  });
  rb.defaults!(b);
  assert.equal(b.subjects[0].apiGroup, 'rbac.authorization.k8s.io');
  assert.equal(b.subjects[1].apiGroup, '');
  assert.deepEqual(rb.validate!(b), []);
  assert.deepEqual(rb.row(b, now), ['b', 'ClusterRole/view', '60m', 'alice', 'devs', 'default/ci']);
  const changed = structuredClone(b);
  changed.roleRef.name = 'edit';
  assert.deepEqual(msgs(rb.validateUpdate!(changed, b)), [
    'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: cannot change roleRef',
  ]);
  const crb = findResource('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings')!;
  const cb = obj(
    'cb',
    {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' },
      subjects: [
        { kind: 'ServiceAccount', name: 'sa' },
        { kind: 'Robot', name: 'r2' },
      ],
    },
    undefined,
  );
  crb.defaults!(cb);
  assert.deepEqual(msgs(crb.validate!(cb)), [
    'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
    'subjects[0].namespace: Required value',
    'subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
  ]);
});

test('crd: names, versions, structural schema, defaults', () => {
  const crd = findResource('apiextensions.k8s.io', 'v1', 'crd')!;
  const schema = {
    openAPIV3Schema: {
      type: 'object',
      properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' } } } },
    },
  };
  const c = obj(
    'widgets.example.com',
    {
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema }],
      },
    },
    undefined,
  );
  crd.defaults!(c);
  assert.equal(c.spec.names.singular, 'widget');
  assert.equal(c.spec.names.listKind, 'WidgetList');
  assert.deepEqual(c.spec.conversion, { strategy: 'None' });
  assert.deepEqual(crd.validate!(c), []);
  const bad = obj(
    'gadgets.example.com',
    {
      spec: {
        group: 'example',
        scope: 'Global',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [
          { name: 'v1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'string' } } },
          {
            name: 'v1',
            served: true,
            storage: false,
            schema: {
              openAPIV3Schema: { type: 'object', properties: { spec: { properties: { x: { type: 'array' } } } } },
            },
          },
        ],
      },
    },
    undefined,
  );
  assert.deepEqual(msgs(crd.validate!(bad)), [
    'metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group',
    'spec.group: Invalid value: "example": should be a domain with at least one dot',
    'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
    'spec.versions: Invalid value: []apiextensions.CustomResourceDefinitionVersion{...}: must have exactly one version marked as storage version',
    'spec.versions[0].schema.openAPIV3Schema.type: Invalid value: "string": must be object at the root',
    'spec.versions[1].name: Duplicate value: "v1"',
    'spec.versions[1].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields',
    'spec.versions[1].schema.openAPIV3Schema.properties[spec].properties[x].items: Required value: must be specified',
  ]);
});

test('reviews are create-only and validated', () => {
  for (const [g, p] of [
    ['authorization.k8s.io', 'selfsubjectaccessreviews'],
    ['authorization.k8s.io', 'subjectaccessreviews'],
    ['authorization.k8s.io', 'selfsubjectrulesreviews'],
    ['authentication.k8s.io', 'tokenreviews'],
  ]) {
    const d = findResource(g, 'v1', p)!;
    assert.deepEqual(d.verbs, ['create'], p);
    assert.ok(isVirtual(d));
  }
  assert.ok(!isVirtual(findResource('', 'v1', 'pods')!));
  const sar = findResource('authorization.k8s.io', 'v1', 'subjectaccessreviews')!;
  assert.deepEqual(msgs(sar.validate!(obj('', { spec: {} }, undefined))), [
    'spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    'spec.user: Invalid value: "": at least one of user or group must be specified',
  ]);
  const ssar = findResource('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews')!;
  assert.deepEqual(
    msgs(
      ssar.validate!(
        obj(
          '',
          { spec: { resourceAttributes: { verb: 'get' }, nonResourceAttributes: { path: '/x', verb: 'get' } } },
          undefined,
        ),
      ),
    ),
    [
      'spec.nonResourceAttributes: Invalid value: map[string]string{"path":"/x", "verb":"get"}: cannot be specified in combination with resourceAttributes',
    ],
  );
  const tr = findResource('authentication.k8s.io', 'v1', 'tokenreviews')!;
  assert.deepEqual(msgs(tr.validate!(obj('', { spec: {} }, undefined))), ['spec.token: Required value']);
});
