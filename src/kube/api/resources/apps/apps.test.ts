import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../../index.js';

const now = new Date('2024-01-01T12:00:00Z');
const msgs = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);
const obj = (name: string, spec: Record<string, unknown>, rest: Record<string, unknown> = {}): any => ({
  metadata: { name, namespace: 'default', creationTimestamp: '2024-01-01T11:57:00Z' },
  spec,
  ...rest,
});
const template = (labels: Record<string, string> | undefined, extra: Record<string, unknown> = {}) => ({
  metadata: labels ? { labels } : {},
  spec: {
    containers: [
      { name: 'nginx', image: 'nginx:1.27' },
      { name: 'side', image: 'busybox' },
    ],
    ...extra,
  },
});

test('deployment: upstream defaults', () => {
  const d = findResource('apps', 'v1', 'deploy')!;
  const o = obj('web', { selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) });
  d.defaults!(o);
  assert.equal(o.spec.replicas, 1);
  assert.deepEqual(o.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
  });
  assert.equal(o.spec.revisionHistoryLimit, 10);
  assert.equal(o.spec.progressDeadlineSeconds, 600);
  const ps = o.spec.template.spec;
  assert.equal(ps.restartPolicy, 'Always');
  assert.equal(ps.dnsPolicy, 'ClusterFirst');
  assert.equal(ps.containers[0].imagePullPolicy, 'IfNotPresent');
  assert.equal(ps.containers[1].imagePullPolicy, 'Always');
  assert.equal(ps.serviceAccountName, undefined, 'templates do not get admission defaults');
  assert.deepEqual(d.validate!(o), []);
  assert.deepEqual(d.subresources?.scale, {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
    labelSelectorPath: '.spec.selector',
  });
});

test('deployment: validation messages and paths', () => {
  const d = findResource('apps', 'v1', 'deployments')!;
  const noSel = obj('web', { template: template({ app: 'web' }) });
  d.defaults!(noSel);
  // (a missing selector matches nothing, so upstream also reports the template's labels)
  assert.deepEqual(msgs(d.validate!(noSel)), [
    'spec.selector: Required value',
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
  ]);
  const mismatch = obj('web', {
    selector: { matchLabels: { app: 'web' } },
    template: template({ app: 'api', tier: 'fe' }),
  });
  d.defaults!(mismatch);
  assert.deepEqual(msgs(d.validate!(mismatch)), [
    'spec.template.metadata.labels: Invalid value: map[string]string{"app":"api", "tier":"fe"}: `selector` does not match template `labels`',
  ]);
  const empty = obj('web', { selector: {}, template: template({ app: 'web' }) });
  d.defaults!(empty);
  assert.deepEqual(msgs(d.validate!(empty)), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
  ]);
  const bad = obj('web', {
    replicas: -1,
    selector: { matchLabels: { app: 'web' } },
    template: template({ app: 'web' }, { restartPolicy: 'Never' }),
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } },
    progressDeadlineSeconds: 5,
    minReadySeconds: 10,
  });
  d.defaults!(bad);
  assert.deepEqual(msgs(d.validate!(bad)), [
    'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
    'spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds',
  ]);
  const noImage = obj('web', {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c' }] } },
  });
  d.defaults!(noImage);
  assert.deepEqual(msgs(d.validate!(noImage)), ['spec.template.spec.containers[0].image: Required value']);
  const pct = obj('web', {
    selector: { matchLabels: { app: 'web' } },
    template: template({ app: 'web' }),
    strategy: { type: 'Recreate', rollingUpdate: { maxSurge: '150%' } },
  });
  d.defaults!(pct);
  assert.deepEqual(msgs(d.validate!(pct)), [
    "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
  ]);
});

test('deployment: selector immutable; table', () => {
  const d = findResource('apps', 'v1', 'Deployment')!;
  const o = obj(
    'web',
    { selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) },
    { status: { readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1 } },
  );
  d.defaults!(o);
  const changed = structuredClone(o);
  changed.spec.selector = { matchLabels: { app: 'web2' } };
  assert.deepEqual(msgs(d.validateUpdate!(changed, o)), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  ]);
  assert.deepEqual(
    d.columns.map((c) => `${c.name}${c.priority ? '*' : ''}`),
    ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers*', 'Images*', 'Selector*'],
  );
  assert.deepEqual(d.row(o, now), ['web', '1/1', 2, 1, '3m', 'nginx,side', 'nginx:1.27,busybox', 'app=web']);
});

