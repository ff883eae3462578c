// The reference InterPodAffinity: the plugin as it was before its counts were memoised (every
// placed pod matched against the incoming pod's terms, and every placed anti-affinity pod's terms
// against the incoming pod, at each cycle; upstream's algorithm without its goroutines). Kept for
// the property test (inter-pod-affinity-memo.test.ts), which compares the memoised plugin with it on
// randomized clusters, and for the A/B of bench/scheduler-cycle.ts. Not used by the scheduler.
import { selectorMatches } from '../../api/index.js';
import {
  MAX_NODE_SCORE,
  skip,
  unresolvable,
  unschedulable,
  type CycleState,
  type Handle,
  type Plugin,
  type StateData,
  StateKey,
} from '../framework.js';
import { isEverything, termMatches, type AffinityTerm, type NodeInfo, type PodInfo } from '../nodeinfo.js';
import type { Pod } from '../types.js';

const ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules";
const ErrReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules";
const ErrReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules";
const FILTER_KEY = new StateKey<FilterState>('PreFilterInterPodAffinity');
const SCORE_KEY = new StateKey<ScoreState>('PreScoreInterPodAffinity');
const HARD_POD_AFFINITY_WEIGHT = 1;

type Counts = Map<string, number>;
const pk = (k: string, v: string) => `${k}\u0000${v}`;

function bump(m: Counts, n: NodeInfo, key: string, d: number): void {
  const v = n.labels[key];
  if (v === undefined) return;
  const k = pk(key, v);
  const c = (m.get(k) ?? 0) + d;
  if (c === 0) m.delete(k);
  else m.set(k, c);
}

const matchesAll = (terms: AffinityTerm[], pod: Pod) => terms.length > 0 && terms.every((t) => termMatches(t, pod));

class FilterState implements StateData {
  constructor(
    readonly pi: PodInfo,
    readonly affinityTerms: AffinityTerm[],
    readonly antiTerms: AffinityTerm[],
    readonly nsLabels: Record<string, string> | undefined,
    readonly existingAnti: Counts,
    readonly affinity: Counts,
    readonly anti: Counts,
  ) {}
  clone(): FilterState {
    return new FilterState(
      this.pi,
      this.affinityTerms,
      this.antiTerms,
      this.nsLabels,
      new Map(this.existingAnti),
      new Map(this.affinity),
      new Map(this.anti),
    );
  }
  update(other: PodInfo, n: NodeInfo, d: number): void {
    for (const t of other.requiredAntiAffinityTerms)
      if (termMatches(t, this.pi.pod, this.nsLabels)) bump(this.existingAnti, n, t.topologyKey, d);
    if (matchesAll(this.affinityTerms, other.pod))
      for (const t of this.affinityTerms) bump(this.affinity, n, t.topologyKey, d);
    for (const t of this.antiTerms) if (termMatches(t, other.pod)) bump(this.anti, n, t.topologyKey, d);
  }
}

class ScoreState implements StateData {
  constructor(readonly scores: Map<string, Map<string, number>>) {}
  clone(): ScoreState {
    return this;
  }
}

