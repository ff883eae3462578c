// `npm run bench -- apicpu [--pods=N] [--updates=N] [--store=sqlite|memory] [--watchers=N] [--baseline=DIR] [--prof=DIR] [--heap=DIR]`:
// the API server's CPU per write request, on its own thread, free of the machine's load as far as
// CPU time can be: the API server (createApiServer, the default admission plugins, a unix socket,
// no TLS) runs on this process's main thread; the clients run in a worker thread (KubeClient, 32
// requests in flight), so the main thread's CPU (/proc/self/task/PID/stat) is the API server's
// alone. Phases, as SchedulingBasic and the etcd bench make them:
//  - pods: per pod its create (scheduler_perf's pod template), its pods/binding and its Scheduled
//    Event (the scheduler's recorder's body), with two pod watches open (one with the scheduler's
//    field selector `status.phase!=Succeeded,status.phase!=Failed`, one without, as the bench);
//  - updates: PUT of ConfigMaps carrying the last resourceVersion (the etcd bench's update).
// Prints µs of API-thread CPU per pod and per update, beside the same requests answered by a bare
// node:http handler that parses and answers each body (the floor of any API server in Node; the
// peer this bench names). --baseline=DIR runs the same in another
// checkout (a `git archive` of an older commit with node_modules linked) as a child process, one
// after the other, interleaved over --repeat rounds, for a same-run A/B. The machine's load average
// is printed beside each figure.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';

const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const PODS = Number(arg('pods') ?? 3000);
const UPDATES = Number(arg('updates') ?? 6000);
const STORE = arg('store') ?? 'sqlite';
const baseline = arg('baseline');
const REPEAT = Number(arg('repeat') ?? 1);
const prof = arg('prof');
// --heap=DIR: a sampling heap profile of the API thread over the measured phases, objects already
// collected included (what each request allocates, not what stays).
const heap = arg('heap');
const INFLIGHT = 32;
const FLOOR = process.argv.includes('--floor');

interface Job {
  socketPath: string;
  phase: 'pods' | 'updates';
  n: number;
  offset: number;
}

const container = {
  image: 'registry.k8s.io/pause:3.10',
  name: 'pause',
  ports: [{ containerPort: 80 }],
  resources: { limits: { cpu: '100m', memory: '500Mi' }, requests: { cpu: '100m', memory: '500Mi' } },
};

// The clients (plain JavaScript: a worker thread gets no TypeScript loader): node:http over the
// unix socket, keep-alive, INFLIGHT requests in flight as INFLIGHT loops.
const CLIENT = `
const http = require('node:http');
const { parentPort, workerData: job } = require('node:worker_threads');
const agent = new http.Agent({ keepAlive: true, maxSockets: ${INFLIGHT} });
const container = ${JSON.stringify(container)};
function req(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const r = http.request({ socketPath: job.socketPath, path, method, agent, headers: {
      'User-Agent': 'bench', Accept: 'application/json',
      ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode >= 300) reject(new Error(method + ' ' + path + ': ' + res.statusCode + ' ' + text));
        else resolve(JSON.parse(text));
      });
    });
    r.on('error', reject);
    r.end(data);
  });
}
const ns = 'bench';
const t = (d) => d.toISOString().replace(/\\.\\d+Z$/, 'Z');
const rv = new Map();
async function one(i) {
  if (job.phase === 'pods') {
    const name = 'p-' + (job.offset + i);
    const node = 'node-' + (i % 100);
    const pod = await req('POST', '/api/v1/namespaces/' + ns + '/pods',
      { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: {} }, spec: { containers: [container] } });
    await req('POST', '/api/v1/namespaces/' + ns + '/pods/' + name + '/binding', {
      apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns, uid: pod.metadata.uid },
      target: { apiVersion: 'v1', kind: 'Node', name: node } });
    const now = new Date();
    await req('POST', '/api/v1/namespaces/' + ns + '/events', {
      apiVersion: 'v1', kind: 'Event', metadata: { name: name + '.' + now.getTime().toString(16), namespace: ns },
      involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: ns, name, uid: pod.metadata.uid,
        resourceVersion: pod.metadata.resourceVersion },
      reason: 'Scheduled', message: 'Successfully assigned ' + ns + '/' + name + ' to ' + node, type: 'Normal',
      action: 'Binding', source: { component: 'default-scheduler' }, reportingComponent: 'default-scheduler',
      reportingInstance: 'default-scheduler-bench', firstTimestamp: t(now), lastTimestamp: t(now), count: 1 });
  } else {
    const k = i % 1000;
    const cm = await req('PUT', '/api/v1/namespaces/' + ns + '/configmaps/cm-' + k, {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-' + k, namespace: ns, resourceVersion: rv.get(k) },
      data: { value: 'v' + i, other: 'x'.repeat(64) } });
    rv.set(k, cm.metadata.resourceVersion);
  }
}
(async () => {
  if (job.phase === 'updates')
    for (let k = 0; k < 1000; k++) rv.set(k, (await req('GET', '/api/v1/namespaces/' + ns + '/configmaps/cm-' + k)).metadata.resourceVersion);
  parentPort.postMessage('start');
  await new Promise((r) => parentPort.once('message', () => r()));
  let next = 0;
  await Promise.all(Array.from({ length: ${INFLIGHT} }, async () => { while (next < job.n) await one(next++); }));
  agent.destroy();
  parentPort.postMessage('done');
})().catch((e) => { console.error(e); process.exit(1); });
`;

