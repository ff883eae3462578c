import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../../index.js';
import type { KubeObject } from '../../types.js';

const pods = findResource('', 'v1', 'pods')!;
const now = new Date('2024-01-01T12:00:00Z');
const mk = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', creationTimestamp: '2024-01-01T11:55:00Z' },
  spec,
});
const errsOf = (o: KubeObject) => pods.validate!(o).map((e) => `${e.field}: ${e.message}`);

test('pod defaulting of a minimal pod', () => {
  const p = mk({
    containers: [
      { name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] },
      { name: 'd', image: 'busybox:1.36' },
    ],
  }) as any;
  pods.defaults!(p);
  assert.equal(p.spec.restartPolicy, 'Always');
  assert.equal(p.spec.dnsPolicy, 'ClusterFirst');
  assert.equal(p.spec.schedulerName, 'default-scheduler');
  assert.equal(p.spec.terminationGracePeriodSeconds, 30);
  assert.deepEqual(p.spec.securityContext, {});
  assert.equal(p.spec.enableServiceLinks, true);
  // (priority, preemptionPolicy, the service account and the default tolerations are the
  // admission plugins' to add: test/kube/admission.test.ts)
  assert.equal(p.spec.priority, undefined);
  assert.equal(p.spec.serviceAccountName, undefined);
  assert.equal(p.spec.containers[0].imagePullPolicy, 'Always');
  assert.equal(p.spec.containers[1].imagePullPolicy, 'IfNotPresent');
  assert.equal(p.spec.containers[0].terminationMessagePath, '/dev/termination-log');
  assert.equal(p.spec.containers[0].terminationMessagePolicy, 'File');
  assert.equal(p.spec.containers[0].ports[0].protocol, 'TCP');
  assert.equal(p.spec.tolerations, undefined);
  assert.equal(p.status.phase, 'Pending');
  assert.equal(p.status.qosClass, 'BestEffort');
  assert.deepEqual(errsOf(p), []);
  const hn = mk({
    hostNetwork: true,
    containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }],
  }) as any;
  pods.defaults!(hn);
  assert.equal(hn.spec.containers[0].ports[0].hostPort, 8080, 'host network: hostPort defaults to containerPort');
});

test('pod validation: upstream field paths and messages', () => {
  const p = mk({ containers: [{ name: 'c' }], restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' });
  assert.deepEqual(errsOf(p), ['spec.containers[0].image: Required value']);
  const q = mk({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' });
  assert.deepEqual(errsOf(q), ['spec.containers: Required value']);
  const r = mk({
    restartPolicy: 'Sometimes',
    dnsPolicy: 'ClusterFirst',
    containers: [
      {
        name: 'c',
        image: 'x',
        ports: [
          { containerPort: 0, protocol: 'TCP' },
          { containerPort: 70000, protocol: 'TCP' },
        ],
        volumeMounts: [{ name: 'nope', mountPath: '/x' }],
      },
      { name: 'c', image: 'y' },
    ],
  });
  assert.deepEqual(errsOf(r), [
    'spec.containers[0].ports[0].containerPort: Required value',
    'spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    'spec.containers[0].volumeMounts[0].name: Not found: "nope"',
    'spec.containers[1].name: Duplicate value: "c"',
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  ]);
  const s = mk({
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }],
  });
  assert.deepEqual(errsOf(s), [
    'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
  ]);
});

test('pod update: only images and a few fields may change', () => {
  const old = mk({ containers: [{ name: 'c', image: 'x' }] });
  pods.defaults!(old);
  const img = structuredClone(old) as any;
  img.spec.containers[0].image = 'y';
  assert.deepEqual(pods.validateUpdate!(img, old), []);
  const bad = structuredClone(old) as any;
  bad.spec.restartPolicy = 'Never';
  const errs = pods.validateUpdate!(bad, old);
  assert.equal(errs.length, 1);
  assert.equal(errs[0].field, 'spec');
  assert.match(
    errs[0].message,
    /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/,
  );
  assert.match(errs[0].message, /\n  changed: spec.restartPolicy$/);
});

test('pod table row: ready, status reasons, restarts', () => {
  const p = mk({
    containers: [
      { name: 'a', image: 'x' },
      { name: 'b', image: 'x' },
    ],
    nodeName: 'n1',
  }) as any;
  p.status = {
    phase: 'Running',
    podIP: '10.0.0.5',
    containerStatuses: [
      { name: 'a', ready: true, restartCount: 0, state: { running: {} } },
      {
        name: 'b',
        ready: false,
        restartCount: 3,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1, finishedAt: '2024-01-01T11:58:00Z' } },
      },
    ],
  };
  assert.deepEqual(pods.row(p, now), [
    'p',
    '1/2',
    'CrashLoopBackOff',
    '3 (2m ago)',
    '5m',
    '10.0.0.5',
    'n1',
    '<none>',
    '<none>',
  ]);
  assert.deepEqual(
    pods.columns.map((c) => c.name),
    ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates'],
  );
  const init = mk({ initContainers: [{ name: 'i', image: 'x' }], containers: [{ name: 'a', image: 'x' }] }) as any;
  init.status = {
    phase: 'Pending',
    initContainerStatuses: [{ name: 'i', ready: false, restartCount: 0, state: { running: {} } }],
  };
  assert.equal(pods.row(init, now)[2], 'Init:0/1');
  init.metadata.deletionTimestamp = '2024-01-01T12:00:00Z';
  assert.equal(pods.row(init, now)[2], 'Terminating');
  assert.equal(pods.fieldSelectors!['spec.nodeName'](p), 'n1');
  assert.equal(pods.fieldSelectors!['status.phase'](p), 'Running');
});

