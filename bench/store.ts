// `npm run bench -- store [--quick] [--only=sqlite,normal,etcd,floor]`: the Store layer under the API server, measured in one run
// for SQLite (the embedded default: durable, every acknowledged write fsynced, in groups), SQLite
// with the opt-in `?sync=normal` (no fsync at commit: survives a process crash, not power loss),
// the Skiff etcd backend, and etcd's own floor (the etcd3 client straight against the same etcd,
// doing the same guarded transactions and watches; etcd fsyncs every commit too).
//   1. single-key create and update latency p50/p99 at fixed open-loop rates (100, 500, 1000/s)
//   2. LIST of 10 000 keys (whole, and in pages of 500 as kubectl/informers do)
//   3. 1000 watchers on one prefix, each receiving every event written at 100 and 500/s: delivery
//      latency p50/p99, and the write p99 with those watchers attached
// Ratios are printed against the etcd floor. Targets (issue 7, API server on SQLite): write p99
// ≤ 25 ms at 500 writes/s; delivery to 1000 watchers p99 ≤ 100 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { openStore, type Store } from '../src/kube/storage/index.js';
import { startEtcd } from '../test/fixtures/etcd.js';

const quick = process.argv.includes('--quick');
const RATES = [100, 500, 1000];
const SECONDS = quick ? 1 : 3;
const LIST_KEYS = 10_000;
const WATCHERS = 1000;
const WATCH_RATES = [100, 500];
const WATCH_SECONDS = quick ? 1 : 2;

/** The operations a benchmark needs, so the raw etcd client can stand beside the stores. */
interface Target {
  name: string;
  create(key: string, value: Uint8Array): Promise<number>;
  update(key: string, value: Uint8Array, rev: number): Promise<number>;
  list(prefix: string, limit: number, cont?: string): Promise<{ n: number; cont?: string }>;
  /** onEvent gets the key of each PUT. */
  watch(prefix: string, onEvent: (key: string) => void): Promise<() => void>;
  close(): Promise<void>;
}

function storeTarget(name: string, s: Store): Target {
  return {
    name,
    create: async (k, v) => (await s.create(k, v)).modRevision,
    update: async (k, v, r) => (await s.update(k, v, r)).modRevision,
    list: async (p, limit, cont) => {
      const r = await s.list(p, { limit, continue: cont });
      return { n: r.items.length, cont: r.continue };
    },
    watch: async (p, on) => {
      // As the API server does: watch from a known revision (the list's), not from "whenever attached".
      const w = s.watch(p, await s.currentRevision());
      void (async () => {
        for await (const e of w) if (e.type === 'PUT') on(e.kv.key);
      })().catch(() => undefined);
      return () => w.close();
    },
    close: () => s.close(),
  };
}

function etcdFloor(endpoint: string): Target {
  const c = new Etcd3({
    hosts: `http://${endpoint}`,
    grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
  });
  const b = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const end = (p: string) => Buffer.from(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1));
  return {
    name: 'etcd (floor)',
    create: async (k, v) => {
      const r = await c.kv.txn({
        compare: [{ key: Buffer.from(k), target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: Buffer.from(k), value: b(v) } }],
      });
      if (!r.succeeded) throw new Error('exists');
      return Number(r.header.revision);
    },
    update: async (k, v, rev) => {
      const r = await c.kv.txn({
        compare: [{ key: Buffer.from(k), target: 'Mod', result: 'Equal', mod_revision: rev }],
        success: [{ request_put: { key: Buffer.from(k), value: b(v), prev_kv: true } }],
      });
      if (!r.succeeded) throw new Error('conflict');
      return Number(r.header.revision);
    },
    list: async (p, limit, cont) => {
      const r = await c.kv.range({ key: Buffer.from(cont ?? p), range_end: end(p), limit, revision: undefined });
      const last = r.kvs[r.kvs.length - 1];
      return { n: r.kvs.length, cont: r.more && last ? last.key.toString() + '\u0000' : undefined };
    },
    watch: async (p, on) => {
      const w = await c.watch().prefix(p).withPreviousKV().create();
      w.on('put', (kv) => on(kv.key.toString()));
      return () => void w.cancel();
    },
    close: async () => c.close(),
  };
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const ms = (x: number) => (Number.isNaN(x) ? '   -   ' : x.toFixed(2).padStart(7));
const payload = (n = 700) =>
  new TextEncoder().encode(JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'x' }, data: { v: 'x'.repeat(n) } }));

