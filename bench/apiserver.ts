// `npm run bench -- apiserver`: the Kubernetes API server on SQLite and on etcd, with etcd itself
// as the floor, in one run:
//  - single-object create / get / update latency p50/p99 at 100, 500 and 1000 requests/s (open loop);
//  - LIST of 10 000 objects;
//  - 1000 concurrent watchers receiving every event (delivery latency p50/p99);
//  - cold start of `skiff server` to /readyz (first start with PKI, and a restart) and idle RSS.
// Skiff is measured over HTTP/1.1 keep-alive on loopback (TLS is the same for both stores and is
// left out so the numbers compare the API machinery and its store with etcd's own API).
// SQLite is measured in its default, durable mode (every acknowledged write fsynced, in groups) and
// with the opt-in `?sync=normal` (no fsync at commit).
// Flags: --quick (shorter phases), --only sqlite|normal|etcd.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { build } from 'esbuild';
import { Worker } from 'node:worker_threads';
import { createApiServer } from '../src/kube/apiserver/index.js';
import { allResources } from '../src/kube/api/index.js';
import { openStore } from '../src/kube/storage/index.js';
import { startEtcd } from '../test/fixtures/etcd.js';

const quick = process.argv.includes('--quick');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const RATES = [100, 500, 1000];
const PHASE_S = quick ? 1 : 3;
const LIST_N = 10_000;
const WATCHERS = 1000;
const WATCH_EVENTS = quick ? 20 : 50;
const ROOT = join(import.meta.dirname, '..');

/** Watch clients for a worker thread: n watches on one URL; posts [value, arrival time] batches. */
const WATCH_CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
let open = 0, batch = [];
setInterval(() => { if (batch.length) { parentPort.postMessage({ events: batch }); batch = []; } }, 10).unref();
for (let i = 0; i < workerData.n; i++) {
  http.get(workerData.url, { agent }, (res) => {
    if (++open === workerData.n) parentPort.postMessage({ ready: true });
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d) => {
      buf += d;
      let k;
      while ((k = buf.indexOf('\\n')) >= 0) {
        const line = buf.slice(0, k); buf = buf.slice(k + 1);
        const m = /"v":"([^"]+)"/.exec(line);
        if (m) batch.push([m[1], performance.timeOrigin + performance.now()]);
      }
    });
    res.on('error', () => {});
  }).on('error', () => {});
}
`;

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '—');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Target {
  name: string;
  create(i: number): Promise<void>;
  get(i: number): Promise<void>;
  update(i: number): Promise<void>;
  seed(n: number): Promise<void>;
  list(): Promise<number>;
  /** `at`: arrival time (performance.timeOrigin-based ms) when measured off the main thread. */
  watchers(n: number, onEvent: (key: string, at?: number) => void): Promise<() => void>;
  touch(i: number): Promise<void>;
  close(): Promise<void>;
}

/** Open-loop load: one request every 1/rate s for PHASE_S s, latency of each. */
async function atRate(
  rate: number,
  op: (i: number) => Promise<void>,
  offset: number,
): Promise<{ p50: number; p99: number; errors: number; achieved: number }> {
  const n = rate * PHASE_S;
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const start = performance.now();
    pending.push(
      op(offset + i).then(
        () => {
          lat.push(performance.now() - start);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - t0) / 1000;
  return { p50: pct(lat, 50), p99: pct(lat, 99), errors, achieved: n / elapsed };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
function req(
  base: string,
  method: string,
  path: string,
  body?: string,
  type = 'application/json',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      base + path,
      { method, agent, headers: body ? { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) } : {} },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          data += d;
        });
        res.on('end', () =>
          res.statusCode! >= 300
            ? reject(new Error(`${method} ${path}: ${res.statusCode} ${data.slice(0, 200)}`))
            : resolve({ status: res.statusCode!, body: data }),
        );
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

async function skiffTarget(name: string, url: string): Promise<Target> {
  const store = await openStore(url);
  const api = createApiServer({
    store,
    resources: allResources(),
    log: {
      debug() {},
      info() {},
      warn() {},
      error() {},
      child() {
        return this;
      },
    } as never,
  });
  const { url: base } = await api.listen(0);
  const ns = '/api/v1/namespaces/default/configmaps';
  const cm = (n: string, v: string) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n }, data: { v } });
  return {
    name,
    create: async (i) => {
      await req(base, 'POST', ns, cm(`c-${i}`, '1'));
    },
    get: async (i) => {
      await req(base, 'GET', `${ns}/c-${i % 100}`);
    },
    update: async (i) => {
      await req(base, 'PUT', `${ns}/c-${i % 100}`, cm(`c-${i % 100}`, String(i)));
    },
    seed: async (n) => {
      for (let i = 0; i < n; i += 200)
        await Promise.all(
          Array.from({ length: Math.min(200, n - i) }, (_, j) =>
            req(base, 'POST', '/api/v1/namespaces/kube-public/configmaps', cm(`l-${i + j}`, 'x')),
          ),
        );
    },
    list: async () =>
      JSON.parse((await req(base, 'GET', '/api/v1/namespaces/kube-public/configmaps')).body).items.length,
    watchers: async (n, onEvent) => {
      const rv = JSON.parse((await req(base, 'GET', `${ns}?limit=1`)).body).metadata.resourceVersion;
      // The watch clients run in a worker thread (like real watchers, in another process than the
      // server) and time each event on arrival there; the etcd floor's client multiplexes its
      // watchers over one gRPC stream, so it needs no such help.
      const w = new Worker(WATCH_CLIENT, {
        eval: true,
        workerData: { url: `${base}${ns}?watch=1&resourceVersion=${rv}&labelSelector=w%3Dy`, n },
      });
      await new Promise<void>((resolve, reject) => {
        w.on('message', (m: { ready?: boolean; events?: [string, number][] }) => {
          if (m.ready) resolve();
          for (const [v, at] of m.events ?? []) onEvent(v, at);
        });
        w.once('error', reject);
      });
      return () => {
        void w.terminate();
      };
    },
    touch: async (i) => {
      await req(
        base,
        i < 0 ? 'POST' : 'PUT',
        i < 0 ? ns : `${ns}/watched`,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'watched', labels: { w: 'y' } },
          data: { v: String(i) },
        }),
      );
    },
    close: async () => {
      await api.close();
      await store.close();
    },
  };
}

async function etcdTarget(endpoint: string): Promise<Target> {
  const c = new Etcd3({ hosts: `http://${endpoint}` });
  const v = (n: string, x: string) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: n, namespace: 'default' },
      data: { v: x },
    });
  return {
    name: 'etcd (floor)',
    create: async (i) => {
      await c.put(`/floor/cm/c-${i}`).value(v(`c-${i}`, '1'));
    },
    get: async (i) => {
      await c.get(`/floor/cm/c-${i % 100}`).string();
    },
    update: async (i) => {
      await c.put(`/floor/cm/c-${i % 100}`).value(v(`c-${i % 100}`, String(i)));
    },
    seed: async (n) => {
      for (let i = 0; i < n; i += 200)
        await Promise.all(
          Array.from({ length: Math.min(200, n - i) }, (_, j) =>
            c.put(`/floor/list/l-${i + j}`).value(v(`l-${i + j}`, 'x')),
          ),
        );
    },
    list: async () =>
      (await c.getAll().prefix('/floor/list/').strings()) &&
      Object.keys(await c.getAll().prefix('/floor/list/').keys()).length,
    watchers: async (n, onEvent) => {
      const ws = await Promise.all(Array.from({ length: n }, () => c.watch().key('/floor/watched').create()));
      for (const w of ws)
        w.on('put', (kv) => {
          const m = /"v":"([^"]+)"/.exec(kv.value.toString());
          if (m) onEvent(m[1]);
        });
      return () => {
        for (const w of ws) void w.cancel();
      };
    },
    touch: async (i) => {
      await c.put('/floor/watched').value(v('watched', String(i)));
    },
    close: async () => {
      c.close();
    },
  };
}

