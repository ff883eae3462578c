// `npm run bench -- scheduler-cycle [--workload=anti|basic] [--nodes=5000] [--init=1000] [--pods=2000]
// [--batch=100] [--ab] [--heap]`:
// CPU per scheduling cycle of SchedulingPodAntiAffinity's pods over the scheduler's own algorithm
// and default profile, in process (no API server): `--nodes` nodes as scheduler_perf's, `--init`
// pods with required anti-affinity by hostname placed first (namespace sched-0), then `--pods`
// pods of the same shape (sched-1) each scheduled (PreFilter, Filter over the sampled nodes,
// Score) and assumed onto its node, so the placed pods grow from init to init + pods. Prints the
// process's CPU per cycle per batch and, on its own, InterPodAffinity's PreFilter per call.
// `--ab`: the plugin as it was before the memo (the reference kept for the property test) and the
// current one alternate batch by batch over the same cache, for a same-run comparison.
// `--workload=basic`: SchedulingBasic's pods instead (100m / 500Mi, no affinity; init pods on every
// 5th node): what the filter and score loops cost per pod with nothing but resources to weigh.
// `--heap`: also the bytes allocated per cycle (V8's sampling heap profiler, objects already
// collected included; its estimate of everything allocated), from the second batch on; CPU is
// then not comparable with a run without it.
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { Algorithm } from '../src/kube/scheduler/algorithm.js';
import { CycleState, type Handle, type Plugin } from '../src/kube/scheduler/framework.js';
import { PodInfo } from '../src/kube/scheduler/nodeinfo.js';
import { defaultPlugins } from '../src/kube/scheduler/plugins/index.js';
import { cluster, node, pod } from '../src/kube/scheduler/testing.js';
import type { Pod } from '../src/kube/scheduler/types.js';

const arg = (k: string, d: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3) ?? d);
const NODES = arg('nodes', 5000);
const INIT = arg('init', 1000);
const PODS = arg('pods', 2000);
const BATCH = arg('batch', 100);
const AB = process.argv.includes('--ab');
const HEAP = process.argv.includes('--heap');
const BASIC = process.argv.includes('--workload=basic');

const antiPod = (name: string, ns: string): Pod =>
  pod(name, {
    ns,
    cpu: '100m',
    memory: '500Mi',
    labels: { color: 'green' },
    spec: {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              labelSelector: { matchLabels: { color: 'green' } },
              topologyKey: 'kubernetes.io/hostname',
              namespaces: ['sched-1', 'sched-0'],
            },
          ],
        },
      },
    },
  });

const basicPod = (name: string, ns: string): Pod =>
  pod(name, { ns, cpu: '100m', memory: '500Mi', labels: { bench: 'measure' } });
const makePod = BASIC ? basicPod : antiPod;

async function referencePlugin(): Promise<((h: Handle) => Plugin) | undefined> {
  if (!AB) return undefined;
  const m = await import('../src/kube/scheduler/plugins/inter-pod-affinity.reference.js');
  return m.referenceInterPodAffinity;
}

const nodes = Array.from({ length: NODES }, (_, i) => node(`node-${i}`, { memory: '32Gi' }));
const init = Array.from({ length: INIT }, (_, i) => ({ ...makePod(`init-${i}`, 'sched-0') }));
init.forEach((p, i) => {
  p.spec.nodeName = `node-${(i * (BASIC ? 5 : 7)) % NODES}`;
});
const cl = cluster(nodes, init);
cl.listers.ns = [
  { name: 'sched-0', labels: {} },
  { name: 'sched-1', labels: {} },
];
const ref = await referencePlugin();
const withPlugin = (make?: (h: Handle) => Plugin) =>
  cl.profile((h) =>
    defaultPlugins(h, () => []).map((w) =>
      make && w.plugin.name === 'InterPodAffinity' ? { ...w, plugin: make(h) } : w,
    ),
  );
