// Upstream's default admission plugins on the write pipeline (in-process API server on the memory
// store, with the whole default set as `skiff server` runs it): DefaultTolerationSeconds,
// Priority, ServiceAccount (the projected token volume), LimitRanger, ResourceQuota (the
// admission side; the test plays the quota controller by writing status), PodSecurity and
// DefaultStorageClass — each with upstream's effects and messages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApiServer, defaultAdmissionPlugins, type ApiServer } from '../../src/kube/apiserver/index.js';
import { allResources } from '../../src/kube/api/index.js';
import { createMemoryStore } from '../../src/kube/storage/index.js';

let api: ApiServer, base: string;
const rnd = () => Math.random().toString(36).slice(2, 7);

async function call(method: string, path: string, body?: unknown) {
  const r = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json, warning: r.headers.get('warning') ?? '' };
}
const ok = (r: { status: number; body: any }, what: string) => {
  assert.ok(r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};
/** A namespace with a `default` ServiceAccount (the controller's job in a full cluster). */
async function namespace(labels: Record<string, string> = {}): Promise<string> {
  const ns = `adm-${rnd()}`;
  ok(await call('POST', '/api/v1/namespaces', { metadata: { name: ns, labels } }), 'namespace');
  ok(await call('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'default' } }), 'sa');
  return ns;
}
const pod = (name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...meta },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

before(async () => {
  api = createApiServer({
    store: createMemoryStore(),
    resources: allResources(),
    admission: defaultAdmissionPlugins(),
  });
  base = (await api.listen(0)).url;
});
after(async () => {
  await api.close();
});

describe('DefaultTolerationSeconds', () => {
  it('adds the not-ready and unreachable NoExecute tolerations (300 s) a pod lacks', async () => {
    const ns = await namespace();
    const p = ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('t1')), 'pod');
    assert.deepEqual(p.spec.tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    const own = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 };
    const p2 = ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('t2', { tolerations: [own] })), 'pod2');
    assert.deepEqual(
      p2.spec.tolerations.map((t: any) => `${t.key}=${t.tolerationSeconds}`),
      ['node.kubernetes.io/not-ready=5', 'node.kubernetes.io/unreachable=300'],
    );
    const all = ok(
      await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('t3', { tolerations: [{ operator: 'Exists' }] })),
      'pod3',
    );
    assert.deepEqual(all.spec.tolerations, [{ operator: 'Exists' }]);
  });
});

describe('Priority', () => {
  const PC = '/apis/scheduling.k8s.io/v1/priorityclasses';
  it('resolves priorityClassName (system classes exist), defaults to 0, refuses unknown or mismatched', async () => {
    const ns = await namespace();
    const plain = ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('p0')), 'pod');
    assert.equal(plain.spec.priority, 0);
    assert.equal(plain.spec.preemptionPolicy, 'PreemptLowerPriority');
    const crit = ok(
      await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('p1', { priorityClassName: 'system-cluster-critical' })),
      'critical',
    );
    assert.equal(crit.spec.priority, 2000000000);
    const name = `never-${rnd()}`;
    ok(await call('POST', PC, { metadata: { name }, value: 500, preemptionPolicy: 'Never' }), 'class');
    const p2 = ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('p2', { priorityClassName: name })), 'p2');
    assert.deepEqual([p2.spec.priority, p2.spec.preemptionPolicy], [500, 'Never']);
    const missing = await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('p3', { priorityClassName: 'nope' }));
    assert.equal(missing.status, 403);
    assert.equal(missing.body.message, 'pods "p3" is forbidden: no PriorityClass with name nope was found');
    const wrong = await call(
      'POST',
      `/api/v1/namespaces/${ns}/pods`,
      pod('p4', { priorityClassName: name, priority: 7 }),
    );
    assert.equal(
      wrong.body.message,
      `pods "p4" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 500 from the given PriorityClass name`,
    );
  });

  it('a global default class applies to pods without a class; only one default may exist', async () => {
    const ns = await namespace();
    const d = `default-${rnd()}`;
    ok(await call('POST', PC, { metadata: { name: d }, value: 1000, globalDefault: true }), 'default class');
    try {
      const p = ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('pd')), 'pod');
      assert.deepEqual([p.spec.priorityClassName, p.spec.priority], [d, 1000]);
      const second = await call('POST', PC, { metadata: { name: `second-${rnd()}` }, value: 1, globalDefault: true });
      assert.equal(second.status, 403);
      assert.match(
        second.body.message,
        new RegExp(`PriorityClass ${d} is marked as default. Only one default can exist$`),
      );
    } finally {
      ok(await call('DELETE', `${PC}/${d}`), 'delete default class');
    }
  });
});