async function measure(t: Target): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let offset = 0;
  // Warm up and create the objects get/update address.
  for (let i = 0; i < 100; i++) await t.create(1_000_000 + i).catch(() => {});
  await Promise.all(Array.from({ length: 100 }, (_, i) => t.update(i).catch(() => {})));
  for (const rate of RATES) {
    for (const [op, fn] of [
      ['create', t.create],
      ['get', t.get],
      ['update', t.update],
    ] as const) {
      const r = await atRate(rate, fn, offset);
      offset += rate * PHASE_S;
      out[`${op}@${rate}`] =
        `${f(r.p50)} / ${f(r.p99)}${r.errors ? ` (${r.errors} err)` : ''}${r.achieved < rate * 0.9 ? ` (${Math.round(r.achieved)}/s)` : ''}`;
    }
  }
  await t.seed(LIST_N);
  const lt: number[] = [];
  let count = 0;
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    count = await t.list();
    lt.push(performance.now() - s);
  }
  out[`list ${LIST_N}`] = `${f(Math.min(...lt))} ms (${count} items)`;
  // Watch fan-out.
  await t.touch(-1);
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const now = () => performance.timeOrigin + performance.now();
  const stop = await t.watchers(WATCHERS, (key, at) => {
    const s = sent.get(key);
    if (s !== undefined) lat.push((at ?? now()) - s);
  });
  await sleep(500);
  for (let i = 0; i < WATCH_EVENTS; i++) {
    sent.set(String(i), now());
    await t.touch(i);
    await sleep(50);
  }
  const deadline = Date.now() + 10_000;
  while (lat.length < WATCHERS * WATCH_EVENTS && Date.now() < deadline) await sleep(50);
  stop();
  out[`watch ${WATCHERS}×${WATCH_EVENTS}`] =
    `${f(pct(lat, 50))} / ${f(pct(lat, 99))} ms (${lat.length}/${WATCHERS * WATCH_EVENTS} delivered)`;
  return out;
}

