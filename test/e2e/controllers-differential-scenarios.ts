// The controllers differential's scenarios: each drives kubectl 1.32 in its own namespace as a user
// types it and returns once the outcome has settled (a condition on the objects holds); the suite
// then snapshots the namespace on both sides and compares.
import { waitFor, type Side } from './controllers-differential-harness.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON objects of any kind.
type Obj = any;

export interface Scenario {
  name: string;
  /** Cluster-scoped or extra lists to snapshot besides the namespace's kinds. */
  extra?: [string, string][];
  /** Other namespaces whose Events (about this scenario's objects) are compared too. */
  eventsFrom?: string[];
  /** Run after every other scenario (it changes what the others share, e.g. a node). */
  last?: boolean;
  run(s: Side, ns: string): Promise<void>;
}

const container = (image = 'registry.k8s.io/pause:3.10', name = 'c') => ({ name, image });
const tmpl = (labels: Record<string, string>, extra: Obj = {}) => ({
  metadata: { labels },
  spec: { terminationGracePeriodSeconds: 0, containers: [container()], ...extra },
});

const deploymentDone = (d: Obj, replicas: number) =>
  d &&
  d.status?.observedGeneration >= d.metadata.generation &&
  (d.status?.updatedReplicas ?? 0) === replicas &&
  (d.status?.replicas ?? 0) === replicas &&
  (d.status?.availableReplicas ?? 0) === replicas;

