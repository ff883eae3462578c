// Issue 14's workload acceptance with real pods: a private `skiff start` (engine, API server,
// scheduler, controllers, node agent) and the real kubectl 1.32 — a Deployment created, scaled
// 1 → 3 → 1, a deleted pod replaced, an image change rolled out and undone, restarted; a Job
// with completions; a DaemonSet with its pod on the node; a CronJob firing; drain held back by a
// PodDisruptionBudget (the node uncordoned after). Containers are real (busybox), run by the agent through the engine's CRI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffStart } from '../fixtures/skiff-start.js';

let s: SkiffStart;
const ns = `acc-${Math.random().toString(36).slice(2, 7)}`;
const until = async (what: string, f: () => Promise<boolean>, ms = 90_000) => {
  const end = Date.now() + ms;
  while (!(await f().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
};
const k = (...a: string[]) => s.k(['-n', ns, ...a], { timeoutMs: 150_000 });
const running = async (selector: string, n: number) => {
  const pods = JSON.parse(await k('get', 'pods', '-l', selector, '-o', 'json')).items;
  const live = pods.filter((p: any) => !p.metadata.deletionTimestamp);
  return live.length === n && live.every((p: any) => p.status.phase === 'Running');
};
const deploy = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: ${image}, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}
`;

before(async () => {
  s = await startSkiff();
  await s.k(['create', 'namespace', ns]);
  await until('default ServiceAccount', async () => (await s.kubectl(['-n', ns, 'get', 'sa', 'default'])).code === 0);
});
after(async () => {
  await s?.stop();
});

describe('issue 14 acceptance with real pods (skiff start)', () => {
  it('deployment: create, scale 1 → 3 → 1, a deleted pod replaced', async () => {
    await s.apply(deploy('busybox:latest'));
    await k('rollout', 'status', 'deployment/web', '--timeout=120s');
    await k('scale', 'deployment/web', '--replicas=3');
    await k('rollout', 'status', 'deployment/web', '--timeout=120s');
    await until('3 running', () => running('app=web', 3));
    await k('scale', 'deployment/web', '--replicas=1');
    await until('1 running', () => running('app=web', 1));
    const name = (await k('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}')).trim();
    await k('delete', 'pod', name, '--wait=false');
    await until('replaced', async () => {
      const names = (await k('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}')).split(' ');
      return !names.includes(name) && (await running('app=web', 1));
    });
  });

  it('set image rolls out (maxUnavailable 0: the old pod stays until the new is ready), undo, restart', async () => {
    let minReady = Number.POSITIVE_INFINITY;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const pods = JSON.parse(await k('get', 'pods', '-l', 'app=web', '-o', 'json')).items;
        const ready = pods.filter(
          (p: any) =>
            !p.metadata.deletionTimestamp &&
            p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
        ).length;
        minReady = Math.min(minReady, ready);
      }
    })();
    try {
      // busybox:latest under another name: a new template, the same local image.
      await k('set', 'image', 'deployment/web', 'c=docker.io/library/busybox:latest');
      assert.match(await k('rollout', 'status', 'deployment/web', '--timeout=120s'), /successfully rolled out/);
    } finally {
      watching = false;
      await watch;
    }
    assert.ok(minReady >= 1, `ready pods fell to ${minReady} with maxUnavailable 0`);
    assert.match(await k('rollout', 'history', 'deployment/web'), /\n1\s[\s\S]*\n2\s/);
    await k('rollout', 'undo', 'deployment/web');
    await k('rollout', 'status', 'deployment/web', '--timeout=120s');
    assert.equal(
      await k('get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'),
      'busybox:latest',
    );
    await k('rollout', 'restart', 'deployment/web');
    await k('rollout', 'status', 'deployment/web', '--timeout=120s');
    await until('1 running after restart', () => running('app=web', 1));
  });

  it('a Job completes 2 pods; a DaemonSet runs one pod on the node', async () => {
    await s.apply(`apiVersion: batch/v1
kind: Job
metadata: {name: twice, namespace: ${ns}}
spec:
  completions: 2
  parallelism: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:latest, imagePullPolicy: IfNotPresent, command: ["sh", "-c", "echo done"]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ${ns}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: busybox:latest, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}]
`);
    await k('wait', '--for=condition=complete', 'job/twice', '--timeout=120s');
    assert.match(await k('get', 'job', 'twice'), /twice\s+Complete\s+2\/2/);
    const logs = await k('logs', '-l', 'batch.kubernetes.io/job-name=twice');
    assert.equal(logs.trim().split('\n').length, 2);
    await k('rollout', 'status', 'daemonset/agent', '--timeout=120s');
    const ds = (await k('get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.nodeName}')).trim();
    assert.equal(ds, s.node);
  });

  it('drain is held back by a PodDisruptionBudget', async () => {
    await s.apply(`apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: ${ns}}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
`);
    await until(
      'budget computed',
      async () => (await k('get', 'pdb', 'web', '-o', 'jsonpath={.status.currentHealthy}')) === '1',
    );
    const blocked = await s.kubectl(['drain', s.node, '--ignore-daemonsets', '--force', '--timeout=5s']);
    try {
      assert.notEqual(blocked.code, 0);
      assert.match(blocked.stderr + blocked.stdout, /Cannot evict pod as it would violate the pod's disruption budget/);
      assert.ok(await running('app=web', 1), 'the budgeted pod still runs');
    } finally {
      await s.k(['uncordon', s.node]);
      await k('delete', 'pdb', 'web');
    }
  });

  it('a CronJob every minute creates a Job that completes', async () => {
    await s.apply(`apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, namespace: ${ns}}
spec:
  schedule: "* * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox:latest, imagePullPolicy: IfNotPresent, command: ["true"]}]
`);
    await until(
      'a scheduled Job completed',
      async () => /tick-\d+\s+Complete\s+1\/1/.test(await k('get', 'jobs')),
      150_000,
    );
    assert.match(await k('get', 'cronjob', 'tick', '-o', 'jsonpath={.status.lastSuccessfulTime}'), /^\d{4}-/);
  });
});
