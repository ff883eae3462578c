// `npm run bench -- controllers`: issue 14's controller workload — a Deployment of 1000 replicas
// from 0 to every pod ready, then its rolling update (a new image) to completion — on simulated
// nodes, driven once by Skiff's controllers (inside the `skiff server` process, as they run) and
// once by the real kube-controller-manager of kubectl's release (built by
// scripts/build-kube-controller-manager.sh; its deployment and replicaset controllers, JSON on
// the wire, client QPS/burst raised to 5000 as the scheduler bench gives kube-scheduler, no
// leader election) against a `skiff server --disable-controller-manager`. Everything else is the
// same in both runs: a fresh server process on SQLite (or etcd with --backend etcd), Skiff's
// scheduler in it binding the pods, and simulated kubelets in this process (test/fixtures/
// sim-nodes.ts: 50 nodes whose "kubelet" marks a bound pod Running and Ready, and removes a pod
// being deleted). Times are wall clock from the create (or the image change) to the Deployment's
// status saying done, as `kubectl rollout status` reads it; CPU is the controller side's
// process (for Skiff, the whole server: API server, scheduler and controllers together).
// Flags: --replicas N (default 1000), --backend sqlite|etcd, --skip-peer.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Informer, KubeClient } from '../src/kube/client/index.js';
import { startEtcd, type Etcd } from '../test/fixtures/etcd.js';
import { SimNodes } from '../test/fixtures/sim-nodes.js';
import { startSkiffServer, type SkiffServer } from '../test/e2e/kubectl-harness.js';

