// `npm run bench -- kube-client [--baseline=REV] [--requests=N] [--pods=N] [--rounds=N] [--heap=DIR]`: the API
// client's own cost per request and per watch event, this checkout's `src/kube/client` against the
// one of git revision REV (default `main`), A/B in one run against one API server.
//  - The API server (createApiServer on the memory store, a unix socket, no TLS) runs on this
//    process's main thread; each side's client runs in a worker thread of its own, bundled by
//    esbuild as releases are, and times itself: CPU from /proc/thread-self/schedstat (that thread
//    alone, in ns), allocation from a V8 sampling heap profile of that thread with the collected
//    objects included (a round of its own, since sampling costs CPU).
//  - requests: KubeClient.request POSTs of the scheduler's Scheduled Event, 32 in flight; the two
//    sides alternate, round after round, in the same process.
//  - watch events: both sides watch pods (watchEvents) at the same time while this thread creates
//    pods and binds them (an ADDED and a MODIFIED per pod, scheduler_perf's pod template); each
//    side counts the events it parsed.
// --heap=DIR keeps each side's last heap profiles there (requests-0 is A, watch-1 is B...).
// Prints µs and KB per request and per watch event of each side, each round, the load average beside.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';

const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const REV = arg('baseline') ?? 'main';
const REQUESTS = Number(arg('requests') ?? 4000);
const PODS = Number(arg('pods') ?? 1500);
const ROUNDS = Number(arg('rounds') ?? 3);
const INFLIGHT = 32;
const root = join(import.meta.dirname, '..');

// One side's client (plain JavaScript: a worker gets no TypeScript loader). Commands from the
// main thread: {op:'requests', n, heap} and {op:'watch', n, heap}; each answers {cpuNs, bytes, n}.
const SIDE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const { Session } = require('node:inspector/promises');
const cpuNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
async function heapStart(what) {
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.enable');
  await s.post('HeapProfiler.startSampling', { samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = await s.post('HeapProfiler.stopSampling');
    s.disconnect();
    if (workerData.heapDir)
      require('node:fs').writeFileSync(workerData.heapDir + '/' + what + '-' + workerData.name + '.heapprofile', JSON.stringify(profile));
    let bytes = 0;
    const walk = (n) => { bytes += n.selfSize; for (const c of n.children) walk(c); };
    walk(profile.head);
    return bytes;
  };
}
const ns = 'bench';
const event = (i) => ({ apiVersion: 'v1', kind: 'Event',
  metadata: { name: 'p-' + i + '.' + Date.now().toString(16) + '-' + workerData.name, namespace: ns },
  involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: ns, name: 'p-' + i, uid: 'uid-' + i, resourceVersion: '1' },
  reason: 'Scheduled', message: 'Successfully assigned ' + ns + '/p-' + i + ' to node-' + (i % 100), type: 'Normal',
  action: 'Binding', source: { component: 'default-scheduler' }, reportingComponent: 'default-scheduler',
  reportingInstance: 'default-scheduler-bench', firstTimestamp: '2026-12-07T00:00:00Z', lastTimestamp: '2026-12-07T00:00:00Z', count: 1 });
