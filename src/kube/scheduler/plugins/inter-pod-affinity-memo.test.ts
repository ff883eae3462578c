// InterPodAffinity's counts kept across cycles (affinity-counts.ts): one plugin instance serves
// many cycles while the cluster changes under it, and must answer as the reference (the plugin as
// it was, counting every placed pod at each cycle: inter-pod-affinity.reference.ts) does —
// after pods are added, removed, relabelled or moved between namespaces, namespaces relabelled,
// nodes relabelled, removed and added; on hand-made cases and on randomized clusters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState, type Plugin } from '../framework.js';
import { PodInfo } from '../nodeinfo.js';
import { cluster, filterAll, node, pod, reasons, type TestCluster } from '../testing.js';
import type { Node, Pod, PodAffinityTerm } from '../types.js';
import { TallyCache } from './affinity-counts.js';
import { interPodAffinity } from './inter-pod-affinity.js';
import { referenceInterPodAffinity } from './inter-pod-affinity.reference.js';

/** Filter result per node (code and reasons) and raw and normalised scores, as text. */
function outcome(cl: TestCluster, plugin: Plugin, p: Pod, extra?: { add?: PodInfo; remove?: PodInfo; on: string }) {
  const pi = new PodInfo(p);
  const state = new CycleState();
  const pre = plugin.preFilter?.(state, pi);
  const skipped = pre?.status?.code === 'Skip';
  let st = state;
  const n = extra && cl.cache.get(extra.on);
  if (extra && n && !skipped) {
    st = state.clone();
    if (extra.add) plugin.addPod?.(st, pi, extra.add, n);
    if (extra.remove) plugin.removePod?.(st, pi, extra.remove, n);
  }
  const nodes = cl.cache.nodeInfos();
  const filters = nodes.map((n) => {
    const s = skipped ? undefined : plugin.filter?.(st, pi, n);
    return `${n.name}:${s?.code ?? 'ok'}:${reasons(s)}`;
  });
  const ss = new CycleState();
  const ps = plugin.preScore?.(ss, pi, nodes);
  const raw = new Float64Array(nodes.length);
  if (ps?.code !== 'Skip') plugin.score!(ss, pi, nodes, raw);
  const rawText = raw.join(',');
  if (ps?.code !== 'Skip') plugin.normalizeScore?.(ss, pi, nodes, raw);
  return { filters: filters.join(' '), raw: rawText, normalised: raw.join(',') };
}

const same = (cl: TestCluster, memo: Plugin, p: Pod, what: string, extra?: Parameters<typeof outcome>[3]) => {
  const want = outcome(cl, referenceInterPodAffinity(cl.handle), p, extra);
  const got = outcome(cl, memo, p, extra);
  assert.deepEqual(got, want, what);
  return got;
};

const term = (app: string, topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({
  labelSelector: { matchLabels: { app } },
  topologyKey,
  ...extra,
});
const anti = (t: PodAffinityTerm) => ({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [t] } });
const H = 'kubernetes.io/hostname';