const waitDeployment = (s: Side, ns: string, name: string, replicas: number) =>
  waitFor(`${s.name} deployment ${name}`, 60_000, async () =>
    deploymentDone(await s.get(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`), replicas),
  );

const jobCond = (j: Obj, type: string) =>
  (j?.status?.conditions ?? []).some((c: Obj) => c.type === type && c.status === 'True');
const waitJob = (s: Side, ns: string, name: string, type: string, ms = 60_000) =>
  waitFor(`${s.name} job ${name} ${type}`, ms, async () =>
    jobCond(await s.get(`/apis/batch/v1/namespaces/${ns}/jobs/${name}`), type),
  );
const job = (name: string, spec: Obj, fate = 'succeed', exit?: number) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    ...spec,
    template: tmpl({ 'sim/fate': fate, ...(exit ? { 'sim/exit': String(exit) } : {}) }, { restartPolicy: 'Never' }),
  },
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'deployment',
    async run(s, ns) {
      await s.kubectl(['-n', ns, 'create', 'deployment', 'web', '--image=registry.k8s.io/pause:3.10', '--replicas=2']);
      await waitDeployment(s, ns, 'web', 2);
      await s.kubectl(['-n', ns, 'scale', 'deployment/web', '--replicas=3']);
      await waitDeployment(s, ns, 'web', 3);
      await s.kubectl(['-n', ns, 'set', 'image', 'deployment/web', 'pause=registry.k8s.io/pause:3.9']);
      await s.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=60s']);
      await s.kubectl(['-n', ns, 'rollout', 'undo', 'deployment/web']);
      await s.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=60s']);
      // `rollout restart` writes the time: a fixed one keeps the template (and its hash) comparable.
      await s.kubectl([
        '-n',
        ns,
        'patch',
        'deployment/web',
        '-p',
        '{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-12-08T00:00:00Z"}}}}}',
      ]);
      await s.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=60s']);
      await s.kubectl(['-n', ns, 'rollout', 'pause', 'deployment/web']);
      await s.kubectl(['-n', ns, 'set', 'image', 'deployment/web', 'pause=registry.k8s.io/pause:3.8']);
      await waitFor('paused condition', 30_000, async () => {
        const d = await s.get(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
        return d.status?.observedGeneration === d.metadata.generation;
      });
      await s.kubectl(['-n', ns, 'rollout', 'resume', 'deployment/web']);
      await s.kubectl(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=60s']);
    },
  },
  {
    name: 'progress-deadline',
    async run(s, ns) {
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'stuck' },
        spec: {
          replicas: 2,
          progressDeadlineSeconds: 3,
          selector: { matchLabels: { app: 'stuck' } },
          template: tmpl({ app: 'stuck', 'sim/fate': 'unready' }),
        },
      });
      await waitFor('ProgressDeadlineExceeded', 60_000, async () => {
        const d = await s.get(`/apis/apps/v1/namespaces/${ns}/deployments/stuck`);
        return (d?.status?.conditions ?? []).some((c: Obj) => c.reason === 'ProgressDeadlineExceeded');
      });
    },
  },
  {
    name: 'replicaset',
    async run(s, ns) {
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'rs' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'rs' } }, template: tmpl({ app: 'rs' }) },
      });
      const ready = () =>
        waitFor('rs ready', 60_000, async () => {
          const r = await s.get(`/apis/apps/v1/namespaces/${ns}/replicasets/rs`);
          return r?.status?.readyReplicas === 2 && r.status.availableReplicas === 2;
        });
      await ready();
      const pods = await s.get(`/api/v1/namespaces/${ns}/pods`);
      await s.kubectl(['-n', ns, 'delete', 'pod', pods.items[0].metadata.name, '--wait=false']);
      await waitFor('a new pod', 30_000, async () => {
        const l = await s.get(`/api/v1/namespaces/${ns}/pods`);
        return !l.items.some((p: Obj) => p.metadata.name === pods.items[0].metadata.name);
      });
      await ready();
    },
  },
  {
    name: 'jobs',
    async run(s, ns) {
      const apply = (o: Obj) => s.kubectl(['-n', ns, 'apply', '-f', '-'], o);
      await apply(job('multi', { completions: 3, parallelism: 2 }));
      await apply(job('failing', { backoffLimit: 1 }, 'fail'));
      await apply(job('indexed', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
      await apply(
        job(
          'policy',
          {
            backoffLimit: 6,
            podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] },
          },
          'fail',
          42,
        ),
      );
      await apply(job('suspended', { suspend: true, completions: 2, parallelism: 2 }));
      await apply(job('deadline', { activeDeadlineSeconds: 3 }, 'ready'));
      await waitJob(s, ns, 'multi', 'Complete');
      await waitJob(s, ns, 'indexed', 'Complete');
      await waitJob(s, ns, 'policy', 'Failed');
      await waitJob(s, ns, 'deadline', 'Failed');
      await waitJob(s, ns, 'suspended', 'Suspended');
      await s.kubectl(['-n', ns, 'patch', 'job/suspended', '--type=merge', '-p', '{"spec":{"suspend":false}}']);
      await waitJob(s, ns, 'suspended', 'Complete');
      await waitJob(s, ns, 'failing', 'Failed', 90_000);
    },
  },
  {
    name: 'job-ttl',
    async run(s, ns) {
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], job('ttl', { ttlSecondsAfterFinished: 2 }));
      await waitFor('ttl job gone', 60_000, async () => !(await s.get(`/apis/batch/v1/namespaces/${ns}/jobs/ttl`)));
      await waitFor('ttl pods gone', 60_000, async () => !(await s.get(`/api/v1/namespaces/${ns}/pods`)).items.length);
    },
  },
  {
    name: 'cronjob',
    async run(s, ns) {
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'tick' },
        spec: {
          schedule: '*/1 * * * *',
          concurrencyPolicy: 'Forbid',
          successfulJobsHistoryLimit: 1,
          jobTemplate: { spec: { template: tmpl({ 'sim/fate': 'succeed' }, { restartPolicy: 'Never' }) } },
        },
      });
      await waitFor('cronjob ran', 150_000, async () => {
        const c = await s.get(`/apis/batch/v1/namespaces/${ns}/cronjobs/tick`);
        return c?.status?.lastSuccessfulTime && !(c.status.active ?? []).length;
      });
    },
  },
  {
    name: 'cronjob-replace',
    async run(s, ns) {
      // Jobs that never finish: the second run replaces the first (its Job deleted).
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'swap' },
        spec: {
          schedule: '*/1 * * * *',
          concurrencyPolicy: 'Replace',
          jobTemplate: { spec: { template: tmpl({ 'sim/fate': 'ready' }, { restartPolicy: 'Never' }) } },
        },
      });
      let first = '';
      await waitFor('first run', 90_000, async () => {
        const c = await s.get(`/apis/batch/v1/namespaces/${ns}/cronjobs/swap`);
        first = c?.status?.active?.[0]?.name ?? '';
        return first;
      });
      await waitFor('replaced', 150_000, async () => {
        const c = await s.get(`/apis/batch/v1/namespaces/${ns}/cronjobs/swap`);
        const jobs = (await s.get(`/apis/batch/v1/namespaces/${ns}/jobs`)).items;
        const active = c?.status?.active ?? [];
        return active.length === 1 && active[0].name !== first && jobs.length === 1;
      });
    },
  },
  {
    name: 'statefulset',
    extra: [['PersistentVolume', '/api/v1/persistentvolumes']],
    async run(s, ns) {
      for (let i = 0; i < 3; i++)
        await s.kubectl(['apply', '-f', '-'], {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: `pv-web-${i}` },
          spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            storageClassName: 'manual',
            hostPath: { path: `/tmp/none-${i}` },
            claimRef: { namespace: ns, name: `www-web-${i}` },
          },
        });
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          serviceName: 'web',
          selector: { matchLabels: { app: 'web' } },
          template: tmpl(
            { app: 'web' },
            { containers: [{ ...container(), volumeMounts: [{ name: 'www', mountPath: '/w' }] }] },
          ),
          volumeClaimTemplates: [
            {
              metadata: { name: 'www' },
              spec: {
                accessModes: ['ReadWriteOnce'],
                storageClassName: 'manual',
                resources: { requests: { storage: '1Gi' } },
              },
            },
          ],
        },
      });
      await s.kubectl(['-n', ns, 'rollout', 'status', 'statefulset/web', '--timeout=90s']);
      await s.kubectl([
        '-n',
        ns,
        'patch',
        'statefulset/web',
        '-p',
        '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}',
      ]);
      await s.kubectl(['-n', ns, 'set', 'image', 'statefulset/web', 'c=registry.k8s.io/pause:3.9']);
      await waitFor('partitioned update', 60_000, async () => {
        const st = await s.get(`/apis/apps/v1/namespaces/${ns}/statefulsets/web`);
        return (
          st.status?.updatedReplicas === 1 &&
          st.status.readyReplicas === 3 &&
          st.status.observedGeneration === st.metadata.generation
        );
      });
    },
  },
  {
    name: 'daemonset',
    async run(s, ns) {
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'agent' },
        spec: { selector: { matchLabels: { app: 'agent' } }, template: tmpl({ app: 'agent' }) },
      });
      await s.kubectl(['-n', ns, 'rollout', 'status', 'daemonset/agent', '--timeout=60s']);
    },
  },
  {
    name: 'service',
    async run(s, ns) {
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'api' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'api' } },
          template: tmpl(
            { app: 'api' },
            { containers: [{ ...container(), ports: [{ name: 'http', containerPort: 8080 }] }] },
          ),
        },
      });
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'api', labels: { tier: 'backend' } },
            spec: { selector: { app: 'api' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
          },
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'api-headless' },
            spec: { clusterIP: 'None', selector: { app: 'api' }, ports: [{ port: 8080 }] },
          },
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'nobody' },
            spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] },
          },
        ],
      });
      await waitDeployment(s, ns, 'api', 2);
      await waitFor('endpoints', 30_000, async () => {
        const e = await s.get(`/api/v1/namespaces/${ns}/endpoints/api`);
        return e?.subsets?.[0]?.addresses?.length === 2;
      });
    },
  },
  {
    name: 'namespace',
    async run(s, ns) {
      // The namespace itself exists (made by the suite): its ServiceAccount and root CA.
      await waitFor('sa and ca', 30_000, async () => {
        const sa = await s.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`);
        const cm = await s.get(`/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`);
        return sa && cm;
      });
    },
  },
  {
    name: 'gc',
    async run(s, ns) {
      for (const d of ['fg', 'bg', 'orphan'])
        await s.kubectl(['-n', ns, 'create', 'deployment', d, '--image=registry.k8s.io/pause:3.10', '--replicas=1']);
      for (const d of ['fg', 'bg', 'orphan']) await waitDeployment(s, ns, d, 1);
      await s.kubectl(['-n', ns, 'delete', 'deployment', 'fg', '--cascade=foreground']);
      await s.kubectl(['-n', ns, 'delete', 'deployment', 'bg', '--cascade=background']);
      await s.kubectl(['-n', ns, 'delete', 'deployment', 'orphan', '--cascade=orphan']);
      await waitFor('gc', 60_000, async () => {
        const rs = await s.get(`/apis/apps/v1/namespaces/${ns}/replicasets`);
        const pods = await s.get(`/api/v1/namespaces/${ns}/pods`);
        return (
          rs.items.length === 1 &&
          !rs.items[0].metadata.ownerReferences?.length &&
          pods.items.length === 1 &&
          pods.items[0].metadata.ownerReferences?.length === 1
        );
      });
    },
  },
  {
    name: 'pdb-quota',
    async run(s, ns) {
      await s.kubectl([
        '-n',
        ns,
        'create',
        'quota',
        'q',
        '--hard=pods=10,requests.cpu=4,configmaps=5,services=3,count/deployments.apps=2',
      ]);
      await s.kubectl(['-n', ns, 'create', 'pdb', 'pdb', '--selector=app=guarded', '--min-available=2']);
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'guarded' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'guarded' } },
          template: tmpl(
            { app: 'guarded' },
            { containers: [{ ...container(), resources: { requests: { cpu: '100m' }, limits: { cpu: '100m' } } }] },
          ),
        },
      });
      await waitDeployment(s, ns, 'guarded', 3);
      await waitFor('pdb and quota', 60_000, async () => {
        const p = await s.get(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/pdb`);
        const q = await s.get(`/api/v1/namespaces/${ns}/resourcequotas/q`);
        return (
          p?.status?.currentHealthy === 3 &&
          q?.status?.used?.pods === '3' &&
          q.status.used['count/deployments.apps'] === '1'
        );
      });
    },
  },
  {
    name: 'pv-binding',
    extra: [['PersistentVolume', '/api/v1/persistentvolumes']],
    async run(s, ns) {
      await s.kubectl(['apply', '-f', '-'], {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `static-${ns}` },
        spec: {
          capacity: { storage: '2Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'slow',
          hostPath: { path: '/tmp/static' },
        },
      });
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'claim' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: 'slow',
              resources: { requests: { storage: '1Gi' } },
            },
          },
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'unmatched' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: 'slow',
              resources: { requests: { storage: '5Gi' } },
            },
          },
        ],
      });
      await waitFor('bound', 60_000, async () => {
        const c = await s.get(`/api/v1/namespaces/${ns}/persistentvolumeclaims/claim`);
        const pv = await s.get(`/api/v1/persistentvolumes/static-${ns}`);
        return c?.status?.phase === 'Bound' && pv?.status?.phase === 'Bound';
      });
    },
  },
  {
    name: 'namespace-deletion',
    extra: [['Namespace', '/api/v1/namespaces?fieldSelector=metadata.name=NS']],
    async run(s, ns) {
      await s.kubectl(['-n', ns, 'apply', '-f', '-'], {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'held', finalizers: ['example.com/hold'] },
      });
      // No pods: upstream re-reads a namespace held only by finalizers at its next change, so a
      // pod still terminating at the first pass would stay in its message (timing, not behaviour).
      await s.kubectl(['-n', ns, 'create', 'configmap', 'plain', '--from-literal=k=v']);
      await s.kubectl(['-n', ns, 'create', 'secret', 'generic', 's', '--from-literal=k=v']);
      await s.kubectl(['delete', 'namespace', ns, '--wait=false']);
      await waitFor('terminating with content left', 60_000, async () => {
        const n = await s.get(`/api/v1/namespaces/${ns}`);
        return (n?.status?.conditions ?? []).some(
          (c: Obj) => c.type === 'NamespaceFinalizersRemaining' && c.status === 'True',
        );
      });
    },
  },
  {
    name: 'node-lifecycle',
    last: true,
    extra: [['Node', '/api/v1/nodes?fieldSelector=metadata.name=n2']],
    eventsFrom: ['default'],
    async run(s, ns) {
      await s.kubectl([
        '-n',
        ns,
        'run',
        'victim',
        '--image=registry.k8s.io/pause:3.10',
        '--overrides={"spec":{"nodeName":"n2"}}',
      ]);
      await waitFor(
        'victim running',
        30_000,
        async () => (await s.get(`/api/v1/namespaces/${ns}/pods/victim`))?.status?.phase === 'Running',
      );
      s.sim.kill('n2');
      await waitFor('n2 unreachable', 90_000, async () => {
        const n = await s.get('/api/v1/nodes/n2');
        const p = await s.get(`/api/v1/namespaces/${ns}/pods/victim`);
        const taints = (n?.spec?.taints ?? []).map((t: Obj) => `${t.key}:${t.effect}`);
        return (
          taints.includes('node.kubernetes.io/unreachable:NoExecute') &&
          taints.includes('node.kubernetes.io/unreachable:NoSchedule') &&
          (p?.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'False')
        );
      });
    },
  },
];