/** Open loop: op i starts at t0 + i/rate whatever the previous ones do; latency from its start. */
async function atRate(
  rate: number,
  seconds: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ lat: number[]; errors: number }> {
  const n = Math.round(rate * seconds);
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const start = performance.now();
    pending.push(
      op(i).then(
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
  return { lat, errors };
}

interface Row {
  name: string;
  results: Record<string, number>;
}

async function runTarget(t: Target, tag: string): Promise<Row> {
  const results: Record<string, number> = {};
  process.stderr.write(`[${t.name}] writes…\n`);
  for (const rate of RATES) {
    const revs: number[] = [];
    const v = payload();
    const c = await atRate(rate, SECONDS, async (i) => {
      revs[i] = await t.create(`/bench/${tag}/w${rate}/k${i}`, v);
    });
    const n = revs.length;
    const u = await atRate(rate, SECONDS, async (i) => {
      revs[i % n] = await t.update(`/bench/${tag}/w${rate}/k${i % n}`, v, revs[i % n]);
    });
    results[`create@${rate} p50`] = pct(c.lat, 50);
    results[`create@${rate} p99`] = pct(c.lat, 99);
    results[`update@${rate} p50`] = pct(u.lat, 50);
    results[`update@${rate} p99`] = pct(u.lat, 99);
    if (c.errors + u.errors) process.stderr.write(`[${t.name}] ${c.errors + u.errors} errors at ${rate}/s\n`);
  }
  process.stderr.write(`[${t.name}] list of ${LIST_KEYS}…\n`);
  const v = payload(1000);
  for (let i = 0; i < LIST_KEYS; i += 200) {
    await Promise.all(
      Array.from({ length: 200 }, (_, j) => t.create(`/bench/${tag}/list/k${String(i + j).padStart(6, '0')}`, v)),
    );
  }
  const whole: number[] = [];
  const paged: number[] = [];
  for (let rep = 0; rep < (quick ? 2 : 5); rep++) {
    let s = performance.now();
    const r = await t.list(`/bench/${tag}/list/`, 0);
    whole.push(performance.now() - s);
    if (r.n !== LIST_KEYS) throw new Error(`${t.name}: listed ${r.n} keys, not ${LIST_KEYS}`);
    s = performance.now();
    let cont: string | undefined;
    let total = 0;
    do {
      const p = await t.list(`/bench/${tag}/list/`, 500, cont);
      total += p.n;
      cont = p.cont;
    } while (cont);
    paged.push(performance.now() - s);
    if (total !== LIST_KEYS) throw new Error(`${t.name}: paged list saw ${total} keys`);
  }
  results['list 10k'] = pct(whole, 50);
  results['list 10k paged'] = pct(paged, 50);

  process.stderr.write(`[${t.name}] ${WATCHERS} watchers…\n`);
  let lat: number[] = [];
  const sentAt = new Map<string, number>();
  let received = 0;
  const stops: (() => void)[] = [];
  for (let i = 0; i < WATCHERS; i++) {
    stops.push(
      await t.watch(`/bench/${tag}/watch/`, (key) => {
        lat.push(performance.now() - sentAt.get(key)!);
        received++;
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 500));
  const wv = payload(500);
  // Writes at a fixed rate while every watcher receives every event: delivery latency, and the
  // write latency the API server would see with 1000 watchers attached.
  for (const rate of WATCH_RATES) {
    lat = [];
    received = 0;
    const n = Math.round(rate * WATCH_SECONDS);
    const w = await atRate(rate, WATCH_SECONDS, (i) => {
      const k = `/bench/${tag}/watch/r${rate}k${i}`;
      sentAt.set(k, performance.now());
      return t.create(k, wv);
    });
    const until = Date.now() + 30_000;
    while (received < WATCHERS * n && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    results[`watch@${rate} p50`] = pct(lat, 50);
    results[`watch@${rate} p99`] = pct(lat, 99);
    results[`watch@${rate} delivered %`] = (100 * received) / (WATCHERS * n);
    results[`create@${rate}+watchers p99`] = pct(w.lat, 99);
    // Drain what is still in flight before the next rate.
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const s of stops) s();
  return { name: t.name, results };
}

async function main(): Promise<void> {
  const dir = mkdtempSync('/tmp/skiff-bench-store-');
  const etcd = await startEtcd();
  const rows: Row[] = [];
  try {
    const tag = Date.now().toString(36);
    const only = process.argv
      .find((a) => a.startsWith('--only='))
      ?.slice(7)
      .split(',');
    const targets: [string, () => Promise<Target>, string][] = [
      [
        'sqlite',
        async () =>
          storeTarget('sqlite durable', await openStore(`sqlite://${join(dir, 'state.db')}`, { compactIntervalMs: 0 })),
        's',
      ],
      [
        'normal',
        async () =>
          storeTarget(
            'sqlite sync=normal',
            await openStore(`sqlite://${join(dir, 'normal.db')}?sync=normal`, { compactIntervalMs: 0 }),
          ),
        'n',
      ],
      [
        'etcd',
        async () => storeTarget('skiff etcd', await openStore(`etcd://${etcd.endpoint}`, { compactIntervalMs: 0 })),
        `e${tag}`,
      ],
      ['floor', async () => etcdFloor(etcd.endpoint), `r${tag}`],
    ];
    // A fresh etcd is slow for its first few thousand writes (its bbolt file grows): warm it up
    // so the first etcd target measured does not pay for that alone.
    if (!only || only.includes('etcd') || only.includes('floor')) {
      process.stderr.write('[etcd] warming up…\n');
      const warm = etcdFloor(etcd.endpoint);
      const v = payload(1000);
      for (let i = 0; i < 4000; i += 100)
        await Promise.all(Array.from({ length: 100 }, (_, j) => warm.create(`/warmup/${tag}/${i + j}`, v)));
      await warm.close();
    }
    // --only also sets the order (to check that order does not decide the result).
    const chosen = only ? only.map((id) => targets.find((x) => x[0] === id)).filter((x) => x !== undefined) : targets;
    for (const [n, [, make, t]] of chosen.entries()) {
      const target = await make();
      try {
        rows.push(await runTarget(target, `${t}${n}`));
      } finally {
        await target.close();
      }
    }
  } finally {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = rows.find((r) => r.name === 'etcd (floor)') ?? rows[rows.length - 1];
  const metrics = Object.keys(base.results);
  const head = [
    'metric (ms)'.padEnd(22),
    ...rows.map((r) => r.name.padStart(18)),
    ...rows.filter((r) => r !== base).map((r) => `${r.name}/floor`.padStart(24)),
  ];
  console.log(head.join(' '));
  for (const m of metrics) {
    const cells = rows.map((r) => ms(r.results[m]).padStart(18));
    const ratios = rows
      .filter((r) => r !== base)
      .map((r) => (m.endsWith('%') ? '' : (r.results[m] / base.results[m]).toFixed(2) + 'x').padStart(24));
    console.log([m.padEnd(22), ...cells, ...ratios].join(' '));
  }
  console.log(
    '\nsqlite durable = the default (WAL fdatasync-ed before a group of writes is acknowledged); sqlite sync=normal = the opt-in (no fsync at commit); etcd fsyncs every commit (its WAL).',
  );
  for (const sq of rows.filter((r) => r.name.startsWith('sqlite'))) {
    const s = sq.results;
    const w500 = Math.max(s['create@500 p99'], s['update@500 p99']);
    console.log(
      `targets (${sq.name}): write p99 at 500/s ≤ 25 ms (create, update): ${w500.toFixed(2)} → ${w500 <= 25 ? 'MET' : 'MISSED'} ` +
        `(with ${WATCHERS} watchers attached: ${s['create@500+watchers p99'].toFixed(2)}); ` +
        `delivery to ${WATCHERS} watchers p99 ≤ 100 ms at 100/s: ${s['watch@100 p99'].toFixed(2)}, at 500/s: ${s['watch@500 p99'].toFixed(2)} → ${s['watch@100 p99'] <= 100 ? 'MET' : 'MISSED'}`,
    );
  }
  const load = (await import('node:os')).loadavg()[0];
  console.log(
    `machine: ${(await import('node:os')).cpus().length} cores, load average ${load.toFixed(1)} at the end (figures are inflated when the machine is busy)`,
  );
}

await main();
