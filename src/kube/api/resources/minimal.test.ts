// Breadth: every kind served accepts a minimal valid object after defaulting, and its table row
// has one cell per column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allResources } from '../index.js';
import type { KubeObject } from '../types.js';

const tmpl = (labels: Record<string, string>, restartPolicy?: string) => ({
  metadata: { labels },
  spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: 'c', image: 'busybox:1.36' }] },
});
const sel = { matchLabels: { app: 'x' } };

const MINIMAL: Record<string, Record<string, unknown>> = {
  'v1/Namespace': {},
  'v1/Pod': { spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  'v1/Service': { spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } },
  'v1/Endpoints': { subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] },
  'v1/ConfigMap': { data: { a: 'b' } },
  'v1/Secret': { stringData: { a: 'b' } },
  'v1/ServiceAccount': {},
  'v1/Node': { status: { capacity: { cpu: '2', memory: '4Gi' } } },
  'v1/Event': {
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
    reason: 'Started',
    message: 'ok',
    type: 'Normal',
  },
  'v1/PersistentVolume': {
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp/x' } },
  },
  'v1/PersistentVolumeClaim': { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
  'v1/LimitRange': { spec: { limits: [{ type: 'Container', default: { cpu: '500m' } }] } },
  'v1/ResourceQuota': { spec: { hard: { pods: '10' } } },
  'v1/ReplicationController': { spec: { selector: { app: 'x' }, template: tmpl({ app: 'x' }) } },
  'apps/v1/Deployment': { spec: { selector: sel, template: tmpl({ app: 'x' }) } },
  'apps/v1/ReplicaSet': { spec: { selector: sel, template: tmpl({ app: 'x' }) } },
  'apps/v1/DaemonSet': { spec: { selector: sel, template: tmpl({ app: 'x' }) } },
  'apps/v1/StatefulSet': { spec: { selector: sel, serviceName: 'x', template: tmpl({ app: 'x' }) } },
  'apps/v1/ControllerRevision': { revision: 1, data: { spec: {} } },
  'batch/v1/Job': { spec: { template: tmpl({}, 'Never') } },
  'batch/v1/CronJob': { spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: tmpl({}, 'OnFailure') } } } },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 5 },
  },
  'autoscaling/v1/HorizontalPodAutoscaler': {
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      maxReplicas: 5,
      targetCPUUtilizationPercentage: 50,
    },
  },
  'discovery.k8s.io/v1/EndpointSlice': {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'] }],
    ports: [{ port: 80 }],
  },
  'coordination.k8s.io/v1/Lease': { spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
  'events.k8s.io/v1/Event': {
    eventTime: '2024-01-01T00:00:00.000000Z',
    reportingController: 'skiff.dev/x',
    reportingInstance: 'x-1',
    action: 'Sync',
    reason: 'Synced',
    type: 'Normal',
    regarding: { kind: 'Pod', name: 'p' },
  },
  'rbac.authorization.k8s.io/v1/Role': { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
  'rbac.authorization.k8s.io/v1/ClusterRole': { rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
    subjects: [{ kind: 'User', name: 'alice' }],
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'r' },
    subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'default' }],
  },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': {
    spec: {
      group: 'example.com',
      names: { plural: 'widgets', kind: 'Widget' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
            },
          },
        },
      ],
    },
  },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    spec: { resourceAttributes: { verb: 'get', resource: 'pods' } },
  },
  'authorization.k8s.io/v1/SubjectAccessReview': {
    spec: { user: 'alice', resourceAttributes: { verb: 'get', resource: 'pods' } },
  },
  'authorization.k8s.io/v1/LocalSubjectAccessReview': {
    spec: { user: 'alice', resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } },
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': { spec: { namespace: 'default' } },
  'authentication.k8s.io/v1/TokenReview': { spec: { token: 'abc' } },
  'authentication.k8s.io/v1/SelfSubjectReview': {},
  'policy/v1/PodDisruptionBudget': { spec: { minAvailable: 1, selector: { matchLabels: { app: 'x' } } } },
  'networking.k8s.io/v1/Ingress': {
    spec: {
      rules: [
        {
          host: 'example.com',
          http: {
            paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }],
          },
        },
      ],
    },
  },
  'networking.k8s.io/v1/IngressClass': { spec: { controller: 'example.com/ingress' } },
  'networking.k8s.io/v1/NetworkPolicy': {
    spec: {
      podSelector: {},
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'x' } } }], ports: [{ port: 80 }] }],
    },
  },
  'storage.k8s.io/v1/StorageClass': { provisioner: 'rancher.io/local-path' },
  'scheduling.k8s.io/v1/PriorityClass': { value: 1000 },
  'certificates.k8s.io/v1/CertificateSigningRequest': {
    spec: {
      request: Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nMA==\n-----END CERTIFICATE REQUEST-----\n').toString(
        'base64',
      ),
      signerName: 'kubernetes.io/kube-apiserver-client',
      usages: ['client auth'],
    },
  },
  'storage.k8s.io/v1/CSIDriver': { spec: {} },
  'storage.k8s.io/v1/CSINode': { spec: { drivers: [{ name: 'csi.example.com', nodeID: 'n1' }] } },
  'storage.k8s.io/v1/VolumeAttachment': {
    spec: { attacher: 'csi.example.com', nodeName: 'n1', source: { persistentVolumeName: 'pv1' } },
  },
  'storage.k8s.io/v1/CSIStorageCapacity': { storageClassName: 'local', capacity: '10Gi' },
};

