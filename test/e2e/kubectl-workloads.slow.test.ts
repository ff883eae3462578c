// Issue 14's acceptance with the real kubectl 1.32 against `skiff server` (in-process, HTTPS) with
// its scheduler and controllers, on simulated nodes acting as kubelets (the scheduler binds): a
// `set image` rollout observed pod by pod within maxUnavailable/maxSurge; a Job with completions
// and an Indexed Job's indexes; a CronJob firing every minute with its history pruned; a
// StatefulSet created in order with its claims, keeping names across deletion; a NoExecute taint
// evicting pods without a toleration; a pod that fits nowhere explained by `kubectl describe`.
// (create/scale/undo/restart/pause, DaemonSet, drain with a PDB: test/e2e/kubectl-rollout.test.ts.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createLogger } from '../../src/common/index.js';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { Informer, KubeClient } from '../../src/kube/client/index.js';
import { KUBECTL, requireKubectl } from './kubectl-harness.js';
import { SimNodes } from '../fixtures/sim-nodes.js';
import { until } from '../fixtures/kube-api.js';

let srv: RunningServer, dir: string, c: KubeClient, nodes: SimNodes;
const ns = `wl-${Math.random().toString(36).slice(2, 8)}`;
const NODES = [`${ns}-a`, `${ns}-b`, `${ns}-c`];
const informers: Informer<any>[] = [];

