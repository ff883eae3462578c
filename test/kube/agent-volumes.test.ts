// The agent's volumes and probes against a real API server and a recording fake runtime: configMap
// and secret volumes updated in place, downwardAPI, the projected service-account token, emptyDir
// shared by containers, hostPath types, a PersistentVolumeClaim provisioned by local-path; liveness
// and readiness probes, the postStart hook, OOMKilled reported.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startNodeAgent, startServer, type RunningNodeAgent, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { createLogger } from '../../src/common/index.js';
import type { Pod } from '../../src/kube/agent/index.js';
import { FakeRuntime } from '../fixtures/fake-cri.js';

let srv: RunningServer, c: KubeClient, dir: string, rt: FakeRuntime, node: RunningNodeAgent;
const NODE = `vol-${Math.random().toString(36).slice(2, 8)}`;
const ns = 'default';
const log = createLogger({}, { level: (process.env.SKIFF_LOG as never) ?? 'warn' });
const until = async <T>(what: string, f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const getPod = (name: string) => c.request<Pod>('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
const post = (path: string, body: unknown) => c.request('POST', path, { body });
const mkPod = (name: string, spec: Record<string, unknown>) =>
  post(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: { nodeName: NODE, ...spec },
  });
const running = (name: string) =>
  until(`${name} running`, async () => (await getPod(name)).status?.phase === 'Running');
const bb = { image: 'busybox:latest', imagePullPolicy: 'IfNotPresent' };
/** The host path mounted at `containerPath` in the newest container named `name` of a pod. */
const mountOf = (pod: string, name: string, containerPath: string) => {
  const cs = [...rt.containers.values()].filter(
    (x) => x.config.labels?.['io.kubernetes.pod.name'] === pod && x.config.metadata?.name === name,
  );
  return cs[cs.length - 1]?.config.mounts?.find((m) => m.containerPath === containerPath)?.hostPath;
};
const events = async (name: string) =>
  (
    await c.request<{ items: { reason: string; message: string; involvedObject: { name: string } }[] }>(
      'GET',
      `/api/v1/namespaces/${ns}/events`,
    )
  ).items.filter((e) => e.involvedObject.name === name);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-agent-vol-'));
  srv = await startServer({ dataDir: join(dir, 'server'), httpsListen: '127.0.0.1:0', datastore: 'memory://', log });
  const kc = parse(readFileSync(srv.kubeconfigPath, 'utf8'));
  const b = (s: string) => Buffer.from(s, 'base64').toString();
  c = new KubeClient({
    server: srv.url,
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  });
  rt = new FakeRuntime();
  rt.execResult = (_id, cmd) => ({
    exitCode: cmd.join(' ').includes('fail') ? 1 : 0,
    stdout: cmd.join(' ').includes('fail') ? 'probe says no' : '',
  });
  node = await startNodeAgent({
    server: srv,
    runtime: rt,
    nodeName: NODE,
    nodeIP: '127.0.0.1',
    dataDir: join(dir, 'agent'),
    podLogsDir: join(dir, 'logs'),
    listen: { host: '127.0.0.1', port: 0 },
    // This suite checks contents; the tmpfs medium of secrets is checked with the real runtime.
    memoryBackedSecrets: false,
    kubeletArgs: ['--max-pods=150'],
    log,
  });
  await post(`/api/v1/namespaces/${ns}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default' },
  }).catch(() => undefined);
});

after(async () => {
  await node?.stop();
  await srv?.close();
  c?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('agent volumes and probes (fake runtime)', () => {
  it('takes kubelet flags from --kubelet-arg (max-pods)', async () => {
    const n = await c.request<{ status: { capacity: { pods: string }; allocatable: { pods: string } } }>(
      'GET',
      `/api/v1/nodes/${NODE}`,
    );
    assert.equal(n.status.capacity.pods, '150');
    assert.equal(n.status.allocatable.pods, '150');
    assert.equal(node.agent.ctx.node.maxPods, 150);
  });

  it('configMap and secret volumes follow updates in place', async () => {
    await post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg' },
      data: { 'app.conf': 'v1' },
    });
    await post(`/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sec' },
      data: { pw: Buffer.from('s1').toString('base64') },
    });
    await mkPod('cfgpod', {
      volumes: [
        { name: 'c', configMap: { name: 'cfg' } },
        { name: 's', secret: { secretName: 'sec', defaultMode: 0o400 } },
      ],
      containers: [
        {
          name: 'main',
          ...bb,
          volumeMounts: [
            { name: 'c', mountPath: '/etc/app' },
            { name: 's', mountPath: '/etc/sec' },
          ],
        },
      ],
    });
    await running('cfgpod');
    const cdir = mountOf('cfgpod', 'main', '/etc/app')!;
    const sdir = mountOf('cfgpod', 'main', '/etc/sec')!;
    assert.match(cdir, /\/volumes\/kubernetes\.io~configmap\/c$/);
    assert.equal(readFileSync(join(cdir, 'app.conf'), 'utf8'), 'v1');
    assert.equal(readFileSync(join(sdir, 'pw'), 'utf8'), 's1');
    const before = readlinkSync(join(cdir, '..data'));
    await c.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/cfg`, {
      body: { data: { 'app.conf': 'v2' } },
      contentType: 'application/merge-patch+json',
    });
    await c.request('PATCH', `/api/v1/namespaces/${ns}/secrets/sec`, {
      body: { data: { pw: Buffer.from('s2').toString('base64') } },
      contentType: 'application/merge-patch+json',
    });
    const t0 = Date.now();
    await until('configmap update', async () => readFileSync(join(cdir, 'app.conf'), 'utf8') === 'v2');
    await until('secret update', async () => readFileSync(join(sdir, 'pw'), 'utf8') === 's2');
    assert.ok(Date.now() - t0 < 10_000);
    assert.notEqual(readlinkSync(join(cdir, '..data')), before);
  });

  it('downwardAPI and the projected service-account token', async () => {
    await mkPod('projpod', {
      volumes: [
        { name: 'd', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
        {
          name: 'api',
          projected: {
            sources: [
              { serviceAccountToken: { path: 'token', expirationSeconds: 3607, audience: 'vault' } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ],
      containers: [
        {
          name: 'main',
          ...bb,
          volumeMounts: [
            { name: 'd', mountPath: '/etc/pod' },
            { name: 'api', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
          ],
        },
      ],
    });
    await running('projpod');
    assert.equal(readFileSync(join(mountOf('projpod', 'main', '/etc/pod')!, 'labels'), 'utf8'), 'app="projpod"');
    const api = mountOf('projpod', 'main', '/var/run/secrets/kubernetes.io/serviceaccount')!;
    assert.equal(readFileSync(join(api, 'namespace'), 'utf8'), 'default');
    const claims = JSON.parse(
      Buffer.from(readFileSync(join(api, 'token'), 'utf8').split('.')[1], 'base64url').toString(),
    );
    assert.deepEqual(claims.aud, ['vault']);
    assert.equal(claims['kubernetes.io'].pod.name, 'projpod');
    assert.ok(claims.exp - claims.iat >= 3600);
  });

  it('emptyDir is one directory shared by the containers; hostPath types are checked', async () => {
    const hp = join(dir, 'host-made');
    await mkPod('sharepod', {
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'h', hostPath: { path: hp, type: 'DirectoryOrCreate' } },
      ],
      containers: [
        {
          name: 'a',
          ...bb,
          volumeMounts: [
            { name: 'scratch', mountPath: '/data' },
            { name: 'h', mountPath: '/h' },
          ],
        },
        { name: 'b', ...bb, volumeMounts: [{ name: 'scratch', mountPath: '/in', subPath: 'sub' }] },
      ],
    });
    await running('sharepod');
    const a = mountOf('sharepod', 'a', '/data')!;
    assert.match(a, /kubernetes\.io~empty-dir\/scratch$/);
    assert.equal(mountOf('sharepod', 'b', '/in'), join(a, 'sub'));
    assert.ok(existsSync(join(a, 'sub')));
    assert.ok(existsSync(hp));
    await mkPod('badhost', {
      volumes: [{ name: 'h', hostPath: { path: join(dir, 'nope'), type: 'Directory' } }],
      containers: [{ name: 'main', ...bb, volumeMounts: [{ name: 'h', mountPath: '/h' }] }],
    });
    const ev = await until('FailedMount', async () =>
      (await events('badhost')).find((e) => e.reason === 'FailedMount'),
    );
    assert.equal(
      ev.message,
      `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${join(dir, 'nope')} is not a directory`,
    );
    assert.equal((await getPod('badhost')).status?.containerStatuses?.[0].state.waiting?.reason, 'ContainerCreating');
  });

  it('a PersistentVolumeClaim is provisioned by local-path on this node and mounted', async () => {
    const sc = await c.request('GET', '/apis/storage.k8s.io/v1/storageclasses/local-path');
    assert.equal(sc.metadata.annotations['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.equal(sc.volumeBindingMode, 'WaitForFirstConsumer');
    await post(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'local-path',
        resources: { requests: { storage: '1Gi' } },
      },
    });
    await mkPod('pvcpod', {
      volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
      containers: [{ name: 'main', ...bb, volumeMounts: [{ name: 'd', mountPath: '/data' }] }],
    });
    await running('pvcpod');
    const pvc = await c.request('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`);
    assert.equal(pvc.status.phase, 'Bound');
    const pv = await c.request('GET', `/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
    assert.equal(pv.spec.claimRef.name, 'data');
    const path = mountOf('pvcpod', 'main', '/data')!;
    assert.equal(path, pv.spec.hostPath.path);
    assert.ok(path.startsWith(join(dir, 'agent', 'storage', 'pvc-')));
    assert.ok(existsSync(path));
    // Deleting the pod and the claim deletes the volume and its directory.
    await c.request('DELETE', `/api/v1/namespaces/${ns}/pods/pvcpod`);
    await until('pod gone', async () => !(await getPod('pvcpod').catch(() => undefined)));
    await c.request('DELETE', `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`);
    await until('volume deleted', async () => !existsSync(path));
  });

  it('a failing liveness probe restarts the container, with Unhealthy events', async () => {
    await mkPod('live', {
      containers: [
        {
          name: 'main',
          ...bb,
          livenessProbe: { exec: { command: ['sh', '-c', 'fail'] }, periodSeconds: 1, failureThreshold: 2 },
        },
      ],
    });
    const p = await until('restarted', async () => {
      const p = await getPod('live');
      return (p.status?.containerStatuses?.[0].restartCount ?? 0) >= 1 && p;
    });
    assert.ok(p.status!.containerStatuses![0].restartCount >= 1);
    const ev = await events('live');
    assert.ok(ev.some((e) => e.reason === 'Unhealthy' && e.message === 'Liveness probe failed: probe says no'));
    assert.ok(
      ev.some((e) => e.reason === 'Killing' && e.message === 'Container main failed liveness probe, will be restarted'),
    );
  });

  it('readiness decides Ready; startup gates it; postStart runs', async () => {
    await mkPod('ready', {
      containers: [
        {
          name: 'main',
          ...bb,
          readinessProbe: { exec: { command: ['fail'] }, periodSeconds: 1 },
          lifecycle: { postStart: { exec: { command: ['touch', '/started'] } } },
        },
      ],
    });
    await running('ready');
    await new Promise((r) => setTimeout(r, 1500));
    const p = await getPod('ready');
    const cond = p.status?.conditions?.find((x) => x.type === 'Ready');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.message, 'containers with unready status: [main]');
    assert.ok(
      rt.calls.some((x) => x.method === 'execSync' && (x.req as { cmd: string[] }).cmd.join(' ') === 'touch /started'),
    );
  });

  it('reports OOMKilled', async () => {
    await mkPod('oom', { restartPolicy: 'Never', containers: [{ name: 'main', ...bb }] });
    await running('oom');
    const id = (await getPod('oom')).status!.containerStatuses![0].containerID!.slice('fake://'.length);
    rt.crash(id, 137, 'OOMKilled');
    const p = await until('oom killed', async () => {
      const p = await getPod('oom');
      return p.status?.phase === 'Failed' && p;
    });
    assert.equal(p.status!.containerStatuses![0].state.terminated?.reason, 'OOMKilled');
    assert.equal(p.status!.containerStatuses![0].state.terminated?.exitCode, 137);
  });
});
