// Pod workers as kubelet's: one per pod, no global pool. Pods in a long graceful termination (their
// PID 1 ignores SIGTERM, so each stop waits out the grace period) must not delay another pod's
// start: with 40 such pods terminating — more than the 32 shared workers the agent once had, which
// they all held for their whole grace period — a new pod still becomes Ready at once.
// The agent runs against a real API server (memory store) and the recording fake runtime.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { createLogger } from '../../src/common/index.js';
import { FakeRuntime } from '../fixtures/fake-cri.js';
import { startAgent, type RunningAgent, type Pod } from '../../src/kube/agent/index.js';

let srv: RunningServer, c: KubeClient, dir: string, rt: FakeRuntime, agent: RunningAgent;
const NODE = `workers-${Math.random().toString(36).slice(2, 8)}`;
const ns = 'default';
const TERMINATING = 40;
const GRACE = 120;
const log = createLogger({}, { level: (process.env.SKIFF_LOG as never) ?? 'warn' });

const until = async <T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, ms = 60_000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const pods = async () =>
  (await c.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`)).items.filter(
    (p) => p.spec.nodeName === NODE,
  );
const isReady = (p: Pod | undefined) => p?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
const mkPod = (name: string, cmd: string) =>
  c.request<Pod>('POST', `/api/v1/namespaces/${ns}/pods`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        nodeName: NODE,
        terminationGracePeriodSeconds: GRACE,
        containers: [
          { name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', cmd] },
        ],
      },
    },
  });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-agent-workers-'));
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
  rt.behaviour = (cfg) => ({ ignoreTerm: (cfg.command ?? []).join(' ').includes('ignore-term') });
  agent = await startAgent({
    client: c,
    runtime: rt,
    nodeName: NODE,
    nodeIP: '127.0.0.1',
    rootDir: join(dir, 'agent'),
    podLogsDir: join(dir, 'logs'),
    memoryBackedSecrets: false,
    relistMs: 300,
    housekeepingMs: 300,
    nodeStatusMs: 1000,
    log,
  });
  // ServiceAccount admission refuses pods until the controllers made `default`'s account.
  await until('the default ServiceAccount', () =>
    c.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`).then(
      () => true,
      () => false,
    ),
  );
});

after(async () => {
  rt?.releaseStops();
  await agent?.stop();
  await srv?.close();
  c?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pod workers (fake runtime)', () => {
  it('starts a new pod at once while many pods wait out their grace period', async () => {
    const names = Array.from({ length: TERMINATING }, (_, i) => `term-${i}`);
    await Promise.all(names.map((n) => mkPod(n, 'ignore-term; sleep 1000')));
    await until(
      'all running',
      async () => (await pods()).filter((p) => p.status?.phase === 'Running').length === TERMINATING,
    );
    await Promise.all(names.map((n) => c.request('DELETE', `/api/v1/namespaces/${ns}/pods/${n}`)));
    // Every one of them is now in StopContainer, waiting out its 120 s grace period.
    await until('all stopping', () => rt.stopsWaiting === TERMINATING);
    const t0 = Date.now();
    await mkPod('fresh', 'sleep 1000');
    await until('fresh Ready', async () => isReady((await pods()).find((p) => p.metadata.name === 'fresh')));
    const took = Date.now() - t0;
    assert.equal(rt.stopsWaiting, TERMINATING, 'the terminating pods are still in their grace period');
    // A sync on the fake runtime is milliseconds; the bound is far above it (loaded machine) and
    // far below the grace period the fresh pod waited behind before.
    assert.ok(took < 30_000, `fresh pod Ready after ${took} ms`);
    // The grace periods end: every terminating pod is cleaned up and its object deleted.
    rt.releaseStops();
    await until('terminating pods gone', async () => (await pods()).every((p) => p.metadata.name === 'fresh'));
    await c.request('DELETE', `/api/v1/namespaces/${ns}/pods/fresh`);
    await until('fresh gone', async () => (await pods()).length === 0);
    // (the object's removal is followed by the agent's own clean-up sync: wait for it to end)
    await until('no sync running', () => agent.workers.active === 0);
  });
});