describe('ServiceAccount', () => {
  it('mounts the projected token volume kube-api-access-xxxxx in every container, as upstream', async () => {
    const ns = await namespace();
    const p = ok(
      await call(
        'POST',
        `/api/v1/namespaces/${ns}/pods`,
        pod('sa1', {
          initContainers: [{ name: 'init', image: 'busybox' }],
          containers: [
            { name: 'a', image: 'busybox' },
            {
              name: 'b',
              image: 'busybox',
              volumeMounts: [{ name: 'own', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
            },
          ],
          volumes: [{ name: 'own', emptyDir: {} }],
        }),
      ),
      'pod',
    );
    assert.equal(p.spec.serviceAccountName, 'default');
    assert.equal(p.spec.serviceAccount, 'default');
    const vol = p.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    assert.match(vol.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.deepEqual(vol.projected, {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    });
    const mount = { name: vol.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' };
    assert.deepEqual(p.spec.initContainers[0].volumeMounts, [mount]);
    assert.deepEqual(p.spec.containers[0].volumeMounts, [mount]);
    assert.deepEqual(p.spec.containers[1].volumeMounts.length, 1, 'a container with its own mount there keeps it');
  });

  it('honours automountServiceAccountToken (pod over account), copies imagePullSecrets, refuses a missing account', async () => {
    const ns = await namespace();
    ok(
      await call('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
        metadata: { name: 'quiet' },
        automountServiceAccountToken: false,
        imagePullSecrets: [{ name: 'regcred' }],
      }),
      'sa',
    );
    const q = ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('q1', { serviceAccountName: 'quiet' })), 'q1');
    assert.equal(q.spec.volumes, undefined);
    assert.deepEqual(q.spec.imagePullSecrets, [{ name: 'regcred' }]);
    const loud = ok(
      await call(
        'POST',
        `/api/v1/namespaces/${ns}/pods`,
        pod('q2', { serviceAccountName: 'quiet', automountServiceAccountToken: true }),
      ),
      'q2',
    );
    assert.equal(loud.spec.volumes.length, 1);
    const off = ok(
      await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('q3', { automountServiceAccountToken: false })),
      'q3',
    );
    assert.equal(off.spec.volumes, undefined);
    const missing = await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('q4', { serviceAccountName: 'ghost' }));
    assert.equal(missing.status, 403);
    assert.equal(
      missing.body.message,
      `pods "q4" is forbidden: error looking up service account ${ns}/ghost: serviceaccount "ghost" not found`,
    );
    const mirror = await call(
      'POST',
      `/api/v1/namespaces/${ns}/pods`,
      pod('m', { serviceAccountName: 'quiet' }, { annotations: { 'kubernetes.io/config.mirror': 'x' } }),
    );
    assert.equal(mirror.body.message, 'pods "m" is forbidden: a mirror pod may not reference service accounts');
  });

  it('waits a little for the default account the controller is about to create', async () => {
    const ns = `adm-${rnd()}`;
    ok(await call('POST', '/api/v1/namespaces', { metadata: { name: ns } }), 'namespace');
    const creating = call('POST', `/api/v1/namespaces/${ns}/pods`, pod('late'));
    await new Promise((r) => setTimeout(r, 150));
    ok(await call('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'default' } }), 'sa');
    ok(await creating, 'pod created once the account appeared');
  });
});

describe('LimitRanger', () => {
  const LR = (ns: string) => `/api/v1/namespaces/${ns}/limitranges`;
  it('defaults container resources from the Container item (annotated) and the QoS class follows', async () => {
    const ns = await namespace();
    ok(
      await call('POST', LR(ns), {
        metadata: { name: 'lr' },
        spec: {
          limits: [{ type: 'Container', default: { cpu: '500m', memory: '128Mi' }, defaultRequest: { cpu: '100m' } }],
        },
      }),
      'limitrange',
    );
    const p = ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('d1')), 'pod');
    assert.deepEqual(p.spec.containers[0].resources, {
      limits: { cpu: '500m', memory: '128Mi' },
      requests: { cpu: '100m', memory: '128Mi' },
    });
    assert.equal(
      p.metadata.annotations['kubernetes.io/limit-ranger'],
      'LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c',
    );
    assert.equal(p.status.qosClass, 'Burstable');
    // What a container states stays.
    const own = ok(
      await call(
        'POST',
        `/api/v1/namespaces/${ns}/pods`,
        pod('d2', {
          containers: [
            {
              name: 'c',
              image: 'x',
              resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } },
            },
          ],
        }),
      ),
      'own',
    );
    assert.equal(own.metadata.annotations?.['kubernetes.io/limit-ranger'], undefined);
    assert.equal(own.status.qosClass, 'Guaranteed');
  });

  it('refuses what breaks min, max and maxLimitRequestRatio, every violation at once', async () => {
    const ns = await namespace();
    ok(
      await call('POST', LR(ns), {
        metadata: { name: 'bounds' },
        spec: {
          limits: [
            { type: 'Container', max: { cpu: '1' }, min: { memory: '64Mi' }, maxLimitRequestRatio: { cpu: '2' } },
            { type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '10Gi' } },
          ],
        },
      }),
      'limitrange',
    );
    const r = await call(
      'POST',
      `/api/v1/namespaces/${ns}/pods`,
      pod('b1', {
        containers: [
          {
            name: 'c',
            image: 'x',
            resources: { requests: { cpu: '500m', memory: '32Mi' }, limits: { cpu: '2', memory: '32Mi' } },
          },
        ],
      }),
    );
    assert.equal(r.status, 403);
    assert.equal(
      r.body.message,
      'pods "b1" is forbidden: [minimum memory usage per Container is 64Mi, but request is 32Mi, maximum cpu usage per Container is 1, but limit is 2, cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000]',
    );
    // A missing limit takes the default, which LimitRange defaulting took from max (upstream's
    // SetDefaults_LimitRangeItem): 1 CPU against a 100m request is a ratio of 10.
    const defaulted = await call(
      'POST',
      `/api/v1/namespaces/${ns}/pods`,
      pod('b2', { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] }),
    );
    assert.equal(
      defaulted.body.message,
      'pods "b2" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 10.000000',
    );
    const pvc = (name: string, storage: string) => ({
      metadata: { name },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', resources: { requests: { storage } } },
    });
    const small = await call('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc('small', '500Mi'));
    assert.equal(
      small.body.message,
      'persistentvolumeclaims "small" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi',
    );
    const big = await call('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc('big', '20Gi'));
    assert.equal(
      big.body.message,
      'persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi',
    );
    ok(await call('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, pvc('fine', '5Gi')), 'fine pvc');
  });
});