test('pod QoS class from requests and limits', () => {
  const qos = (resources: Record<string, unknown>[]) => {
    const p = mk({ containers: resources.map((r, i) => ({ name: `c${i}`, image: 'x', resources: r })) }) as any;
    pods.defaults!(p);
    return p.status.qosClass;
  };
  assert.equal(qos([{ limits: { cpu: '1', memory: '1Gi' } }]), 'Guaranteed', 'requests default to limits');
  assert.equal(
    qos([{ requests: { cpu: '1000m', memory: '1024Mi' }, limits: { cpu: '1', memory: '1Gi' } }]),
    'Guaranteed',
    'equal quantities in other units',
  );
  assert.equal(qos([{ requests: { cpu: '500m' } }]), 'Burstable');
  assert.equal(qos([{}, {}]), 'BestEffort');
});

test('pod scheduling constraints and security contexts are validated', () => {
  const p = mk({
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
    containers: [
      {
        name: 'a',
        image: 'x',
        ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }],
        securityContext: { privileged: true, allowPrivilegeEscalation: false },
      },
      { name: 'b', image: 'x', ports: [{ containerPort: 81, hostPort: 8080, protocol: 'TCP' }] },
    ],
    securityContext: { runAsUser: -1 },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'zone', operator: 'In' },
                { key: 'n', operator: 'Gt', values: ['1', '2'] },
              ],
            },
          ],
        },
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 0, podAffinityTerm: { labelSelector: { matchLabels: { app: 'x' } } } },
        ],
      },
    },
    topologySpreadConstraints: [{ maxSkew: 0, topologyKey: 'zone', whenUnsatisfiable: 'Maybe' }],
  });
  assert.deepEqual(errsOf(p), [
    "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
    'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100',
    'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey: Required value: can not be empty',
    'spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero',
    'spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe": supported values: "DoNotSchedule", "ScheduleAnyway"',
    'spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive',
    'spec.containers[0].securityContext: Invalid value: "": cannot set `allowPrivilegeEscalation` to false and `privileged` to true',
    'spec.containers[1].ports[0].hostPort: Duplicate value: "8080/TCP"',
  ]);
});

test('ephemeral containers may only be added', async () => {
  const { validateEphemeralContainersUpdate } = await import('../../index.js');
  const old = mk({ containers: [{ name: 'c', image: 'x' }] }) as any;
  pods.defaults!(old);
  const added = structuredClone(old);
  added.spec.ephemeralContainers = [
    { name: 'debug', image: 'busybox', terminationMessagePolicy: 'File', imagePullPolicy: 'Always' },
  ];
  assert.deepEqual(validateEphemeralContainersUpdate(added.spec, old.spec), []);
  const removed = structuredClone(old);
  assert.deepEqual(
    validateEphemeralContainersUpdate(removed.spec, added.spec).map((e) => `${e.field}: ${e.message}`),
    ['spec.ephemeralContainers[0]: Forbidden: existing ephemeral containers "debug" may not be removed'],
  );
  const other = structuredClone(added);
  other.spec.restartPolicy = 'Never';
  assert.equal(validateEphemeralContainersUpdate(other.spec, added.spec)[0].field, 'spec');
});

test("pod status addresses: podIP alone fills podIPs, podIPs alone fills podIP (upstream's conversion)", () => {
  const addr = (status: Record<string, unknown>) => {
    const p = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [] },
      status,
    } as KubeObject;
    pods.defaults!(p);
    const s = p.status as Record<string, unknown>;
    return [s.podIP, s.podIPs, s.hostIP, s.hostIPs];
  };
  assert.deepEqual(addr({ podIP: '10.0.0.5', hostIP: '192.0.2.1' }), [
    '10.0.0.5',
    [{ ip: '10.0.0.5' }],
    '192.0.2.1',
    [{ ip: '192.0.2.1' }],
  ]);
  assert.deepEqual(addr({ podIPs: [{ ip: '10.0.0.6' }, { ip: 'fd00::6' }] }), [
    '10.0.0.6',
    [{ ip: '10.0.0.6' }, { ip: 'fd00::6' }],
    undefined,
    undefined,
  ]);
  // Both given and different: podIP wins, as for older clients upstream.
  assert.deepEqual(addr({ podIP: '10.0.0.7', podIPs: [{ ip: '10.0.0.8' }] })[1], [{ ip: '10.0.0.7' }]);
  assert.deepEqual(addr({}), [undefined, undefined, undefined, undefined]);
});