const arg = (k: string) => (process.argv.includes(k) ? process.argv[process.argv.indexOf(k) + 1] : undefined);
const REPLICAS = Number(arg('--replicas') ?? 1000);
const backend = (arg('--backend') ?? 'sqlite') as 'sqlite' | 'etcd';
const skipPeer = process.argv.includes('--skip-peer');
const NODES = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function buildPeer(): string | undefined {
  if (skipPeer) return undefined;
  const r = spawnSync('sh', [join(import.meta.dirname, '..', 'scripts', 'build-kube-controller-manager.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error('building kube-controller-manager failed (--skip-peer to run without it)');
  return r.stdout.trim().split('\n').pop();
}

interface Result {
  rolloutS: number;
  boundS: number;
  updateS: number;
  cpuS: number;
  maxPods: number;
}

async function run(side: 'skiff' | 'kube-controller-manager', peer: string | undefined): Promise<Result> {
  let etcd: Etcd | undefined;
  if (backend === 'etcd') etcd = await startEtcd();
  const srv: SkiffServer = await startSkiffServer(backend, {
    etcd,
    args: peer ? ['--disable-controller-manager'] : [],
  });
  const { server, ca, cert, key } = srv.creds;
  const c = new KubeClient({ server, ca, cert, key, userAgent: 'skiff-bench' });
  let kcm: ChildProcess | undefined;
  let stopping = false;
  const sim = new SimNodes(c, {
    nodes: Array.from({ length: NODES }, (_, i) => `bench-node-${i}`),
    bind: false,
    renewMs: 10_000,
    namespace: 'bench',
  });
  const pods = new Informer<any>(
    c,
    { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
    { add: () => void (maxPods = Math.max(maxPods, pods.list().filter((p) => !p.metadata.deletionTimestamp).length)) },
    { namespace: 'bench' },
  );
  let maxPods = 0;
  try {
    if (peer) {
      kcm = spawn(
        peer,
        [
          `--kubeconfig=${srv.kubeconfig}`,
          '--controllers=deployment,replicaset',
          '--leader-elect=false',
          '--secure-port=0',
          '--kube-api-content-type=application/json',
          '--kube-api-qps=5000',
          '--kube-api-burst=5000',
          '-v=1',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let log = '';
      kcm.stderr!.on('data', (d) => {
        log = (log + d).slice(-8000);
      });
      kcm.once('exit', (code) => {
        if (!stopping) process.stderr.write(`kube-controller-manager exited ${code}:\n${log}\n`);
      });
    }
    await c.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'bench' } } });
    await sim.start();
    await pods.start();
    const D = '/apis/apps/v1/namespaces/bench/deployments';
    const status = async () => (await c.request('GET', `${D}/bench`)) as any;
    const done = (d: any) =>
      d.status?.observedGeneration >= d.metadata.generation &&
      d.status?.updatedReplicas === REPLICAS &&
      d.status?.replicas === REPLICAS &&
      d.status?.availableReplicas === REPLICAS;
    const allBound = () => {
      const l = pods.list();
      return l.length >= REPLICAS && l.filter((p) => p.spec.nodeName).length >= REPLICAS;
    };
    const cpu0 = cpuSeconds(peer ? kcm?.pid : srv.proc.pid);
    const t0 = performance.now();
    await c.request('POST', D, {
      body: {
        metadata: { name: 'bench' },
        spec: {
          replicas: REPLICAS,
          selector: { matchLabels: { app: 'bench' } },
          template: {
            metadata: { labels: { app: 'bench' } },
            spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
          },
        },
      },
    });
    let boundS = 0;
    const deadline = Date.now() + 600_000;
    for (;;) {
      if (!boundS && allBound()) boundS = (performance.now() - t0) / 1000;
      if (done(await status())) break;
      if (Date.now() > deadline) throw new Error(`${side}: rollout of ${REPLICAS} not done in 10 min`);
      await sleep(50);
    }
    const rolloutS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await c.request('PATCH', `${D}/bench`, {
      contentType: 'application/strategic-merge-patch+json',
      body: { spec: { template: { spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } } } },
    });
    for (;;) {
      const d = await status();
      if (d.metadata.generation > 1 && done(d) && pods.list().length === REPLICAS) break;
      if (Date.now() > deadline) throw new Error(`${side}: rolling update of ${REPLICAS} not done in 10 min`);
      await sleep(50);
    }
    const updateS = (performance.now() - t1) / 1000;
    return { rolloutS, boundS, updateS, cpuS: cpuSeconds(peer ? kcm?.pid : srv.proc.pid) - cpu0, maxPods };
  } finally {
    stopping = true;
    pods.stop();
    sim.stop();
    c.close();
    if (kcm && kcm.exitCode === null) {
      kcm.kill('SIGTERM');
      await Promise.race([new Promise((r) => kcm!.once('exit', r)), sleep(5000)]);
      if (kcm.exitCode === null) kcm.kill('SIGKILL');
    }
    await srv.stop();
    await etcd?.stop();
  }
}

const peer = buildPeer();
process.stdout.write(
  `controllers bench: Deployment of ${REPLICAS} replicas on ${NODES} simulated nodes, ${backend}; load ${loadavg()[0].toFixed(1)}\n`,
);
const results: [string, Result][] = [];
for (const side of ['skiff', ...(peer ? ['kube-controller-manager' as const] : [])] as const) {
  const r = await run(side, side === 'skiff' ? undefined : peer);
  results.push([side, r]);
  process.stdout.write(
    `${side.padEnd(24)} 0→${REPLICAS} ready ${r.rolloutS.toFixed(1)} s (all bound ${r.boundS.toFixed(1)} s), ` +
      `rolling update ${r.updateS.toFixed(1)} s, max live pods ${r.maxPods}, CPU ${r.cpuS.toFixed(1)} s, load ${loadavg()[0].toFixed(1)}\n`,
  );
}
if (results.length === 2) {
  const [[, s], [, k]] = results;
  process.stdout.write(
    `ratio skiff / kube-controller-manager (time; < 1 is faster): create ${(s.rolloutS / k.rolloutS).toFixed(2)}, ` +
      `rolling update ${(s.updateS / k.updateS).toFixed(2)}\n` +
      `(CPU is not comparable: Skiff's figure is the whole server — API server, scheduler and controllers —, ` +
      `kube-controller-manager's only its own process)\n`,
  );
}
