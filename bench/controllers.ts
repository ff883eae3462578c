// `npm run bench -- controllers`: issue 14's controller workload — a Deployment of 1000 replicas
// from 0 to every pod ready, then its rolling update (a new image) to completion — on simulated
// nodes, driven once by Skiff's controllers (inside the `skiff server` process, as they run) and
// once by the real kube-controller-manager of kubectl's release (built by
// scripts/build-kube-controller-manager.sh; its deployment, replicaset and serviceaccount
// controllers, JSON on the wire, client QPS/burst raised to 5000 as the scheduler bench gives
// kube-scheduler, no leader election) against a `skiff server --disable-controller-manager`. Everything else is the
// same in both runs: a fresh server process on SQLite (or etcd with --backend etcd), Skiff's
// scheduler in it binding the pods, and simulated kubelets in this process (test/fixtures/
// sim-nodes.ts: 50 nodes whose "kubelet" marks a bound pod Running and Ready, and removes a pod
// being deleted). Times are wall clock from the create (or the image change) to the Deployment's
// status saying done, as `kubectl rollout status` reads it; CPU is the whole control plane's
// (Skiff: the server process with API server, scheduler and controllers; the peer: its process
// plus the server's); store writes are the store revision's advance per phase (all clients).
// Flags: --replicas N (default 1000), --backend sqlite|etcd, --skip-peer, --rounds N (alternating
// order), --trace (progress each second on stderr), --prof DIR (the server under node --cpu-prof).
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
const profDir = arg('--prof');
const trace = process.argv.includes('--trace');
const ROUNDS = Math.max(1, Number(arg('--rounds') ?? 1));
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
  serverCpuS: number;
  writesCreate: number;
  writesUpdate: number;
  maxPods: number;
}

async function run(side: 'skiff' | 'kube-controller-manager', peer: string | undefined): Promise<Result> {
  let etcd: Etcd | undefined;
  if (backend === 'etcd') etcd = await startEtcd();
  const srv: SkiffServer = await startSkiffServer(backend, {
    etcd,
    args: peer ? ['--disable-controller-manager'] : [],
    nodeArgs: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
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
          '--controllers=deployment,replicaset,serviceaccount',
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
    // Pods need the namespace's default ServiceAccount (admission): made by either side's
    // ServiceAccount controller before the clock starts.
    for (
      let i = 0;
      !(await c.request('GET', '/api/v1/namespaces/bench/serviceaccounts/default').catch(() => undefined));
      i++
    ) {
      if (i > 600) throw new Error(`${side}: no default ServiceAccount in 60 s`);
      await sleep(100);
    }
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
    // The store's revision counts every write from every client (controllers, scheduler, the
    // simulated kubelets' pod status and Lease renewals): a same-run comparison of round trips.
    const rv = async () =>
      Number(((await c.request('GET', '/api/v1/namespaces?limit=1')) as any).metadata.resourceVersion);
    const cpu0 = cpuSeconds(peer ? kcm?.pid : srv.proc.pid);
    const srvCpu0 = cpuSeconds(srv.proc.pid);
    const rv0 = await rv();
    let lastTrace = 0;
    const tracePoint = (phase: string, t: number, d: any) => {
      if (!trace || performance.now() - lastTrace < 1000) return;
      lastTrace = performance.now();
      const st = d.status ?? {};
      const live = pods.list().filter((p) => !p.metadata.deletionTimestamp);
      process.stderr.write(
        `  ${phase} ${((performance.now() - t) / 1000).toFixed(1)} s: replicas ${st.replicas} updated ${st.updatedReplicas} ` +
          `ready ${st.readyReplicas} available ${st.availableReplicas}; live pods ${live.length}, bound ${live.filter((p) => p.spec.nodeName).length}\n`,
      );
    };
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
    let deadline = Date.now() + 600_000;
    for (;;) {
      if (!boundS && allBound()) boundS = (performance.now() - t0) / 1000;
      const d = await status();
      tracePoint('create', t0, d);
      if (done(d)) break;
      if (Date.now() > deadline) throw new Error(`${side}: rollout of ${REPLICAS} not done in 10 min`);
      await sleep(50);
    }
    const rolloutS = (performance.now() - t0) / 1000;
    const rv1 = await rv();
    process.stdout.write(`${side}: 0→${REPLICAS} ready in ${rolloutS.toFixed(1)} s\n`);
    deadline = Date.now() + 600_000;
    const t1 = performance.now();
    await c.request('PATCH', `${D}/bench`, {
      contentType: 'application/strategic-merge-patch+json',
      body: { spec: { template: { spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] } } } },
    });
    for (;;) {
      const d = await status();
      tracePoint('update', t1, d);
      if (d.metadata.generation > 1 && done(d) && pods.list().length === REPLICAS) break;
      if (Date.now() > deadline)
        throw new Error(`${side}: rolling update of ${REPLICAS} not done in 10 min: ${JSON.stringify(d.status)}`);
      await sleep(50);
    }
    const updateS = (performance.now() - t1) / 1000;
    const rv2 = await rv();
    return {
      rolloutS,
      boundS,
      updateS,
      cpuS: cpuSeconds(peer ? kcm?.pid : srv.proc.pid) - cpu0,
      serverCpuS: cpuSeconds(srv.proc.pid) - srvCpu0,
      writesCreate: rv1 - rv0,
      writesUpdate: rv2 - rv1,
      maxPods,
    };
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
// Rounds alternate the order (skiff, peer, then peer, skiff, ...) so a load that drifts during
// the run does not favour one side; the summary compares each side's medians.
const results: ['skiff' | 'kube-controller-manager', Result][] = [];
for (let round = 0; round < ROUNDS; round++) {
  const sides = peer ? (['skiff', 'kube-controller-manager'] as const) : (['skiff'] as const);
  for (const side of round % 2 ? [...sides].reverse() : sides) {
    const r = await run(side, side === 'skiff' ? undefined : peer);
    results.push([side, r]);
    process.stdout.write(
      `${side.padEnd(24)} 0→${REPLICAS} ready ${r.rolloutS.toFixed(1)} s (all bound ${r.boundS.toFixed(1)} s), ` +
        `rolling update ${r.updateS.toFixed(1)} s, max live pods ${r.maxPods}, ` +
        (side === 'skiff'
          ? `server CPU ${r.serverCpuS.toFixed(1)} s`
          : `its CPU ${r.cpuS.toFixed(1)} s + server CPU ${r.serverCpuS.toFixed(1)} s`) +
        `, store writes ${r.writesCreate} + ${r.writesUpdate}, load ${loadavg()[0].toFixed(1)}\n`,
    );
  }
}
const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const med = (side: string, f: (r: Result) => number) =>
  median(results.filter(([s]) => s === side).map(([, r]) => f(r)));
if (peer) {
  const S = 'skiff',
    K = 'kube-controller-manager';
  const ratio = (f: (r: Result) => number) => (med(S, f) / med(K, f)).toFixed(2);
  process.stdout.write(
    `ratio skiff / kube-controller-manager, medians of ${ROUNDS} round(s) (time; < 1 is faster): ` +
      `create ${ratio((r) => r.rolloutS)}, rolling update ${ratio((r) => r.updateS)}\n` +
      `CPU (whole control plane; < 1 is less): ${(med(S, (r) => r.serverCpuS) / med(K, (r) => r.cpuS + r.serverCpuS)).toFixed(2)} ` +
      `(Skiff: one server process with API server, scheduler and controllers; the peer: its own process plus ` +
      `Skiff's server with the API server and scheduler)\n`,
  );
}
process.stdout.write(
  `load average at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n`,
);
