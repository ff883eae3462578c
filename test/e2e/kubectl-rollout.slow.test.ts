// The real kubectl 1.32 against `skiff server` (in-process, HTTPS) with its controllers and
// simulated nodes: create deployment, scale 1 → 5 → 2, a deleted pod replaced, set image +
// rollout status, rollout history, undo to the old template, restart, pause/resume; rollout
// status of a DaemonSet and a StatefulSet, a Job waited for; cordon and drain through the
// eviction API, blocked by a PodDisruptionBudget and then let through.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createLogger } from '../../src/common/index.js';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { KUBECTL, requireKubectl } from './kubectl-harness.js';
import { SimNodes } from '../fixtures/sim-nodes.js';
import { until } from '../fixtures/kube-api.js';

let srv: RunningServer, dir: string, c: KubeClient, nodes: SimNodes;
const ns = `ro-${Math.random().toString(36).slice(2, 8)}`;

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return kubectlIn(undefined, ...args);
}
function kubectlIn(
  input: string | undefined,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', srv.kubeconfigPath, '--cache-dir', join(dir, 'cache'), '-n', ns, ...args],
      { timeout: 60_000, env: { ...process.env, HOME: dir } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}
async function apply(yaml: string): Promise<void> {
  const r = await kubectlIn(yaml, 'apply', '-f', '-');
  assert.equal(r.code, 0, r.stderr);
}
async function ok(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const D = () => `/apis/apps/v1/namespaces/${ns}/deployments`;
const podCount = async () =>
  (await c.request('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`)).items.length as number;

before(async () => {
  requireKubectl();
  dir = mkdtempSync(join(tmpdir(), 'skiff-rollout-'));
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
  nodes = new SimNodes(c, {
    nodes: [`${ns}-a`, `${ns}-b`, `${ns}-c`],
    namespace: ns,
    startMs: 50,
    behavior: (p: any) => (p.metadata.labels?.['job-name'] ? 'succeed' : 'ready'),
  });
  await nodes.start();
});
after(async () => {
  nodes?.stop();
  c?.close();
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubectl rollout against skiff server', () => {
  it('create, scale 1 → 5 → 2, a deleted pod is replaced', async () => {
    await ok('create', 'deployment', 'web', '--image=busybox:1');
    assert.match(
      await ok('rollout', 'status', 'deployment/web', '--timeout=60s'),
      /deployment "web" successfully rolled out/,
    );
    await ok('scale', 'deployment/web', '--replicas=5');
    await ok('rollout', 'status', 'deployment/web', '--timeout=60s');
    assert.equal(await podCount(), 5);
    await ok('scale', 'deployment/web', '--replicas=2');
    await until('2 pods', async () => (await podCount()) === 2, 20_000);
    const first = (await ok('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}')).trim();
    await ok('delete', 'pod', first, '--wait=false');
    await until('replaced', async () => {
      const names = (await c.request('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dweb`)).items.map(
        (p: any) => p.metadata.name,
      );
      return names.length === 2 && !names.includes(first);
    });
    await ok('rollout', 'status', 'deployment/web', '--timeout=60s');
    await until('2/2', async () => /web\s+2\/2\s+2\s+2/.test(await ok('get', 'deployment', 'web')));
  });

  it('set image + rollout status, history, undo returns the old template', async () => {
    await ok('annotate', 'deployment/web', 'kubernetes.io/change-cause=first');
    await ok('set', 'image', 'deployment/web', 'busybox=busybox:2');
    await ok('annotate', 'deployment/web', 'kubernetes.io/change-cause=second', '--overwrite');
    assert.match(await ok('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
    await until('revision 2 recorded with its change-cause', async () => {
      const h = await ok('rollout', 'history', 'deployment/web');
      return /\n1\s+first/.test(h) && /\n2\s+second/.test(h);
    });
    assert.match(await ok('rollout', 'history', 'deployment/web', '--revision=2'), /Image:\s+busybox:2/);
    assert.match(await ok('rollout', 'undo', 'deployment/web'), /deployment.apps\/web rolled back/);
    await ok('rollout', 'status', 'deployment/web', '--timeout=60s');
    const d = await c.request('GET', `${D()}/web`);
    assert.equal(d.spec.template.spec.containers[0].image, 'busybox:1');
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    const h = await ok('rollout', 'history', 'deployment/web');
    assert.match(h, /\n2\s+second/);
    assert.match(h, /\n3\s+first/);
    assert.doesNotMatch(h, /\n1\s/);
  });

  it('restart makes a new ReplicaSet; pause holds a change back until resume', async () => {
    await ok('rollout', 'restart', 'deployment/web');
    await ok('rollout', 'status', 'deployment/web', '--timeout=60s');
    const d = await c.request('GET', `${D()}/web`);
    assert.ok(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']);
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '4');

    await ok('rollout', 'pause', 'deployment/web');
    await ok('set', 'image', 'deployment/web', 'busybox=busybox:3');
    const undo = await kubectl('rollout', 'undo', 'deployment/web');
    assert.notEqual(undo.code, 0);
    assert.match(undo.stderr, /you cannot rollback a paused deployment; resume it first/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await c.request('GET', `${D()}/web`)).metadata.annotations['deployment.kubernetes.io/revision'], '4');
    const status = await kubectl('rollout', 'status', 'deployment/web', '--timeout=1s');
    assert.notEqual(status.code, 0, 'a paused rollout does not finish');
    await ok('rollout', 'resume', 'deployment/web');
    await ok('rollout', 'status', 'deployment/web', '--timeout=60s');
    const after = await c.request('GET', `${D()}/web`);
    assert.equal(after.metadata.annotations['deployment.kubernetes.io/revision'], '5');
    assert.match(await ok('describe', 'deployment', 'web'), /ScalingReplicaSet\s+.*Scaled (up|down) replica set web-/);
  });
});

describe('kubectl with the other workload controllers', () => {
  it('rollout status of a DaemonSet (one pod per node) and a StatefulSet (web-0..2); a Job waited for', async () => {
    await apply(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: busybox}]}
`);
    assert.match(
      await ok('rollout', 'status', 'daemonset/agent', '--timeout=60s'),
      /daemon set "agent" successfully rolled out/,
    );
    const ds = JSON.parse(await ok('get', 'daemonset', 'agent', '-o', 'json'));
    assert.equal(ds.status.desiredNumberScheduled, 3);
    assert.match(
      await ok('rollout', 'status', 'statefulset/db', '--timeout=60s'),
      /partitioned roll out complete: 3 new pods have been updated|statefulset rolling update complete 3 pods/,
    );
    assert.deepEqual(
      (await ok('get', 'pods', '-l', 'app=db', '-o', 'jsonpath={.items[*].metadata.name}')).split(' ').sort(),
      ['db-0', 'db-1', 'db-2'],
    );
    await ok('create', 'job', 'once', '--image=busybox', '--', 'true');
    await ok('wait', '--for=condition=complete', 'job/once', '--timeout=60s');
    assert.match(await ok('get', 'job', 'once'), /once\s+Complete\s+1\/1/);
  });

  it('drain evicts through the eviction API; a PodDisruptionBudget holds it back until removed', async () => {
    const node = `${ns}-c`;
    for (const i of [1, 2, 3])
      await c.request('POST', `/api/v1/namespaces/${ns}/pods`, {
        body: {
          metadata: { name: `guard-${i}`, labels: { app: 'guard' } },
          spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] },
        },
      });
    await apply(`apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guard}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: guard}}
`);
    await until(
      'budget computed',
      async () =>
        (await c.request('GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/guard`)).status
          ?.disruptionsAllowed === 1,
      20_000,
    );
    const blocked = await kubectl('drain', node, '--ignore-daemonsets', '--force', '--timeout=3s');
    assert.notEqual(blocked.code, 0, 'the budget stops the drain');
    assert.match(blocked.stderr + blocked.stdout, /Cannot evict pod as it would violate the pod's disruption budget/);
    const left = (await c.request('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dguard`)).items;
    assert.equal(left.length, 2, 'exactly one eviction went through');
    assert.equal((await c.request('GET', `/api/v1/nodes/${node}`)).spec.unschedulable, true, 'cordoned');
    await ok('delete', 'pdb', 'guard');
    assert.match(
      await ok('drain', node, '--ignore-daemonsets', '--force', '--timeout=30s'),
      new RegExp(`node/${node} drained`),
    );
    assert.equal((await c.request('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dguard`)).items.length, 0);
    await ok('uncordon', node);
  });
});