async function coldStart(): Promise<Record<string, string>> {
  // Inside the repository so the bundle resolves its external packages from node_modules.
  const outdir = mkdtempSync(join(ROOT, 'node_modules', '.skiff-bench-build-'));
  await build({
    entryPoints: { skiff: join(ROOT, 'src/cli/main.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['better-sqlite3', 'etcd3', '@grpc/*', 'cpu-features', 'ssh2'],
    nodePaths: [join(ROOT, 'node_modules')],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'error',
  });
  const data = mkdtempSync(join(tmpdir(), 'skiff-bench-server-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const run = async () => {
    const t0 = performance.now();
    const p = spawn(
      process.execPath,
      [
        join(outdir, 'skiff.mjs'),
        'server',
        '--data-dir',
        data,
        '--https-listen',
        `127.0.0.1:${port}`,
        '--disable-agent',
      ],
      { stdio: 'ignore', env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), SKIFF_LOG: 'warn' } },
    );
    const https = await import('node:https');
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        https
          .get(`https://127.0.0.1:${port}/readyz`, { rejectUnauthorized: false }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          })
          .on('error', () => resolve(false));
      });
      if (ok) break;
      if (p.exitCode !== null) throw new Error('server exited');
      await sleep(5);
    }
    return { ms: performance.now() - t0, p };
  };
  let first,
    second,
    rss = 0;
  try {
    first = await run();
    first.p.kill('SIGTERM');
    await new Promise((r) => first!.p.once('exit', r));
    second = await run();
    await sleep(3000);
    rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${second.p.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    second.p.kill('SIGTERM');
    await new Promise((r) => second!.p.once('exit', r));
  } finally {
    for (const x of [first, second]) if (x && x.p.exitCode === null && x.p.signalCode === null) x.p.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
    rmSync(outdir, { recursive: true, force: true });
  }
  return {
    'cold start (first, with PKI)': `${f(first.ms)} ms`,
    'cold start (restart)': `${f(second.ms)} ms`,
    'idle RSS': `${f(rss)} MB`,
  };
}

const etcd = await startEtcd();
const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-apiserver-'));
const results: Record<string, Record<string, string>> = {};
try {
  const targets: (() => Promise<Target>)[] = [];
  if (!only || only === 'sqlite')
    targets.push(() => skiffTarget('skiff on sqlite (durable)', `sqlite://${join(dir, 'bench.db')}`));
  if (!only || only === 'normal')
    targets.push(() => skiffTarget('skiff on sqlite sync=normal', `sqlite://${join(dir, 'normal.db')}?sync=normal`));
  if (!only || only === 'etcd') targets.push(() => skiffTarget('skiff on etcd', `etcd://${etcd.endpoint}`));
  targets.push(() => etcdTarget(etcd.endpoint));
  for (const mk of targets) {
    const t = await mk();
    process.stderr.write(`measuring ${t.name}…\n`);
    try {
      results[t.name] = await measure(t);
    } finally {
      await t.close();
    }
  }
  process.stderr.write('measuring cold start…\n');
  results['skiff server'] = await coldStart();
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
  agent.destroy();
}

const names = Object.keys(results).filter((n) => n !== 'skiff server');
const rows = Object.keys(results[names[0]]);
const floor = results['etcd (floor)'];
console.log(
  `\napiserver benchmark (latency p50 / p99 in ms; ${PHASE_S}s per rate; load average ${(await import('node:os')).loadavg()[0].toFixed(1)})\n`,
);
console.log(['', ...names].map((x) => x.padEnd(34)).join(''));
for (const r of rows) console.log([r, ...names.map((n) => results[n][r] ?? '')].map((x) => x.padEnd(34)).join(''));
const p99 = (s: string | undefined) => Number(s?.split(' / ')[1]?.split(' ')[0]);
console.log('\nratios of p99 against etcd (floor):');
for (const n of names.filter((x) => x !== 'etcd (floor)')) {
  console.log(
    `  ${n}: ` +
      ['create@500', 'get@500', 'update@500']
        .map((r) => `${r} ×${(p99(results[n][r]) / p99(floor?.[r])).toFixed(1)}`)
        .join(', ') +
      `, watch ×${(p99(results[n][`watch ${WATCHERS}×${WATCH_EVENTS}`]) / p99(floor?.[`watch ${WATCHERS}×${WATCH_EVENTS}`])).toFixed(1)}`,
  );
}
for (const [k, v] of Object.entries(results['skiff server'])) console.log(`${k}: ${v}`);
for (const [name, sq] of Object.entries(results).filter(([n]) => n.startsWith('skiff on sqlite'))) {
  const w = Math.max(p99(sq['create@500']), p99(sq['update@500']));
  console.log(
    `\ntargets on ${name}: write p99 at 500/s ${f(w)} ms (≤ 25) ${w <= 25 ? 'MET' : 'MISSED'}; watch delivery p99 ${f(p99(sq[`watch ${WATCHERS}×${WATCH_EVENTS}`]))} ms (≤ 100); cold start ${results['skiff server']['cold start (restart)']} (≤ 1000); idle RSS ${results['skiff server']['idle RSS']} (≤ 80)`,
  );
}
process.exit(0);