test('every kind has a minimal valid object; defaults keep it valid; rows match columns', () => {
  const now = new Date('2024-01-02T00:00:00Z');
  const seen = new Set<string>();
  for (const def of allResources()) {
    const key = `${def.group ? `${def.group}/` : ''}${def.version}/${def.kind}`;
    seen.add(key);
    const body = MINIMAL[key];
    assert.ok(body, `no minimal object for ${key}`);
    const name = def.kind === 'CustomResourceDefinition' ? 'widgets.example.com' : 'x';
    const obj: KubeObject = {
      apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
      kind: def.kind,
      metadata: {
        name,
        uid: '0d4c5e2a-1111-2222-3333-444455556666',
        creationTimestamp: '2024-01-01T00:00:00Z',
        ...(def.namespaced ? { namespace: 'default' } : {}),
      },
      ...structuredClone(body),
    };
    def.defaults?.(obj);
    const again = structuredClone(obj);
    def.defaults?.(again);
    assert.deepEqual(again, obj, `${key} defaulting is idempotent (it runs again on every update)`);
    assert.deepEqual(def.validate?.(obj) ?? [], [], `${key} validates`);
    assert.deepEqual(def.validateUpdate?.(structuredClone(obj), obj) ?? [], [], `${key} unchanged update validates`);
    const row = def.row(obj, now);
    assert.equal(row.length, def.columns.length, `${key} row/columns`);
  }
  assert.deepEqual(
    Object.keys(MINIMAL).filter((k) => !seen.has(k)),
    [],
  );
});

// Robustness: defaulting runs before schema validation, so every hook must survive any JSON.
test('defaults, validate, validateUpdate and row never throw on malformed objects', () => {
  const ITERATIONS = Number(process.env.SKIFF_FUZZ_ITERATIONS ?? 60);
  let seed = Number(process.env.SKIFF_FUZZ_SEED) || 15255;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const WEIRD: unknown[] = [
    null,
    'x',
    '',
    0,
    -1,
    1.5,
    true,
    [],
    {},
    [null],
    [1, 'a'],
    { a: null },
    '-5Gi',
    'In',
    [{}],
    { matchLabels: 'x' },
  ];
  const mutate = (v: unknown, depth: number): unknown => {
    if (depth > 6 || rnd() < 0.15) return structuredClone(WEIRD[Math.floor(rnd() * WEIRD.length)]);
    if (Array.isArray(v)) return v.map((x) => mutate(x, depth + 1));
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, k === 'name' || k === 'uid' ? x : mutate(x, depth + 1)]),
      );
    return v;
  };
  const now = new Date();
  for (const def of allResources()) {
    const key = `${def.group ? `${def.group}/` : ''}${def.version}/${def.kind}`;
    for (let i = 0; i < ITERATIONS; i++) {
      const base = {
        metadata: {
          name: 'x',
          namespace: 'default',
          uid: 'u',
          labels: { a: 'b' },
          annotations: { c: 'd' },
          ownerReferences: [{ kind: 'X', name: 'y', controller: true }],
        },
        ...(structuredClone(MINIMAL[key]) as object),
      };
      const obj = mutate(base, 0) as KubeObject;
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) continue;
      if (!obj.metadata || typeof obj.metadata !== 'object') obj.metadata = { name: 'x' };
      try {
        def.defaults?.(obj);
        def.validate?.(obj);
        const old = mutate(base, 1);
        if (old && typeof old === 'object' && !Array.isArray(old)) def.validateUpdate?.(obj, old as KubeObject);
        def.row(obj, now);
        for (const f of Object.values(def.fieldSelectors ?? {})) f(obj);
      } catch (e) {
        assert.fail(`${key} threw on ${JSON.stringify(obj)}: ${(e as Error).stack}`);
      }
    }
  }
});