describe('ResourceQuota (admission)', () => {
  const RQ = (ns: string) => `/api/v1/namespaces/${ns}/resourcequotas`;
  /** Creates a quota and plays the quota controller: status.hard = spec.hard, used as given. */
  async function quota(ns: string, name: string, hard: Record<string, string>, used?: Record<string, string>) {
    ok(await call('POST', RQ(ns), { metadata: { name }, spec: { hard } }), 'quota');
    const q = ok(await call('GET', `${RQ(ns)}/${name}`), 'get quota');
    q.status = { hard, ...(used ? { used } : {}) };
    ok(await call('PUT', `${RQ(ns)}/${name}/status`, q), 'quota status');
  }
  const cpuPod = (name: string, cpu?: string) =>
    pod(name, {
      containers: [{ name: 'c', image: 'x', resources: cpu ? { requests: { cpu }, limits: { cpu } } : {} }],
    });

  it('charges admitted usage to status.used and refuses what would exceed a hard limit', async () => {
    const ns = await namespace();
    await quota(ns, 'compute', { pods: '2', 'requests.cpu': '1' }, { pods: '0', 'requests.cpu': '0' });
    ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, cpuPod('a', '500m')), 'first pod');
    const q = ok(await call('GET', `${RQ(ns)}/compute`), 'quota');
    assert.deepEqual(q.status.used, { pods: '1', 'requests.cpu': '500m' });
    const over = await call('POST', `/api/v1/namespaces/${ns}/pods`, cpuPod('b', '600m'));
    assert.equal(over.status, 403);
    assert.equal(
      over.body.message,
      'pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1',
    );
    const missing = await call('POST', `/api/v1/namespaces/${ns}/pods`, cpuPod('c'));
    assert.equal(
      missing.body.message,
      'pods "c" is forbidden: failed quota: compute: must specify requests.cpu for: c',
    );
    // dry-run measures without charging
    ok(await call('POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, cpuPod('d', '500m')), 'dry run');
    assert.deepEqual(ok(await call('GET', `${RQ(ns)}/compute`), 'quota').status.used, {
      pods: '1',
      'requests.cpu': '500m',
    });
  });

  it('refuses while the controller has not counted a resource yet; counts other kinds by count/…', async () => {
    const ns = await namespace();
    await quota(ns, 'uncounted', { 'count/configmaps': '1' });
    const r = await call('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'x' } });
    assert.equal(r.status, 403);
    assert.equal(
      r.body.message,
      'configmaps "x" is forbidden: status unknown for quota: uncounted, resources: count/configmaps',
    );
    const ns2 = await namespace();
    await quota(ns2, 'cms', { 'count/configmaps': '1', configmaps: '1' }, { 'count/configmaps': '0', configmaps: '0' });
    ok(await call('POST', `/api/v1/namespaces/${ns2}/configmaps`, { metadata: { name: 'one' } }), 'first');
    const second = await call('POST', `/api/v1/namespaces/${ns2}/configmaps`, { metadata: { name: 'two' } });
    assert.equal(
      second.body.message,
      'configmaps "two" is forbidden: exceeded quota: cms, requested: configmaps=1,count/configmaps=1, used: configmaps=1,count/configmaps=1, limited: configmaps=1,count/configmaps=1',
    );
  });

  it('concurrent creates never take more than the quota allows', async () => {
    const ns = await namespace();
    await quota(ns, 'three', { pods: '3' }, { pods: '0' });
    const rs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => call('POST', `/api/v1/namespaces/${ns}/pods`, pod(`c${i}`))),
    );
    assert.equal(rs.filter((r) => r.status === 201).length, 3, rs.map((r) => r.status).join(','));
    assert.deepEqual(ok(await call('GET', `${RQ(ns)}/three`), 'quota').status.used, { pods: '3' });
  });
});