const sides = ref
  ? [
      { name: 'reference', prof: withPlugin(ref) },
      { name: 'current', prof: withPlugin() },
    ]
  : [{ name: 'current', prof: withPlugin() }];
const algs = sides.map((s) => ({ ...s, alg: new Algorithm(s.prof, cl.cache), ipa: s.prof }));

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000; // ms
};
const la = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Bytes allocated (sampled, collected objects included) per profile node, summed. */
type HeapNode = { selfSize: number; children: HeapNode[] };
const heapBytes = (n: HeapNode): number => n.children.reduce((s, c) => s + heapBytes(c), n.selfSize);
const heap = HEAP ? new Session() : undefined;
heap?.connect();
await heap?.post('HeapProfiler.enable');

console.log(
  `${BASIC ? 'SchedulingBasic' : 'SchedulingPodAntiAffinity'}: nodes ${NODES}, placed first ${INIT}, scheduled ${PODS}, batch ${BATCH}; load ${la()}`,
);
const totals = new Map<
  string,
  { ms: number; cycles: number; pre: number; preCalls: number; bytes: number; heapCycles: number }
>();
let placed = INIT;
let seq = 0;
for (let b = 0; placed < INIT + PODS; b++) {
  const side = algs[b % algs.length];
  const ipa = side.prof.plugins.find((p) => p.name === 'InterPodAffinity');
  // The first batch warms the code up (its cycles are not in the totals).
  const sampling = heap && b > 0;
  if (sampling)
    await heap.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  const start = cpu();
  let unfit = 0;
  const from = placed;
  for (let i = 0; i < BATCH && placed < INIT + PODS; i++) {
    const pi = new PodInfo(makePod(`pod-${seq++}`, BASIC ? 'sched-0' : 'sched-1'));
    const r = side.alg.schedule(new CycleState(), pi);
    if (r.kind !== 'scheduled') {
      unfit++;
      continue;
    }
    cl.cache.assumePod(pi, r.node);
    placed++;
  }
  const cycles = placed - from + unfit;
  const ms = cpu() - start;
  let bytes = 0;
  if (sampling) {
    const { profile } = await heap.post('HeapProfiler.stopSampling');
    bytes = heapBytes(profile.head as HeapNode);
  }
  // InterPodAffinity's PreFilter alone, for the next pod (not placed), 10 calls.
  const probe = new PodInfo(makePod(`probe-${seq++}`, BASIC ? 'sched-0' : 'sched-1'));
  const p0 = cpu();
  for (let i = 0; i < 10; i++) ipa?.preFilter?.(new CycleState(), probe);
  const pre = (cpu() - p0) / 10;
  const t = totals.get(side.name) ?? { ms: 0, cycles: 0, pre: 0, preCalls: 0, bytes: 0, heapCycles: 0 };
  if (b >= algs.length) {
    t.ms += ms;
    t.cycles += cycles;
    t.pre += pre;
    t.preCalls++;
  }
  if (sampling) {
    t.bytes += bytes;
    t.heapCycles += cycles;
  }
  totals.set(side.name, t);
  console.log(
    `${side.name.padEnd(9)} placed ${from}–${placed}: ${(ms / cycles).toFixed(3)} ms CPU per cycle` +
      `${sampling ? `, ${(bytes / cycles / 1024).toFixed(1)} KB allocated per cycle` : ''}` +
      `${unfit ? ` (${unfit} unfit)` : ''}; InterPodAffinity PreFilter ${pre.toFixed(3)} ms; load ${la()}`,
  );
}
for (const [name, t] of totals)
  console.log(
    `${name}: ${(t.ms / t.cycles).toFixed(3)} ms CPU per cycle over ${t.cycles} cycles (after the first batch); ` +
      `${t.heapCycles ? `${(t.bytes / t.heapCycles / 1024).toFixed(1)} KB allocated per cycle; ` : ''}` +
      `PreFilter ${(t.pre / t.preCalls).toFixed(3)} ms per call; load ${la()}`,
  );