(async () => {
  const { KubeClient, watchEvents } = await import(workerData.bundle);
  const c = new KubeClient({ socketPath: workerData.socketPath, maxFreeSockets: ${INFLIGHT} });
  let watch;
  parentPort.on('message', async (m) => {
    if (m.op === 'requests') {
      const stop = m.heap ? await heapStart('requests') : undefined;
      const t0 = cpuNs();
      let next = 0;
      await Promise.all(Array.from({ length: ${INFLIGHT} }, async () => {
        while (next < m.n) await c.request('POST', '/api/v1/namespaces/' + ns + '/events', { body: event(next++) });
      }));
      const cpu = cpuNs() - t0;
      parentPort.postMessage({ cpuNs: cpu, bytes: stop ? await stop() : 0, n: m.n });
    } else if (m.op === 'watch') {
      const ac = new AbortController();
      const it = watchEvents(c, '/api/v1/namespaces/' + ns + '/pods', { resourceVersion: m.rv }, ac.signal);
      const first = await it.next(); // the stream is open once the first event arrived
      const stop = m.heap ? await heapStart('watch') : undefined;
      parentPort.postMessage({ ready: true });
      const t0 = cpuNs();
      let n = first.done ? 0 : 1;
      for await (const ev of it) if (++n >= m.n) break;
      const cpu = cpuNs() - t0;
      ac.abort();
      parentPort.postMessage({ cpuNs: cpu, bytes: stop ? await stop() : 0, n: n - 1 });
    } else if (m.op === 'parse') {
      // the parse alone: watchEvents over a stream of prepared chunks (no socket)
      const { Readable } = require('node:stream');
      const chunks = m.chunks.map((c) => Buffer.from(c));
      const fake = { stream: async () => Readable.from(chunks) };
      const stop = m.heap ? await heapStart('parse-' + m.name) : undefined;
      const t0 = cpuNs();
      let n = 0;
      for (let r = 0; r < m.repeat; r++) for await (const ev of watchEvents(fake, '/x', {})) n++;
      const cpu = cpuNs() - t0;
      parentPort.postMessage({ cpuNs: cpu, bytes: stop ? await stop() : 0, n });
    } else if (m.op === 'exit') { c.close(); process.exit(0); }
  });
  parentPort.postMessage({ ready: true });
})().catch((e) => { console.error(e); process.exit(1); });
`;

interface Result {
  cpuNs: number;
  bytes: number;
  n: number;
}

function call(w: Worker, msg: object, waitReady = false): Promise<Result> {
  return new Promise((res, rej) => {
    const on = (m: Result & { ready?: boolean }) => {
      if (m.ready && !waitReady) return;
      w.off('message', on);
      w.off('error', rej);
      res(m);
    };
    w.on('message', on);
    w.on('error', rej);
    w.postMessage(msg);
  });
}

async function bundle(srcRoot: string, outdir: string): Promise<string> {
  await build({
    entryPoints: { client: join(srcRoot, 'src', 'kube', 'client', 'index.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    nodePaths: [join(root, 'node_modules')],
    logLevel: 'error',
  });
  return join(outdir, 'client.mjs');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-kube-client-'));
  const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as never;
  const { allResources } = await import('../src/kube/api/index.js');
  const { createApiServer } = await import('../src/kube/apiserver/index.js');
  const { openStore } = await import('../src/kube/storage/index.js');
  const { KubeClient } = await import('../src/kube/client/index.js');
  const http = await import('node:http');
  const workers: Worker[] = [];
  const store = await openStore('memory://');
  const api = createApiServer({ store, resources: allResources(), log: quiet });
  const server = http.createServer((req, res) => api.handle(req, res));
  try {
    // the baseline's source: `git archive REV src`, beside this checkout's node_modules
    const base = join(dir, 'base');
    execFileSync('sh', ['-c', `mkdir -p ${base} && git archive ${REV} src | tar -x -C ${base}`], { cwd: root });
    const sides: [string, string][] = [
      [`${REV} (A)`, await bundle(base, join(dir, 'a'))],
      ['this checkout (B)', await bundle(root, join(dir, 'b'))],
    ];
    await api.start();
    server.keepAliveTimeout = 65_000;
    const socketPath = join(dir, 'api.sock');
    await new Promise<void>((r) => server.listen(socketPath, () => r()));
    const c = new KubeClient({ socketPath, userAgent: 'setup' });
    await c.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'bench' } } });
    for (const [name, bundlePath] of sides) {
      const w = new Worker(SIDE, {
        eval: true,
        workerData: { socketPath, bundle: bundlePath, name: workers.length, heapDir: arg('heap') },
      });
      await call(w, {}, true).catch(() => undefined);
      workers.push(w);
    }
    // warm-up: a tenth of a round each, not counted
    for (const w of workers) await call(w, { op: 'requests', n: Math.ceil(REQUESTS / 10) });
    const la = () => loadavg()[0].toFixed(1);
    const rows: string[] = [];
    const report = (what: string, name: string, r: Result, heap: boolean) =>
      rows.push(
        `${what.padEnd(30)} ${name.padEnd(18)} ${heap ? `${(r.bytes / r.n / 1024).toFixed(2).padStart(7)} KB` : `${(r.cpuNs / r.n / 1000).toFixed(1).padStart(7)} µs`}  (n ${r.n}, load ${la()})`,
      );
    for (let round = 0; round < ROUNDS; round++) {
      for (const heap of [false, true]) {
        const order = round % 2 ? [1, 0] : [0, 1];
        for (const i of order)
          report('per request', sides[i]![0], await call(workers[i]!, { op: 'requests', n: REQUESTS, heap }), heap);
      }
    }
    // watch events: both sides watch while pods are created and bound from this thread
    const container = { image: 'registry.k8s.io/pause:3.10', name: 'pause', ports: [{ containerPort: 80 }] };
    const pods = async (n: number, offset: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < n) {
            const name = `p-${offset + next++}`;
            const pod = await c.request('POST', '/api/v1/namespaces/bench/pods', {
              body: {
                metadata: { name, labels: { app: 'bench' } },
                spec: {
                  containers: [{ ...container, resources: { requests: { cpu: '100m', memory: '500Mi' } } }],
                },
              },
            });
            await c.request('POST', `/api/v1/namespaces/bench/pods/${name}/binding`, {
              body: { metadata: { name, uid: pod.metadata.uid }, target: { kind: 'Node', name: `node-${next % 100}` } },
            });
          }
        }),
      );
    };
    let offset = 0;
    for (let round = 0; round < ROUNDS * 2; round++) {
      const heap = round % 2 === 1;
      const list = await c.request('GET', '/api/v1/namespaces/bench/pods', { query: { limit: 1 } });
      const rv = list.metadata.resourceVersion;
      await pods(1, offset++); // the first event of each watch, not counted
      const done = workers.map((w) => call(w, { op: 'watch', n: PODS * 2 + 1, rv, heap }));
      await pods(PODS, offset);
      offset += PODS;
      const got = await Promise.all(done);
      got.forEach((r, i) => report('per event', sides[i]![0], r, heap));
    }
    // the parse alone, on prepared chunks: pod events one per chunk, 16 per chunk, and 256 KB
    // ConfigMap events cut in 16 KB chunks (TLS records: a node agent's watch over HTTPS)
    const samplePod = (await c.request('GET', '/api/v1/namespaces/bench/pods', { query: { limit: 1 } })).items[0];
    const podLine = (i: number) =>
      `${JSON.stringify({ type: 'MODIFIED', object: { ...samplePod, metadata: { ...samplePod.metadata, name: `p-${i}`, resourceVersion: String(i) } } })}\n`;
    const lines = Array.from({ length: 512 }, (_, i) => podLine(i));
    const big = (i: number) =>
      `${JSON.stringify({ type: 'MODIFIED', object: { kind: 'ConfigMap', metadata: { name: `big-${i}` }, data: { v: 'é'.repeat(128 * 1024) } } })}\n`;
    const bigBytes = Buffer.from(Array.from({ length: 8 }, (_, i) => big(i)).join(''));
    const cut = (b: Buffer, size: number) =>
      Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size));
    const sets: [string, Buffer[], number][] = [
      ['pod, 1/chunk', lines.map((l) => Buffer.from(l)), 8],
      [
        'pod, 16/chunk',
        Array.from({ length: 32 }, (_, i) => Buffer.from(lines.slice(i * 16, i * 16 + 16).join(''))),
        8,
      ],
      ['256 KB, 16 KB chunks', cut(bigBytes, 16 * 1024), 4],
    ];
    for (let round = 0; round < ROUNDS; round++)
      for (const heap of [false, true])
        for (const [name, chunks, repeat] of sets)
          for (const i of round % 2 ? [1, 0] : [0, 1])
            report(
              `parse ${name}`,
              sides[i]![0],
              await call(workers[i]!, { op: 'parse', name: name.replace(/\W+/g, '-'), chunks, repeat, heap }),
              heap,
            );
    c.close();
    process.stdout.write(
      `kube client: ${REV} (A) against this checkout (B); ${REQUESTS} requests and ${PODS * 2} pod events per round\n${rows.join('\n')}\n`,
    );
  } finally {
    for (const w of workers) await w.terminate();
    server.closeAllConnections();
    server.close();
    await api.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