describe('PodSecurity', () => {
  const L = 'pod-security.kubernetes.io/';
  const restrictedMessage = (name: string, c = 'c') =>
    `allowPrivilegeEscalation != false (container "${c}" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "${c}" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "${c}" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "${c}" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`;
  const compliant = (name: string) =>
    pod(name, {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'c',
          image: 'x',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    });

  it('enforce=baseline refuses privileged and host namespaces, in upstream words', async () => {
    const ns = await namespace({ [`${L}enforce`]: 'baseline' });
    const r = await call(
      'POST',
      `/api/v1/namespaces/${ns}/pods`,
      pod('priv', {
        hostNetwork: true,
        hostPID: true,
        containers: [
          {
            name: 'c',
            image: 'x',
            securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN', 'CHOWN'] } },
          },
        ],
      }),
    );
    assert.equal(r.status, 403);
    assert.equal(
      r.body.message,
      'pods "priv" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "c" must not include "SYS_ADMIN" in securityContext.capabilities.add), host namespaces (hostNetwork=true, hostPID=true), privileged (container "c" must not set securityContext.privileged=true)',
    );
    ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('plain')), 'a baseline pod');
  });

  it('enforce=restricted refuses a default pod (the token volume is allowed) and admits a compliant one', async () => {
    const ns = await namespace({ [`${L}enforce`]: 'restricted' });
    const r = await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('r1'));
    assert.equal(r.status, 403);
    assert.equal(
      r.body.message,
      `pods "r1" is forbidden: violates PodSecurity "restricted:latest": ${restrictedMessage('r1')}`,
    );
    ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, compliant('r2')), 'compliant pod');
    const hp = await call('POST', `/api/v1/namespaces/${ns}/pods`, {
      ...compliant('r3'),
      spec: { ...compliant('r3').spec, volumes: [{ name: 'h', hostPath: { path: '/etc' } }] },
    });
    assert.match(hp.body.message, /restricted volume types \(volume "h" uses restricted volume type "hostPath"\)$/);
  });

  it('warn adds a Warning for pods and workloads; enforce does not refuse workloads', async () => {
    const ns = await namespace({
      [`${L}warn`]: 'restricted',
      [`${L}enforce`]: 'baseline',
      [`${L}enforce-version`]: 'v1.30',
    });
    const p = await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('w1'));
    assert.equal(p.status, 201);
    assert.equal(
      p.warning,
      `299 - ${JSON.stringify(`would violate PodSecurity "restricted:latest": ${restrictedMessage('w1')}`)}`,
    );
    const d = await call('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      metadata: { name: 'dep' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: { containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] },
        },
      },
    });
    assert.equal(d.status, 201);
    assert.match(
      d.warning,
      /would violate PodSecurity \\"restricted:latest\\": privileged \(container \\"c\\" must not set securityContext.privileged=true\)/,
    );
  });

  it('refuses invalid labels on a namespace; raising enforce warns about the pods already there', async () => {
    const bad = await call('POST', '/api/v1/namespaces', {
      metadata: { name: `bad-${rnd()}`, labels: { [`${L}enforce`]: 'strict' } },
    });
    assert.equal(bad.status, 422);
    assert.match(
      bad.body.message,
      /is invalid: metadata\.labels\[pod-security\.kubernetes\.io\/enforce\]: Invalid value: "strict": must be one of privileged, baseline, restricted$/,
    );
    const ns = await namespace();
    ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('e1')), 'e1');
    ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, pod('e2')), 'e2');
    ok(await call('POST', `/api/v1/namespaces/${ns}/pods`, compliant('e3')), 'e3');
    const nsObj = ok(await call('GET', `/api/v1/namespaces/${ns}`), 'ns');
    nsObj.metadata.labels[`${L}enforce`] = 'restricted';
    const r = await call('PUT', `/api/v1/namespaces/${ns}`, nsObj);
    assert.equal(r.status, 200);
    assert.equal(
      r.warning,
      [
        `existing pods in namespace "${ns}" violate the new PodSecurity enforce level "restricted:latest"`,
        'e1 (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile',
      ]
        .map((w) => `299 - ${JSON.stringify(w)}`)
        .join(', '),
    );
  });
});