export function referenceInterPodAffinity(h: Handle): Plugin {
  /** A term's namespaceSelector resolved into namespace names (upstream's
   *  mergeAffinityTermNamespacesIfNotEmpty); an empty selector (all namespaces) is kept. */
  const resolve = <T extends AffinityTerm>(t: T): T => {
    if (isEverything(t.namespaceSelector)) return t;
    const namespaces = new Set(t.namespaces);
    if (!t.namespaceSelector.nothing)
      for (const ns of h.listers.namespaces())
        if (selectorMatches(t.namespaceSelector, ns.labels)) namespaces.add(ns.name);
    return { ...t, namespaces, namespaceSelector: { requirements: [], nothing: true } };
  };

  return {
    name: 'InterPodAffinity',
    events: () => [
      { resource: 'AssignedPod', actions: ['Add', 'UpdatePodLabel', 'Delete'] },
      { resource: 'Node', actions: ['Add', 'UpdateNodeLabel', 'UpdateNodeTaint'] },
    ],
    preFilter(state: CycleState, pi: PodInfo) {
      const ns = pi.pod.metadata.namespace ?? '';
      const nsLabels = h.listers.namespaceLabels(ns);
      const affinityTerms = pi.requiredAffinityTerms.map(resolve);
      const antiTerms = pi.requiredAntiAffinityTerms.map(resolve);
      const existingAnti: Counts = new Map();
      for (const n of h.snapshot.havePodsWithRequiredAntiAffinity())
        for (const e of n.podsWithRequiredAntiAffinity)
          for (const t of e.requiredAntiAffinityTerms)
            if (termMatches(t, pi.pod, nsLabels)) bump(existingAnti, n, t.topologyKey, 1);
      const affinity: Counts = new Map();
      const anti: Counts = new Map();
      if (affinityTerms.length || antiTerms.length) {
        for (const n of h.snapshot.nodeInfos()) {
          for (const e of n.pods) {
            if (affinityTerms.length && matchesAll(affinityTerms, e.pod))
              for (const t of affinityTerms) bump(affinity, n, t.topologyKey, 1);
            for (const t of antiTerms) if (termMatches(t, e.pod)) bump(anti, n, t.topologyKey, 1);
          }
        }
      }
      if (!existingAnti.size && !affinityTerms.length && !antiTerms.length) return { status: skip() };
      state.write(FILTER_KEY, new FilterState(pi, affinityTerms, antiTerms, nsLabels, existingAnti, affinity, anti));
      return undefined;
    },
    addPod(state, _pi, toAdd, n) {
      state.read(FILTER_KEY)?.update(toAdd, n, 1);
    },
    removePod(state, _pi, toRemove, n) {
      state.read(FILTER_KEY)?.update(toRemove, n, -1);
    },
    filter(state: CycleState, _pi: PodInfo, n: NodeInfo) {
      const s = state.read(FILTER_KEY);
      if (!s) return undefined;
      const labels = n.labels;
      // Required affinity: every term's domain on this node must hold a matching pod — unless no
      // pod anywhere matches and the pod matches its own terms (the first of a group).
      let podsExist = true;
      for (const t of s.affinityTerms) {
        const v = labels[t.topologyKey];
        if (v === undefined) return unresolvable(ErrReasonAffinityRulesNotMatch);
        if ((s.affinity.get(pk(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
      }
      if (!podsExist && !(s.affinity.size === 0 && matchesAll(s.affinityTerms, s.pi.pod)))
        return unresolvable(ErrReasonAffinityRulesNotMatch);
      if (s.anti.size)
        for (const t of s.antiTerms) {
          const v = labels[t.topologyKey];
          if (v !== undefined && (s.anti.get(pk(t.topologyKey, v)) ?? 0) > 0)
            return unschedulable(ErrReasonAntiAffinityRulesNotMatch);
        }
      if (s.existingAnti.size)
        for (const [k, v] of Object.entries(labels))
          if ((s.existingAnti.get(pk(k, v)) ?? 0) > 0) return unschedulable(ErrReasonExistingAntiAffinityRulesNotMatch);
      return undefined;
    },
    preScore(state: CycleState, pi: PodInfo, nodes: NodeInfo[]) {
      if (!nodes.length) return skip();
      const preferredAff = pi.preferredAffinityTerms.map(resolve);
      const preferredAnti = pi.preferredAntiAffinityTerms.map(resolve);
      const has = preferredAff.length > 0 || preferredAnti.length > 0;
      const nsLabels = h.listers.namespaceLabels(pi.pod.metadata.namespace ?? '');
      const scores = new Map<string, Map<string, number>>();
      const add = (key: string, n: NodeInfo, w: number) => {
        const v = n.labels[key];
        if (v === undefined) return;
        let m = scores.get(key);
        if (!m) scores.set(key, (m = new Map()));
        m.set(v, (m.get(v) ?? 0) + w);
      };
      const nodesToScan = has ? h.snapshot.nodeInfos() : h.snapshot.havePodsWithAffinity();
      for (const n of nodesToScan) {
        if (!Object.keys(n.labels).length) continue;
        for (const e of has ? n.pods : n.podsWithAffinity) {
          for (const t of preferredAff) if (termMatches(t, e.pod)) add(t.topologyKey, n, t.weight);
          for (const t of preferredAnti) if (termMatches(t, e.pod)) add(t.topologyKey, n, -t.weight);
          for (const t of e.requiredAffinityTerms)
            if (termMatches(t, pi.pod, nsLabels)) add(t.topologyKey, n, HARD_POD_AFFINITY_WEIGHT);
          for (const t of e.preferredAffinityTerms)
            if (termMatches(t, pi.pod, nsLabels)) add(t.topologyKey, n, t.weight);
          for (const t of e.preferredAntiAffinityTerms)
            if (termMatches(t, pi.pod, nsLabels)) add(t.topologyKey, n, -t.weight);
        }
      }
      if (!scores.size) return skip();
      state.write(SCORE_KEY, new ScoreState(scores));
      return undefined;
    },
    score(state: CycleState, _pi: PodInfo, nodes: readonly NodeInfo[], out: Float64Array) {
      const s = state.read(SCORE_KEY);
      if (!s) return;
      for (let i = 0; i < nodes.length; i++) {
        const labels = nodes[i].labels;
        let score = 0;
        for (const [key, values] of s.scores) {
          const v = labels[key];
          if (v !== undefined) score += values.get(v) ?? 0;
        }
        out[i] = score;
      }
    },
    normalizeScore(state, _pi, nodes, scores) {
      const s = state.read(SCORE_KEY);
      if (!s || !s.scores.size) return;
      const count = nodes.length;
      let min = Number.MAX_SAFE_INTEGER,
        max = Number.MIN_SAFE_INTEGER;
      for (let i = 0; i < count; i++) {
        if (scores[i] > max) max = scores[i];
        if (scores[i] < min) min = scores[i];
      }
      const diff = max - min;
      for (let i = 0; i < count; i++)
        scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i] - min) / diff)) : 0;
    },
  };
}
