// Child process of `npm run bench -- etcd`: Skiff's Kubernetes API server as `skiff server` builds
// it (startKubeApiServer: HTTPS with client certificates, RBAC, the default admission plugins,
// Secrets encrypted at rest), alone in its own process (as kube-apiserver runs apart from etcd and
// from its clients), on the datastore named by the URL. Prints the kubeconfig path when ready.
//   node --import tsx bench/etcd-child.ts DATA_DIR DATASTORE_URL
// Besides its CPU time, it reports per phase where an update's latency goes inside this process:
// the time spent in store.update (the datastore's own round trip), the event loop's delay
// (monitorEventLoopDelay: how long a ready callback waited for the thread) and GC pauses.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createLogger } from '../src/common/index.js';
import { startKubeApiServer } from '../src/kube/apiserver/index.js';

const [dataDir, datastore] = process.argv.slice(2);
const srv = await startKubeApiServer({
  dataDir,
  datastore,
  host: '127.0.0.1',
  port: 0,
  clientHost: '127.0.0.1',
  log: createLogger({}, { level: 'warn' }),
});

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
// (minor = scavenges of the young generation; major = mark-sweep/compact and its incremental steps)
let gc = { count: 0, ms: 0, maxMs: 0, major: 0, majorMaxMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
    if (traceFile)
      trace.gc.push(epoch(e.startTime), e.duration, (e as { detail?: { kind?: number } }).detail?.kind ?? 0);
    if (e.duration > gc.maxMs) gc.maxMs = e.duration;
    if ((e as { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR) {
      gc.major++;
      if (e.duration > gc.majorMaxMs) gc.majorMaxMs = e.duration;
    }
  }
}).observe({ entryTypes: ['gc'] });
// (the bench child only: the store's update timed from outside, as the API server calls it)
let storeMs: number[] = [];
// SKIFF_BENCH_TRACE=FILE: every store.update (start, duration), GC pause (start, duration, kind)
// and event-loop stall over 2 ms (start, length), on the epoch clock in ms, written at exit — to
// line a latency episode the bench saw up with what happened in this process at that moment.
const traceFile = process.env.SKIFF_BENCH_TRACE;
const trace = { store: [] as number[], gc: [] as number[], stall: [] as number[] };
const epoch = (t: number) => performance.timeOrigin + t;
if (traceFile) {
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 3) trace.stall.push(epoch(last), now - last - 1);
    last = now;
  }, 1).unref();
}
const store = srv.store;
const update = store.update.bind(store);
store.update = async (key, value, rev) => {
  const t = performance.now();
  try {
    return await update(key, value, rev);
  } finally {
    const d = performance.now() - t;
    storeMs.push(d);
    if (traceFile) trace.store.push(epoch(t), d);
  }
};
const pct = (xs: number[], p: number) => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

process.stdout.write(`ready ${srv.kubeconfigPath}\n`);
// The bench asks for this process's CPU time around each phase (CPU per update does not depend
// on how busy the machine is, unlike latency), and for the latency breakdown since the last ask.
// SKIFF_BENCH_PHASE_PROF=DIR: a V8 CPU profile of this thread over each measured phase (from one
// 'stats' to the next), as DIR/phase-N.cpuprofile — setup and seeding left out.
const phaseProf = process.env.SKIFF_BENCH_PHASE_PROF;
const inspector = phaseProf ? new Session() : undefined;
inspector?.connect();
let profiling = false;
let phase = 0;
const post = (method: string, params?: object) =>
  new Promise<{ profile?: unknown }>((res, rej) =>
    inspector!.post(method, params ?? {}, (e, r) => (e ? rej(e) : res(r as { profile?: unknown }))),
  );
async function toggleProfile(): Promise<void> {
  if (!inspector) return;
  if (profiling) {
    const { profile } = await post('Profiler.stop');
    writeFileSync(`${phaseProf}/phase-${++phase}.cpuprofile`, JSON.stringify(profile));
  } else {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
  }
  profiling = !profiling;
}
process.on('message', (m) => {
  if (m === 'stats') void toggleProfile();
  if (m === 'cpu') {
    const u = process.cpuUsage();
    process.send?.({ cpuMs: (u.user + u.system) / 1000 });
  } else if (m === 'stats') {
    process.send?.({
      stats: {
        store: { p50: pct(storeMs, 50), p99: pct(storeMs, 99), max: pct(storeMs, 100) },
        loop: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
        gc,
      },
    });
    storeMs = [];
    loop.reset();
    gc = { count: 0, ms: 0, maxMs: 0, major: 0, majorMaxMs: 0 };
  }
});
process.channel?.unref();
const stop = () => {
  if (traceFile) writeFileSync(traceFile, JSON.stringify(trace));
  void srv.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