test('InterPodAffinity memo: a pod added, removed, relabelled, moved to another namespace', () => {
  const cl = cluster([node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z1' } }), node('c')]);
  const memo = interPodAffinity(cl.handle);
  const incoming = () => pod('in', { spec: { affinity: anti(term('db', H)) } });
  const fitsOn = () =>
    cl.cache
      .nodeInfos()
      .filter((n) => reasons(filterAll(cl, memo, incoming()).get(n.name)) === '')
      .map((n) => n.name)
      .join(',');
  assert.equal(same(cl, memo, incoming(), 'empty').filters.includes('Unschedulable'), false);
  const db = pod('db', { node: 'a', labels: { app: 'db' } });
  cl.cache.addPod(db);
  same(cl, memo, incoming(), 'added');
  assert.equal(fitsOn(), 'b,c');
  cl.cache.updatePod({ ...db, metadata: { ...db.metadata, labels: { app: 'web' } } });
  same(cl, memo, incoming(), 'relabelled');
  assert.equal(fitsOn(), 'a,b,c');
  cl.cache.updatePod(db);
  assert.equal(fitsOn(), 'b,c');
  cl.cache.updatePod({ ...db, metadata: { ...db.metadata, namespace: 'other' } });
  same(cl, memo, incoming(), 'moved to namespace other');
  assert.equal(fitsOn(), 'a,b,c');
  cl.cache.updatePod(db);
  cl.cache.removePod(db);
  same(cl, memo, incoming(), 'removed');
  assert.equal(fitsOn(), 'a,b,c');
  // An assumed pod counts at once; forgetting it takes it away.
  const assumed = cl.cache.assumePod(new PodInfo(pod('db2', { labels: { app: 'db' } })), 'c');
  assert.equal(fitsOn(), 'a,b');
  cl.cache.forgetPod(assumed.key);
  assert.equal(fitsOn(), 'a,b,c');
});

test("InterPodAffinity memo: placed pods' anti-affinity terms follow adds, removals and relabels", () => {
  const cl = cluster([node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z1' } }), node('c')]);
  const memo = interPodAffinity(cl.handle);
  const web = () => pod('w', { labels: { app: 'web' } });
  const guard = pod('guard', { node: 'a', spec: { affinity: anti(term('web', 'zone')) } });
  cl.cache.addPod(guard);
  assert.match(same(cl, memo, web(), 'guard in z1').filters, /a:Unschedulable.* b:Unschedulable.* c:ok/);
  cl.cache.addNode(node('a', { labels: { zone: 'z2' } }));
  assert.match(same(cl, memo, web(), 'node a moved to z2').filters, /a:Unschedulable.* b:ok.* c:ok/);
  cl.cache.removePod(guard);
  assert.match(same(cl, memo, web(), 'guard gone').filters, /a:ok.* b:ok.* c:ok/);
  cl.cache.addPod(guard);
  cl.cache.removeNode('a');
  assert.equal(same(cl, memo, web(), 'node a removed (a ghost with the guard)').filters, 'b:ok: c:ok:');
});

test("InterPodAffinity memo: a namespace's labels change what a namespaceSelector selects", () => {
  const cl = cluster([node('a'), node('b')]);
  cl.listers.ns = [
    { name: 'default', labels: {} },
    { name: 'other', labels: {} },
  ];
  const memo = interPodAffinity(cl.handle);
  cl.cache.addPod(pod('db', { ns: 'other', node: 'a', labels: { app: 'db' } }));
  const bySelector = () =>
    pod('in', { spec: { affinity: anti(term('db', H, { namespaceSelector: { matchLabels: { team: 'x' } } })) } });
  assert.match(same(cl, memo, bySelector(), 'other not selected').filters, /a:ok/);
  cl.listers.ns[1].labels = { team: 'x' };
  assert.match(same(cl, memo, bySelector(), 'other selected').filters, /a:Unschedulable/);
  cl.listers.ns[1].labels = {};
  assert.match(same(cl, memo, bySelector(), 'other not selected again').filters, /a:ok/);
  // A placed pod's term with a namespaceSelector is matched against the incoming pod's namespace.
  cl.cache.addPod(
    pod('guard', {
      node: 'b',
      spec: { affinity: anti(term('web', H, { namespaceSelector: { matchLabels: { t: 'y' } } })) },
    }),
  );
  const web = () => pod('w', { labels: { app: 'web' } });
  assert.match(same(cl, memo, web(), 'default not selected').filters, /b:ok/);
  cl.listers.ns[0].labels = { t: 'y' };
  assert.match(same(cl, memo, web(), 'default selected').filters, /b:Unschedulable/);
});

test('InterPodAffinity memo: a reader behind the trimmed change log, and evicted tallies, count again', () => {
  const cl = cluster([node('a'), node('b')]);
  const memo = interPodAffinity(cl.handle);
  const incoming = () => pod('in', { spec: { affinity: anti(term('db', H)) } });
  same(cl, memo, incoming(), 'first');
  cl.cache.addPod(pod('db', { node: 'b', labels: { app: 'db' } }));
  for (let i = 0; i < 5000; i++) cl.cache.addNode(node('a', { labels: { round: String(i) } }));
  assert.equal(cl.cache.changedSince(0), undefined);
  assert.match(same(cl, memo, incoming(), 'after 5000 changes').filters, /a:ok.* b:Unschedulable/);
  const tallies = new TallyCache(cl.cache, 2);
  const t = (app: string) =>
    new PodInfo(pod('x', { spec: { affinity: anti(term(app, H)) } })).requiredAntiAffinityTerms;
  assert.equal(tallies.get(t('db')).counts(H).get('b'), 1);
  tallies.get(t('web'));
  tallies.get(t('cache'));
  assert.equal(tallies.size, 2);
  cl.cache.addPod(pod('db2', { node: 'a', labels: { app: 'db' } }));
  assert.deepEqual([...tallies.get(t('db')).counts(H)].sort(), [
    ['a', 1],
    ['b', 1],
  ]);
});

// --- randomized clusters ---

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick };
}
type Rng = ReturnType<typeof rng>;

const NAMESPACES = ['ns0', 'ns1', 'ns2'];
const KEYS = [H, 'zone', 'region'];

function randomLabels(r: Rng): Record<string, string> {
  const l: Record<string, string> = {};
  if (r.next() < 0.8) l.app = r.pick(['a', 'b', 'c']);
  if (r.next() < 0.4) l.tier = r.pick(['x', 'y']);
  return l;
}

function randomTerm(r: Rng): PodAffinityTerm {
  const selectors = [
    { matchLabels: { app: r.pick(['a', 'b', 'c']) } },
    { matchExpressions: [{ key: 'app', operator: 'In', values: ['a', r.pick(['b', 'c'])] }] },
    { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
    { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['x'] }] },
    {},
  ];
  const t: PodAffinityTerm = { labelSelector: r.pick(selectors), topologyKey: r.pick(KEYS) };
  const ns = r.int(4);
  if (ns === 1) t.namespaces = [r.pick(NAMESPACES)];
  if (ns === 2) t.namespaceSelector = { matchLabels: { team: r.pick(['red', 'blue']) } };
  if (ns === 3) t.namespaceSelector = {};
  return t;
}

function randomPod(r: Rng, name: string, nodeName?: string): Pod {
  const terms = (max: number) => Array.from({ length: r.int(max + 1) }, () => randomTerm(r));
  const weighted = (max: number) =>
    Array.from({ length: r.int(max + 1) }, () => ({ weight: 1 + r.int(100), podAffinityTerm: randomTerm(r) }));
  const withAffinity = r.next() < 0.6;
  return pod(name, {
    ns: r.pick(NAMESPACES),
    node: nodeName,
    labels: randomLabels(r),
    spec: withAffinity
      ? {
          affinity: {
            podAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: r.next() < 0.3 ? terms(2) : [],
              preferredDuringSchedulingIgnoredDuringExecution: weighted(2),
            },
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: terms(2),
              preferredDuringSchedulingIgnoredDuringExecution: weighted(2),
            },
          },
        }
      : {},
  });
}

