// `npm run bench -- etcd-txn [--rate=1000] [--seconds=5] [--repeat=3] [--objects=5000] [--only=a,b]`:
// what the shape of one update's etcd transaction costs etcd itself, at a fixed offered rate (open
// loop), with the store's own client (src/kube/storage/etcd/kv.ts) in this process and nothing else
// in front — so the differences are etcd's. Variants, interleaved round by round on one etcd (3.4,
// one member, WAL fsynced per commit, plain gRPC on loopback, `--metrics extensive`):
//  - small+prev: a 461-byte value (bench/etcd.ts's ConfigMap as sent) with prev_kv — the old floor;
//  - stored+prev: a 741-byte value (the same ConfigMap as Skiff's API server stores it: uid,
//    creationTimestamp, managedFields) with prev_kv — what the store sent per update until now;
//  - stored: the same value without prev_kv — kube-apiserver's GuaranteedUpdate (compare on
//    mod_revision, put, a range in the failure branch only), and the store now when it knows the
//    key's create revision;
//  - stored+busy: stored, while a sibling process burns ~60 % of one core in 6 ms slices (the API
//    server's CPU at 1000/s): etcd's latency when it shares the 2 cores with a busy process.
// Per variant and round: client p50 / p99, etcd's Txn handling / WAL fsync / backend commit p99,
// etcd's and this process's CPU per update.
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { EtcdKv } from '../src/kube/storage/etcd/kv.js';
import { startEtcd } from '../test/fixtures/etcd.js';
import { etcdP99, etcdSnapshot, procCpuMs, storedConfigMap } from './etcd-metrics.js';

const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const RATE = Number(arg('rate') ?? 1000);
const SECONDS = Number(arg('seconds') ?? 5);
const REPEAT = Number(arg('repeat') ?? 3);
const OBJECTS = Number(arg('objects') ?? 5000);
const only = arg('only')?.split(',');

// (bench/etcd.ts's ConfigMap as the bench sends it, and as Skiff stores it)
const cm = (name: string, v: string, stored: boolean) =>
  stored
    ? storedConfigMap(name, v)
    : JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: 'default' },
        data: { v, 'app.properties': 'log.level=info\n'.repeat(20) },
      });

interface Variant {
  name: string;
  stored: boolean;
  prevKv: boolean;
  busy: boolean;
}
const VARIANTS: Variant[] = [
  { name: 'small+prev', stored: false, prevKv: true, busy: false },
  { name: 'stored+prev', stored: true, prevKv: true, busy: false },
  { name: 'stored', stored: true, prevKv: false, busy: false },
  { name: 'stored+busy', stored: true, prevKv: false, busy: true },
].filter((v) => !only || only.includes(v.name));

interface Round {
  p50: number;
  p99: number;
  achieved: number;
  etcd: { txnP99: number; fsyncP99: number; commitP99: number };
  cpu: { etcd: number; client: number };
  load: number;
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const etcd = await startEtcd({ args: ['--metrics', 'extensive'] });
const kv = new EtcdKv({ endpoints: [etcd.endpoint], timeoutMs: 30_000 });
const revs = new Map<string, number>();
const update = async (v: Variant, i: number, tag: string) => {
  const name = `cm-${v.name}-${i % OBJECTS}`;
  const k = Buffer.from(`/registry/core/configmaps/default/${name}`);
  const rev = revs.get(name) ?? 0;
  const r = await kv.txn({
    compare: [
      rev
        ? { key: k, target: 'Mod', result: 'Equal', mod_revision: rev }
        : { key: k, target: 'Create', result: 'Equal', create_revision: 0 },
    ],
    success: [{ request_put: { key: k, value: Buffer.from(cm(name, tag, v.stored)), prev_kv: v.prevKv } }],
    failure: [{ request_range: { key: k } }],
  });
  if (!r.succeeded) throw new Error(`conflict on ${name}`);
  revs.set(name, Number(r.header.revision));
};

async function phase(v: Variant, tag: string): Promise<Round> {
  const burner = v.busy
    ? spawn(process.execPath, ['-e', 'setInterval(() => { const t = Date.now(); while (Date.now() - t < 6); }, 10);'])
    : undefined;
  try {
    if (burner) await sleep(300);
    return await measure(v, tag);
  } finally {
    if (burner) {
      burner.kill();
      await new Promise((r) => (burner.exitCode !== null ? r(undefined) : burner.once('exit', r)));
    }
  }
}

async function measure(v: Variant, tag: string): Promise<Round> {
  const n = RATE * SECONDS;
  const lat: number[] = [];
  const s0 = await etcdSnapshot(etcd.url);
  const c0 = { etcd: procCpuMs(etcd.pid), client: selfCpuMs() };
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 1) await sleep(wait);
    const start = performance.now();
    pending.push(update(v, i, `${tag}-${i}`).then(() => void lat.push(performance.now() - start)));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = { etcd: (procCpuMs(etcd.pid) - c0.etcd) / n, client: (selfCpuMs() - c0.client) / n };
  const s1 = await etcdSnapshot(etcd.url);
  return {
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    achieved: n / elapsed,
    etcd: etcdP99(s0, s1),
    cpu,
    load: loadavg()[0],
  };
}

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '—');
const show = (r: Round) =>
  `p50 ${f(r.p50)} p99 ${f(r.p99)} ms @${Math.round(r.achieved)}/s; etcd txn/fsync/commit p99 ${f(r.etcd.txnP99)}/${f(r.etcd.fsyncP99)}/${f(r.etcd.commitP99)}; CPU ms/update etcd ${r.cpu.etcd.toFixed(3)} client ${r.cpu.client.toFixed(3)}; load ${r.load.toFixed(1)}`;
const rounds = new Map<string, Round[]>(VARIANTS.map((v) => [v.name, []]));
try {
  process.stderr.write('seeding and warming etcd up…\n');
  for (const v of VARIANTS)
    for (let i = 0; i < OBJECTS; i += 100)
      await Promise.all(Array.from({ length: 100 }, (_, j) => update(v, i + j, 'seed')));
  for (const v of VARIANTS) await phase(v, 'warm');
  for (let rep = 0; rep < REPEAT; rep++)
    for (const v of VARIANTS) {
      const r = await phase(v, `r${rep}`);
      rounds.get(v.name)!.push(r);
      process.stderr.write(`round ${rep + 1} ${v.name.padEnd(12)} ${show(r)}\n`);
      await sleep(500);
    }
} finally {
  kv.close();
  await etcd.stop();
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.log(
  `\netcd Txn shapes at ${RATE}/s offered, ${SECONDS} s per round, ${REPEAT} rounds (medians of the rounds):\n`,
);
for (const v of VARIANTS) {
  const rs = rounds.get(v.name)!;
  console.log(
    `${v.name.padEnd(12)} p99 ${f(med(rs.map((r) => r.p99)))} ms (rounds ${rs.map((r) => f(r.p99)).join(', ')}); etcd txn ${f(med(rs.map((r) => r.etcd.txnP99)))} fsync ${f(med(rs.map((r) => r.etcd.fsyncP99)))} commit ${f(med(rs.map((r) => r.etcd.commitP99)))} ms; etcd CPU ${med(rs.map((r) => r.cpu.etcd)).toFixed(3)} ms/update`,
  );
}
console.log(`machine: ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} at the end`);
console.log(`to re-run: npm run bench -- etcd-txn ${process.argv.slice(2).join(' ')}`);
process.exit(0);