test('replicaset, daemonset, statefulset: defaults, a validation each, tables', () => {
  const rs = findResource('apps', 'v1', 'rs')!;
  const r = obj(
    'web-abc',
    { selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) },
    { status: { replicas: 2, readyReplicas: 1 } },
  );
  rs.defaults!(r);
  assert.equal(r.spec.replicas, 1);
  assert.deepEqual(rs.row(r, now).slice(0, 5), ['web-abc', 1, 2, 1, '3m']);
  assert.equal(rs.fieldSelectors!['status.replicas'](r), '2');
  const rsBad = structuredClone(r);
  rsBad.spec.template.spec.activeDeadlineSeconds = 5;
  assert.deepEqual(msgs(rs.validate!(rsBad)), [
    'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported',
  ]);

  const ds = findResource('apps', 'v1', 'ds')!;
  const d = obj(
    'agent',
    {
      selector: { matchLabels: { app: 'agent' } },
      template: template({ app: 'agent' }, { nodeSelector: { 'kubernetes.io/os': 'linux' } }),
    },
    {
      status: {
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberReady: 2,
        updatedNumberScheduled: 3,
        numberAvailable: 2,
      },
    },
  );
  ds.defaults!(d);
  assert.deepEqual(d.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.deepEqual(ds.validate!(d), []);
  assert.deepEqual(ds.row(d, now).slice(0, 8), ['agent', 3, 3, 2, 3, 2, 'kubernetes.io/os=linux', '3m']);
  const dsBad = structuredClone(d);
  dsBad.spec.updateStrategy = { type: 'Sometimes' };
  assert.deepEqual(msgs(ds.validate!(dsBad)), [
    'spec.updateStrategy: Unsupported value: apps.DaemonSetUpdateStrategy{Type:"Sometimes", RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}: supported values: "RollingUpdate", "OnDelete"',
  ]);
  dsBad.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '10%' } };
  assert.deepEqual(msgs(ds.validate!(dsBad)), [
    'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"10%"}: may not be set when maxUnavailable is non-zero',
  ]);
  dsBad.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } };
  assert.deepEqual(msgs(ds.validate!(dsBad)), [
    'spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0',
  ]);

  const sts = findResource('apps', 'v1', 'sts')!;
  const s = obj(
    'db',
    {
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: template({ app: 'db' }),
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
    },
    { status: { readyReplicas: 1 } },
  );
  sts.defaults!(s);
  assert.equal(s.spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(s.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.deepEqual(s.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(s.spec.volumeClaimTemplates[0].spec.volumeMode, 'Filesystem');
  assert.deepEqual(sts.validate!(s), []);
  assert.deepEqual(sts.row(s, now), ['db', '1/1', '3m', 'nginx,side', 'nginx:1.27,busybox']);
  const stsBad = structuredClone(s);
  stsBad.spec.podManagementPolicy = 'Random';
  stsBad.spec.updateStrategy = { type: 'OnDelete', rollingUpdate: { partition: 1 } };
  assert.deepEqual(msgs(sts.validate!(stsBad)), [
    "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
    "spec.updateStrategy.rollingUpdate: Invalid value: &apps.RollingUpdateStatefulSetStrategy{...}: only allowed for updateStrategy 'RollingUpdate'",
  ]);
  assert.equal(sts.nameRule, 'label');
  // Mounts may name volumeClaimTemplates: upstream does not validate the template's pod spec.
  const withMount = structuredClone(s);
  withMount.spec.template.spec.containers[0].volumeMounts = [{ name: 'data', mountPath: '/var/lib/db' }];
  assert.deepEqual(sts.validate!(withMount), []);
  const renamed = structuredClone(s);
  renamed.spec.serviceName = 'other';
  assert.match(
    msgs(sts.validateUpdate!(renamed, s))[0],
    /^spec: Forbidden: updates to statefulset spec for fields other than 'replicas'/,
  );
  const history = structuredClone(s);
  history.spec.revisionHistoryLimit = 3;
  assert.equal(sts.validateUpdate!(history, s).length, 1, 'revisionHistoryLimit is immutable upstream');
  const scaled = structuredClone(s);
  scaled.spec.replicas = 5;
  assert.deepEqual(sts.validateUpdate!(scaled, s), []);
});

test('controllerrevision: owner column and immutable data', () => {
  const cr = findResource('apps', 'v1', 'controllerrevisions')!;
  const c = obj('agent-5d4f', {}, { revision: 2, data: { spec: { template: {} } } });
  delete c.spec;
  c.metadata.ownerReferences = [
    { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u', controller: true },
  ];
  assert.deepEqual(cr.row(c, now), ['agent-5d4f', 'daemonset.apps/agent', 2, '3m']);
  const changed = structuredClone(c);
  changed.data = { spec: {} };
  assert.equal(cr.validateUpdate!(changed, c)[0].field, 'data');
  assert.deepEqual(msgs(cr.validate!({ ...c, revision: -1 })), [
    'revision: Invalid value: -1: must be greater than or equal to 0',
  ]);
});

test('Go shapes upstream answers: embedded template metadata, struct statuses, template resources', () => {
  // Found by the kubectl differential against kube-apiserver 1.32.4 (`get -o yaml`).
  const d = findResource('apps', 'v1', 'deploy')!;
  const o = obj('web', {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx', resources: { limits: { cpu: '200m', memory: '1Gi' } } }] },
    },
  });
  d.defaults!(o);
  assert.deepEqual(o.spec.template.metadata, { creationTimestamp: null, labels: { app: 'web' } });
  assert.deepEqual(o.status, {});
  // Requests default to limits on a Pod (SetDefaults_Pod), never in a template.
  assert.deepEqual(o.spec.template.spec.containers[0].resources, { limits: { cpu: '200m', memory: '1Gi' } });
  assert.deepEqual(d.validate!(o), []);
  const noMeta = obj('bare', { selector: { matchLabels: { a: 'b' } }, template: { spec: {} } });
  d.defaults!(noMeta);
  assert.deepEqual(noMeta.spec.template.metadata, { creationTimestamp: null });
  const pod = findResource('', 'v1', 'pods')!;
  const p: any = {
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'nginx', resources: { limits: { cpu: '200m' } } }] },
  };
  pod.defaults!(p);
  assert.deepEqual(p.spec.containers[0].resources, { limits: { cpu: '200m' }, requests: { cpu: '200m' } });
  const job = findResource('batch', 'v1', 'jobs')!;
  const j = obj('j', { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } });
  j.metadata.uid = '6c5a3c0e-0000-4000-8000-000000000001';
  job.defaults!(j);
  assert.equal(j.spec.manualSelector, false);
  assert.equal(j.spec.template.metadata.creationTimestamp, null);
  assert.deepEqual(j.status, {});
  const cj = findResource('batch', 'v1', 'cronjobs')!;
  const c = obj('cj', { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: {} } } } });
  cj.defaults!(c);
  assert.deepEqual(c.spec.jobTemplate.metadata, { creationTimestamp: null });
  assert.deepEqual(c.spec.jobTemplate.spec.template.metadata, { creationTimestamp: null });
  assert.deepEqual(c.status, {});
  const ing = findResource('networking.k8s.io', 'v1', 'ingresses')!;
  const i = obj('i', { defaultBackend: { service: { name: 's', port: { number: 80 } } } });
  ing.defaults!(i);
  assert.deepEqual(i.status, { loadBalancer: {} });
  const quota = findResource('', 'v1', 'resourcequotas')!;
  const q = obj('q', { hard: { pods: '10' } });
  quota.defaults!(q);
  assert.deepEqual(q.status, {});
  // The table shows what the quota controller enforces (status), as upstream's printer.
  assert.deepEqual(quota.row!(q, now).slice(2), ['', '']);
  q.status = { hard: { pods: '10' }, used: { pods: '1' } };
  assert.deepEqual(quota.row!(q, now).slice(2), ['pods: 1/10', '']);
  assert.equal(findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!.hasGeneration, true);
});

test('DaemonSet template generation annotation and StatefulSet claim templates, as upstream answers them', () => {
  const ds = findResource('apps', 'v1', 'daemonsets')!;
  const o = obj('agent', { selector: { matchLabels: { app: 'a' } }, template: template({ app: 'a' }) });
  ds.defaults!(o);
  assert.equal(o.metadata.annotations['deprecated.daemonset.template.generation'], '1');
  const same = structuredClone(o);
  ds.prepareForUpdate!(same, o);
  assert.equal(same.metadata.annotations['deprecated.daemonset.template.generation'], '1');
  const changed = structuredClone(o);
  changed.spec.template.spec.containers[0].image = 'nginx:1.28';
  ds.prepareForUpdate!(changed, o);
  assert.equal(changed.metadata.annotations['deprecated.daemonset.template.generation'], '2');
  const sts = findResource('apps', 'v1', 'statefulsets')!;
  const s = obj('db', {
    selector: { matchLabels: { app: 'db' } },
    template: template({ app: 'db' }),
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }],
  });
  sts.defaults!(s);
  assert.deepEqual(s.spec.volumeClaimTemplates[0].metadata, { name: 'data', creationTimestamp: null });
});