const nsLabels = (r: Rng): Record<string, string> => (r.next() < 0.5 ? { team: r.pick(['red', 'blue']) } : {});

const randomNode = (r: Rng, name: string): Node => {
  const labels: Record<string, string> = { zone: r.pick(['z0', 'z1', 'z2']) };
  if (r.next() < 0.7) labels.region = r.pick(['r0', 'r1']);
  return node(name, { labels });
};

test('InterPodAffinity memo equals the reference on randomized clusters under random changes', () => {
  let checks = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed);
    const names = Array.from({ length: 6 + r.int(8) }, (_, i) => `n${i}`);
    const nodes = names.map((n) => randomNode(r, n));
    const placed = Array.from({ length: 10 + r.int(30) }, (_, i) => randomPod(r, `p${i}`, r.pick(names)));
    const cl = cluster(nodes, placed);
    cl.listers.ns = NAMESPACES.map((name) => ({
      name,
      labels: nsLabels(r),
    }));
    const memo = interPodAffinity(cl.handle);
    const live = new Map(placed.map((p) => [p.metadata.uid ?? '', p]));
    let seq = 0;
    for (let step = 0; step < 40; step++) {
      const uids = [...live.keys()];
      const victim = uids.length ? live.get(r.pick(uids)) : undefined;
      const op = r.int(9);
      let what = '';
      if (op <= 1 || !victim) {
        const p = randomPod(r, `q${seq++}`, r.next() < 0.95 ? r.pick(names) : 'nowhere');
        cl.cache.addPod(p);
        live.set(p.metadata.uid ?? '', p);
        what = `add ${p.metadata.name} on ${p.spec.nodeName}`;
      } else if (op === 2) {
        cl.cache.removePod(victim);
        live.delete(victim.metadata.uid ?? '');
        what = `remove ${victim.metadata.name}`;
      } else if (op === 3) {
        const p = { ...victim, metadata: { ...victim.metadata, labels: randomLabels(r) } };
        cl.cache.updatePod(p);
        live.set(p.metadata.uid ?? '', p);
        what = `relabel ${p.metadata.name}`;
      } else if (op === 4) {
        const p = { ...victim, metadata: { ...victim.metadata, namespace: r.pick(NAMESPACES) } };
        cl.cache.updatePod(p);
        live.set(p.metadata.uid ?? '', p);
        what = `move ${p.metadata.name} to ${p.metadata.namespace}`;
      } else if (op === 5) {
        const ns = r.pick(cl.listers.ns);
        ns.labels = nsLabels(r);
        what = `namespace ${ns.name} labels ${JSON.stringify(ns.labels)}`;
      } else if (op === 6) {
        const name = r.pick(names);
        cl.cache.addNode(randomNode(r, name));
        what = `node ${name} relabelled or added`;
      } else if (op === 7) {
        const name = r.pick(names);
        cl.cache.removeNode(name);
        what = `node ${name} removed`;
      } else {
        const pi = cl.cache.assumePod(new PodInfo(randomPod(r, `a${seq++}`)), r.pick(names));
        live.set(pi.key, pi.pod);
        what = `assume ${pi.pod.metadata.name} on ${pi.pod.spec.nodeName}`;
      }
      for (let k = 0; k < 3; k++) {
        const p = randomPod(r, `in${seq++}`);
        const on = r.pick(names);
        const extra =
          k === 0
            ? undefined
            : {
                on,
                add: k === 1 ? new PodInfo(randomPod(r, `nominated${seq++}`, on)) : undefined,
                remove: k === 2 && victim ? new PodInfo(victim) : undefined,
              };
        same(cl, memo, p, `seed ${seed} step ${step} (${what}) pod ${k}`, extra);
        checks++;
      }
    }
  }
  assert.equal(checks, 40 * 40 * 3);
});