describe('DefaultStorageClass', () => {
  const SC = '/apis/storage.k8s.io/v1/storageclasses';
  const claim = (name: string, extra: Record<string, unknown> = {}) => ({
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...extra },
  });
  it('gives a claim without a class the default (newest of several); an explicit "" stays', async () => {
    const ns = await namespace();
    const none = ok(await call('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, claim('c0')), 'no default');
    assert.equal(none.spec.storageClassName, undefined);
    const names = [`old-${rnd()}`, `new-${rnd()}`];
    try {
      for (const n of names) {
        ok(
          await call('POST', SC, {
            metadata: { name: n, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
            provisioner: 'example.com/x',
          }),
          n,
        );
        // (creationTimestamps have one-second precision)
        if (n === names[0]) await new Promise((r) => setTimeout(r, 1050));
      }
      const c1 = ok(await call('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, claim('c1')), 'c1');
      assert.equal(c1.spec.storageClassName, names[1]);
      const c2 = ok(
        await call('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, claim('c2', { storageClassName: '' })),
        'c2',
      );
      assert.equal(c2.spec.storageClassName, '');
    } finally {
      for (const n of names) await call('DELETE', `${SC}/${n}`);
    }
  });
});

describe('StorageObjectInUseProtection', () => {
  it('a new claim gets kubernetes.io/pvc-protection and a new volume kubernetes.io/pv-protection, once', async () => {
    const ns = await namespace();
    const c = ok(
      await call('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
        metadata: { name: 'p', finalizers: ['example.com/keep', 'kubernetes.io/pvc-protection'] },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      }),
      'claim',
    );
    assert.deepEqual(c.metadata.finalizers, ['example.com/keep', 'kubernetes.io/pvc-protection']);
    const name = `pv-${rnd()}`;
    try {
      const v = ok(
        await call('POST', '/api/v1/persistentvolumes', {
          metadata: { name },
          spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp/x' } },
        }),
        'volume',
      );
      assert.deepEqual(v.metadata.finalizers, ['kubernetes.io/pv-protection']);
    } finally {
      // (no protection controller runs here: the finalizer goes by hand)
      const cur = (await call('GET', `/api/v1/persistentvolumes/${name}`)).body;
      if (cur?.metadata)
        await call('PUT', `/api/v1/persistentvolumes/${name}`, {
          ...cur,
          metadata: { ...cur.metadata, finalizers: [] },
        });
      await call('DELETE', `/api/v1/persistentvolumes/${name}`);
    }
  });
});