function threadCpuMs(): number {
  // the main thread's (tid = pid) time on a CPU, in ns (schedstat: finer than stat's 10 ms ticks)
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

async function runPhase(socketPath: string, phase: Job['phase'], n: number, offset: number): Promise<number> {
  const w = new Worker(CLIENT, { eval: true, workerData: { socketPath, phase, n, offset } satisfies Job });
  await new Promise<void>((res, rej) => {
    w.once('error', rej);
    w.once('message', () => res());
  });
  const cpu0 = threadCpuMs();
  w.postMessage('go');
  await new Promise<void>((res, rej) => {
    w.once('error', rej);
    w.once('message', () => res());
  });
  const cpu = threadCpuMs() - cpu0;
  await w.terminate();
  return cpu;
}

async function serverMain(): Promise<void> {
  const { allResources } = await import('../src/kube/api/index.js');
  const { createApiServer } = await import('../src/kube/apiserver/index.js');
  const { openStore } = await import('../src/kube/storage/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-apicpu-'));
  const store = await openStore(STORE === 'memory' ? 'memory://' : `sqlite://${join(dir, 'db.sqlite')}`);
  const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as never;
  const api = createApiServer({ store, resources: allResources(), log: quiet });
  await api.start();
  const socketPath = join(dir, 'api.sock');
  // --floor: the same requests answered by a bare node:http handler that parses the body and
  // answers it back with a uid and a resourceVersion (Node's HTTP and JSON alone: the floor any
  // API server in Node pays per request), in front of the same store for the setup.
  let rv = 1;
  const floor = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const obj = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : { metadata: {} };
      obj.metadata = { ...obj.metadata, uid: 'u', resourceVersion: String(++rv) };
      const text = JSON.stringify(obj);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
      res.end(text);
    });
  };
  let serveFloor = false;
  const server = http.createServer((req, res) => (serveFloor ? floor(req, res) : api.handle(req, res)));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(socketPath, () => r()));
  const { KubeClient } = await import('../src/kube/client/index.js');
  const c = new KubeClient({ socketPath, userAgent: 'setup' });
  await c.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'bench' } } });
  for (let k = 0; k < 1000; k++)
    await c.request('POST', '/api/v1/namespaces/bench/configmaps', {
      body: { metadata: { name: `cm-${k}` }, data: { value: 'v', other: 'x'.repeat(64) } },
    });
  // the watchers: the scheduler's (with its field selector) and the benchmark's (none), over HTTP
  const watches: http.ClientRequest[] = [];
  for (const q of ['?watch=1&fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed', '?watch=1']) {
    const req = http.get({ socketPath, path: `/api/v1/pods${q}`, headers: { 'User-Agent': 'watch' } }, (res) =>
      res.on('data', () => {}),
    );
    watches.push(req);
  }
  serveFloor = FLOOR;
  // warm-up (JIT, caches): a tenth of each phase, not counted
  if (PODS) await runPhase(socketPath, 'pods', Math.ceil(PODS / 10), 1_000_000);
  if (UPDATES) await runPhase(socketPath, 'updates', Math.ceil(UPDATES / 10), 0);
  let session: Session | undefined;
  if (prof) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  }
  let heapSession: Session | undefined;
  if (heap) {
    heapSession = new Session();
    heapSession.connect();
    await heapSession.post('HeapProfiler.enable');
    await heapSession.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const la0 = loadavg()[0];
  const podMs = PODS ? await runPhase(socketPath, 'pods', PODS, 0) : 0;
  const updMs = UPDATES ? await runPhase(socketPath, 'updates', UPDATES, 0) : 0;
  const la1 = loadavg()[0];
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(prof!, `apicpu-${process.pid}.cpuprofile`), JSON.stringify(profile));
  }
  if (heapSession) {
    const { profile } = await heapSession.post('HeapProfiler.stopSampling');
    writeFileSync(join(heap!, `apicpu-${process.pid}.heapprofile`), JSON.stringify(profile));
  }
  for (const w of watches) w.destroy();
  c.close?.();
  server.closeAllConnections();
  server.close();
  await api.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `${JSON.stringify({ podUs: PODS ? (podMs * 1000) / PODS : 0, updUs: UPDATES ? (updMs * 1000) / UPDATES : 0, la0, la1 })}\n`,
  );
}