function kubectl(input: string | undefined, ...args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', srv.kubeconfigPath, '--cache-dir', join(dir, 'cache'), '-n', ns, ...args],
      { timeout: 180_000, env: { ...process.env, HOME: dir } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}
async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(undefined, ...args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
async function apply(yaml: string): Promise<void> {
  const r = await kubectl(yaml, 'apply', '-f', '-');
  assert.equal(r.code, 0, r.stderr);
}
const get = (path: string) => c.request('GET', path);
const isReady = (p: any) => p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True');
async function watchPods(selector: string, handlers: ConstructorParameters<typeof Informer>[2]) {
  const inf = new Informer<any>(
    c,
    { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
    handlers as never,
    { namespace: ns, labelSelector: selector },
  );
  informers.push(inf);
  await inf.start();
  return inf;
}

before(async () => {
  requireKubectl();
  dir = mkdtempSync(join(tmpdir(), 'skiff-workloads-'));
  srv = await startServer({
    dataDir: dir,
    httpsListen: '127.0.0.1:0',
    datastore: 'memory://',
    log: createLogger({}, { level: (process.env.SKIFF_LOG as never) ?? 'warn' }),
  });
  const kc = parse(readFileSync(srv.kubeconfigPath, 'utf8'));
  const b = (s: string) => Buffer.from(s, 'base64').toString();
  c = new KubeClient({
    server: srv.url,
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  });
  await c.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  await until(
    'default ServiceAccount',
    async () => !!(await get(`/api/v1/namespaces/${ns}/serviceaccounts/default`).catch(() => undefined)),
    20_000,
  );
  nodes = new SimNodes(c, {
    nodes: NODES,
    namespace: ns,
    bind: false,
    startMs: 200,
    behavior: (p: any) =>
      p.metadata.labels?.['batch.kubernetes.io/job-name'] || p.metadata.labels?.['job-name'] ? 'succeed' : 'ready',
  });
  await nodes.start();
  // The CronJob runs beside the other tests (it fires on minute boundaries); checked last.
  await apply(`apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: ["true"]}]
`);
});
after(async () => {
  for (const i of informers) i.stop();
  nodes?.stop();
  c?.close();
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('issue 14 acceptance with kubectl on simulated nodes', () => {
  it('set image rolls out within maxUnavailable and maxSurge (observed pod by pod)', async () => {
    await ok('create', 'deployment', 'roll', '--image=busybox:1', '--replicas=4');
    await ok(
      'patch',
      'deployment',
      'roll',
      '-p',
      '{"spec":{"strategy":{"rollingUpdate":{"maxUnavailable":1,"maxSurge":1}}}}',
    );
    await ok('rollout', 'status', 'deployment/roll', '--timeout=90s');
    let minReady = Number.POSITIVE_INFINITY;
    let maxPods = 0;
    let mixed = false;
    let watching = false;
    const inf: Informer<any> = await watchPods('app=roll', {
      add: () => observe(),
      update: () => observe(),
      delete: () => observe(),
    });
    function observe() {
      if (!watching) return;
      const live = inf.list().filter((p) => !p.metadata.deletionTimestamp);
      minReady = Math.min(minReady, live.filter(isReady).length);
      maxPods = Math.max(maxPods, live.length);
      const images = new Set(live.map((p) => p.spec.containers[0].image));
      if (images.size > 1) mixed = true;
    }
    watching = true;
    observe();
    await ok('set', 'image', 'deployment/roll', 'busybox=busybox:2');
    assert.match(await ok('rollout', 'status', 'deployment/roll', '--timeout=120s'), /successfully rolled out/);
    await until('old pods gone', () => inf.list().every((p) => p.spec.containers[0].image === 'busybox:2'), 20_000);
    observe();
    process.stderr.write(`rollout of 4 replicas: min ready ${minReady}, max pods ${maxPods}\n`);
    assert.ok(mixed, 'the rollout went through steps with old and new pods side by side');
    assert.ok(minReady >= 3, `ready pods fell to ${minReady} (replicas 4, maxUnavailable 1)`);
    assert.ok(maxPods <= 5, `${maxPods} pods at once (replicas 4, maxSurge 1)`);
    assert.equal(inf.list().filter(isReady).length, 4);
  });

  it('a Job completes N pods; an Indexed Job sets the indexes', async () => {
    await apply(`apiVersion: batch/v1
kind: Job
metadata: {name: count}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: indexed}
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
`);
    await ok('wait', '--for=condition=complete', 'job/count', 'job/indexed', '--timeout=90s');
    assert.match(await ok('get', 'job', 'count'), /count\s+Complete\s+3\/3/);
    const pods = (await get(`/api/v1/namespaces/${ns}/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3Dcount`))
      .items;
    assert.equal(pods.filter((p: any) => p.status.phase === 'Succeeded').length, 3);
    const job = JSON.parse(await ok('get', 'job', 'indexed', '-o', 'json'));
    assert.equal(job.status.completedIndexes, '0-2');
    assert.equal(job.status.succeeded, 3);
    const ipods = (await get(`/api/v1/namespaces/${ns}/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3Dindexed`))
      .items;
    assert.deepEqual(ipods.map((p: any) => p.metadata.annotations['batch.kubernetes.io/job-completion-index']).sort(), [
      '0',
      '1',
      '2',
    ]);
    for (const p of ipods) {
      const idx = p.metadata.annotations['batch.kubernetes.io/job-completion-index'];
      assert.equal(p.spec.hostname, `indexed-${idx}`);
      const env = p.spec.containers[0].env.find((e: any) => e.name === 'JOB_COMPLETION_INDEX');
      assert.equal(env.valueFrom.fieldRef.fieldPath, "metadata.labels['batch.kubernetes.io/job-completion-index']");
    }
  });

  it('a StatefulSet makes web-0, web-1, web-2 in order with their claims and keeps names across deletion', async () => {
    for (let i = 0; i < 3; i++)
      await c.request('POST', '/api/v1/persistentvolumes', {
        body: {
          metadata: { name: `${ns}-pv${i}` },
          spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            storageClassName: `manual-${ns}`,
            hostPath: { path: `/tmp/${ns}-pv${i}` },
          },
        },
      });
    const order: string[] = [];
    const early: string[] = [];
    const inf: Informer<any> = await watchPods('app=web', {
      add: (p: any) => {
        order.push(p.metadata.name);
        const n = Number(p.metadata.name.split('-')[1]);
        for (let i = 0; i < n; i++) {
          const prev = inf.get(`${ns}/web-${i}`);
          if (!prev || !isReady(prev)) early.push(`${p.metadata.name} before web-${i} was ready`);
        }
      },
    });
    await apply(`apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: busybox, volumeMounts: [{name: www, mountPath: /data}]}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: manual-${ns}
      resources: {requests: {storage: 1Gi}}
`);
    await ok('rollout', 'status', 'statefulset/web', '--timeout=120s');
    assert.deepEqual(order, ['web-0', 'web-1', 'web-2']);
    assert.deepEqual(early, []);
    const pvcs = (await get(`/api/v1/namespaces/${ns}/persistentvolumeclaims`)).items;
    assert.deepEqual(pvcs.map((p: any) => `${p.metadata.name}:${p.status.phase}`).sort(), [
      'www-web-0:Bound',
      'www-web-1:Bound',
      'www-web-2:Bound',
    ]);
    const uid = (await get(`/api/v1/namespaces/${ns}/pods/web-1`)).metadata.uid;
    await ok('delete', 'pod', 'web-1', '--wait=false');
    await until(
      'web-1 back',
      async () => {
        const p = await get(`/api/v1/namespaces/${ns}/pods/web-1`).catch(() => undefined);
        return !!p && p.metadata.uid !== uid && isReady(p);
      },
      60_000,
    );
    const p = await get(`/api/v1/namespaces/${ns}/pods/web-1`);
    assert.equal(p.spec.hostname, 'web-1');
    assert.equal(p.spec.volumes.find((v: any) => v.name === 'www').persistentVolumeClaim.claimName, 'www-web-1');
  });

  it('a NoExecute taint evicts the pods without a toleration', async () => {
    const node = NODES[1];
    const pod = (name: string, tolerate: boolean) => ({
      metadata: { name, labels: { app: 'taint' } },
      spec: {
        nodeName: node,
        containers: [{ name: 'c', image: 'busybox' }],
        ...(tolerate ? { tolerations: [{ key: 'evict', operator: 'Exists', effect: 'NoExecute' }] } : {}),
      },
    });
    await c.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('plain', false) });
    await c.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('tolerant', true) });
    await until('both running', async () => {
      const items = (await get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dtaint`)).items;
      return items.length === 2 && items.every(isReady);
    });
    await ok('taint', 'node', node, 'evict=now:NoExecute');
    try {
      await until(
        'plain evicted',
        async () => !(await get(`/api/v1/namespaces/${ns}/pods/plain`).catch(() => undefined)),
        30_000,
      );
      const events = await ok('get', 'events', '--field-selector', 'involvedObject.name=plain');
      assert.match(events, /TaintManagerEviction/);
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(isReady(await get(`/api/v1/namespaces/${ns}/pods/tolerant`)), 'the tolerant pod stays');
    } finally {
      await ok('taint', 'node', node, 'evict=now:NoExecute-');
    }
  });

  it('a pod that fits nowhere says why in kubectl describe', async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers: [{name: c, image: busybox, resources: {requests: {cpu: "64"}}}]
`);
    let out = '';
    await until(
      'FailedScheduling',
      async () => /FailedScheduling/.test((out = await ok('describe', 'pod', 'huge'))),
      30_000,
    );
    assert.match(out, /0\/3 nodes are available: 3 Insufficient cpu\./);
    assert.match(out, /PodScheduled\s+False/);
    await ok('delete', 'pod', 'huge', '--wait=false');
  });

  it('a CronJob every minute creates Jobs and prunes the history', async () => {
    const seen = new Set<string>();
    const jobs = new Informer<any>(
      c,
      { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true },
      { add: (j: any) => j.metadata.name.startsWith('tick-') && seen.add(j.metadata.name) },
      { namespace: ns },
    );
    informers.push(jobs);
    await jobs.start();
    // Two firings at most ~2 minutes after the CronJob was made (it was made in before()).
    await until('two scheduled Jobs', () => seen.size >= 2, 150_000);
    await until(
      'history pruned to the last successful Job',
      async () => {
        const items = (await get(`/apis/batch/v1/namespaces/${ns}/jobs`)).items.filter((j: any) =>
          j.metadata.name.startsWith('tick-'),
        );
        return items.length === 1 && items[0].status?.succeeded === 1;
      },
      30_000,
    );
    for (const name of seen) assert.match(name, /^tick-\d{8}$/);
    const cj = JSON.parse(await ok('get', 'cronjob', 'tick', '-o', 'json'));
    assert.ok(cj.status.lastScheduleTime && cj.status.lastSuccessfulTime);
    assert.match(await ok('get', 'cronjob', 'tick'), /tick\s+\* \* \* \* \*\s+<none>\s+False\s+\d+/);
  });
});