if (process.env.SKIFF_APICPU_CHILD) {
  await serverMain();
} else {
  const here = join(import.meta.dirname, '..');
  const sides: [string, string, string[]][] = [['this checkout', here, []]];
  if (baseline) sides.push(['baseline', baseline, []]);
  // the floor: Node's HTTP and JSON alone for the same requests (see --floor)
  sides.push(['node:http floor', here, ['--floor']]);
  process.stdout.write(
    `API-thread CPU per request (${STORE} store; ${PODS} pods: create + binding + Scheduled event, 2 pod watches; ${UPDATES} ConfigMap PUTs)\n`,
  );
  const got = new Map<string, { pod: number[]; upd: number[] }>(sides.map(([n]) => [n, { pod: [], upd: [] }]));
  // Each side runs bundled as a release runs (esbuild, as bench/scheduler.ts does): through tsx
  // every closure made per request also pays esbuild's keepNames wrapper (Object.defineProperty).
  const bundles = new Map<string, string>();
  for (const [name, dir] of sides) {
    if (name === 'node:http floor') {
      bundles.set(name, bundles.get('this checkout')!);
      continue;
    }
    // An older checkout without this bench: the same bench, built against its sources.
    const own = join(dir, 'bench', 'apicpu.ts');
    if (!existsSync(own)) copyFileSync(join(here, 'bench', 'apicpu.ts'), own);
    const outdir = mkdtempSync(join(dir, 'node_modules', '.skiff-bench-build-'));
    await build({
      entryPoints: { apicpu: join(dir, 'bench', 'apicpu.ts') },
      outdir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      external: ['better-sqlite3', 'etcd3', '@grpc/*', 'cpu-features', 'ssh2', 'esbuild'],
      nodePaths: [join(dir, 'node_modules')],
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: 'error',
    });
    bundles.set(name, outdir);
  }
  for (let round = 0; round < REPEAT; round++)
    for (const [name, dir, extra] of round % 2 ? [...sides].reverse() : sides) {
      const r = spawnSync(
        process.execPath,
        [
          join(bundles.get(name)!, 'apicpu.mjs'),
          ...process.argv.slice(2).filter((a) => !a.startsWith('--baseline')),
          ...extra,
        ],
        {
          cwd: dir,
          env: { ...process.env, SKIFF_APICPU_CHILD: '1' },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const line = r.stdout.trim().split('\n').pop() ?? '';
      try {
        const x = JSON.parse(line) as { podUs: number; updUs: number; la0: number; la1: number };
        got.get(name)!.pod.push(x.podUs);
        got.get(name)!.upd.push(x.updUs);
        process.stdout.write(
          `${name.padEnd(14)} per pod ${x.podUs.toFixed(0).padStart(5)} µs   per update ${x.updUs.toFixed(0).padStart(5)} µs   load ${x.la0.toFixed(1)} → ${x.la1.toFixed(1)}\n`,
        );
      } catch {
        process.stdout.write(`${name}: failed (${r.status}): ${r.stdout}\n`);
      }
    }
  // Interference only adds CPU time (cache misses, context switches): the least of several rounds
  // is the steadiest figure on a busy machine; the median beside it.
  const mid = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  process.stdout.write(`summary over ${REPEAT} round(s), least / median µs of API-thread CPU:\n`);
  for (const [name, { pod, upd }] of got)
    if (pod.length)
      process.stdout.write(
        `${name.padEnd(14)} per pod ${Math.min(...pod).toFixed(0)} / ${mid(pod).toFixed(0)}   per update ${Math.min(...upd).toFixed(0)} / ${mid(upd).toFixed(0)}\n`,
      );
  const least = (n: string, k: 'pod' | 'upd') => Math.min(...(got.get(n)?.[k] ?? []));
  for (const other of ['baseline', 'node:http floor'])
    if (got.get(other)?.pod.length && got.get('this checkout')?.pod.length)
      process.stdout.write(
        `this checkout / ${other} (least): per pod ×${(least('this checkout', 'pod') / least(other, 'pod')).toFixed(2)}, per update ×${(least('this checkout', 'upd') / least(other, 'upd')).toFixed(2)}\n`,
      );
  for (const d of new Set(bundles.values())) rmSync(d, { recursive: true, force: true });
  process.stdout.write(
    `machine load average at the end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}\n`,
  );
  process.stdout.write(`to re-run: npm run bench -- apicpu ${process.argv.slice(2).join(' ')}\n`);
}
