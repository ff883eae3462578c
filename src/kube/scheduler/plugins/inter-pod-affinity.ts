// InterPodAffinity: required pod affinity / anti-affinity of the incoming pod and required
// anti-affinity of the pods already placed filter nodes by topology domain; preferred terms of
// both sides (and existing pods' required affinity, weight 1) score, normalised to 0..100 between
// the lowest and highest node. The counts per domain are upstream's, but kept across cycles
// (affinity-counts.ts): a cycle brings them up to date with the nodes changed since the last one
// and matches each distinct term of the placed pods once, instead of walking every placed pod.
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
import { addBase, PairCounts, TallyCache, TermIndex, type Counts } from './affinity-counts.js';
import type { Pod } from '../types.js';

export const ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ErrReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules";
export const ErrReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules";
const FILTER_KEY = new StateKey<FilterState>('PreFilterInterPodAffinity');
const SCORE_KEY = new StateKey<ScoreState>('PreScoreInterPodAffinity');
const HARD_POD_AFFINITY_WEIGHT = 1;

const matchesAll = (terms: AffinityTerm[], pod: Pod) => terms.length > 0 && terms.every((t) => termMatches(t, pod));

class FilterState implements StateData {
  constructor(
    readonly pi: PodInfo,
    readonly affinityTerms: AffinityTerm[],
    readonly antiTerms: AffinityTerm[],
    readonly nsLabels: Record<string, string> | undefined,
    /** Placed pods' required anti-affinity terms matching the pod, per pair. */
    readonly existingAnti: PairCounts,
    /** Placed pods matching all the pod's required affinity terms, per pair of each term. */
    readonly affinity: PairCounts,
    /** Placed pods matching each of the pod's required anti-affinity terms, per pair. */
    readonly anti: PairCounts,
  ) {}
  clone(): FilterState {
    return new FilterState(
      this.pi,
      this.affinityTerms,
      this.antiTerms,
      this.nsLabels,
      this.existingAnti.clone(),
      this.affinity.clone(),
      this.anti.clone(),
    );
  }
  update(other: PodInfo, n: NodeInfo, d: number): void {
    const labels = n.labels;
    for (const t of other.requiredAntiAffinityTerms)
      if (termMatches(t, this.pi.pod, this.nsLabels)) this.existingAnti.add(t.topologyKey, labels[t.topologyKey], d);
    if (matchesAll(this.affinityTerms, other.pod))
      for (const t of this.affinityTerms) this.affinity.add(t.topologyKey, labels[t.topologyKey], d);
    for (const t of this.antiTerms)
      if (termMatches(t, other.pod)) this.anti.add(t.topologyKey, labels[t.topologyKey], d);
  }
}

/** Per topology key: the signed weight and the counts of each contributing term or group. */
class ScoreState implements StateData {
  constructor(readonly parts: Map<string, { weight: number; counts: Counts }[]>) {}
  clone(): ScoreState {
    return this;
  }
}

export function interPodAffinity(h: Handle): Plugin {
  /** A term's namespaceSelector resolved into namespace names (upstream's
   *  mergeAffinityTermNamespacesIfNotEmpty); an empty selector (all namespaces) is kept. */
  const resolve = <T extends AffinityTerm>(t: T): T => {
    // Without a namespaceSelector there is nothing to merge: the term itself, whose canonical
    // text is then worked out once per pod rather than once per cycle.
    if (isEverything(t.namespaceSelector) || t.namespaceSelector.nothing) return t;
    const namespaces = new Set(t.namespaces);
    for (const ns of h.listers.namespaces())
      if (selectorMatches(t.namespaceSelector, ns.labels)) namespaces.add(ns.name);
    return { ...t, namespaces, namespaceSelector: { requirements: [], nothing: true } };
  };

  const tallies = new TallyCache(h.snapshot);
  const antiIndex = new TermIndex((n, out) => {
    for (const p of n.podsWithRequiredAntiAffinity) for (const t of p.requiredAntiAffinityTerms) out(t, 0);
  });
  const scoreIndex = new TermIndex((n, out) => {
    for (const p of n.podsWithAffinity) {
      for (const t of p.requiredAffinityTerms) out(t, HARD_POD_AFFINITY_WEIGHT);
      for (const t of p.preferredAffinityTerms) out(t, t.weight);
      for (const t of p.preferredAntiAffinityTerms) out(t, -t.weight);
    }
  });

  return {
    name: 'InterPodAffinity',
    events: () => [
      { resource: 'AssignedPod', actions: ['Add', 'UpdatePodLabel', 'Delete'] },
      { resource: 'Node', actions: ['Add', 'UpdateNodeLabel', 'UpdateNodeTaint'] },
    ],
    preFilter(state: CycleState, pi: PodInfo) {
      antiIndex.sync(h.snapshot);
      // Nothing to count (no terms of its own, no placed pod with anti-affinity): skipped before
      // any map is made, as the general path below would conclude.
      if (!pi.requiredAffinityTerms.length && !pi.requiredAntiAffinityTerms.length && !antiIndex.groups.size)
        return { status: skip() };
      const ns = pi.pod.metadata.namespace ?? '';
      const nsLabels = h.listers.namespaceLabels(ns);
      const affinityTerms = pi.requiredAffinityTerms.map(resolve);
      const antiTerms = pi.requiredAntiAffinityTerms.map(resolve);
      const existing = new Map<string, Counts[]>();
      for (const g of antiIndex.groups.values())
        if (termMatches(g.term, pi.pod, nsLabels)) addBase(existing, g.term.topologyKey, g.counts);
      const affinity = new Map<string, Counts[]>();
      if (affinityTerms.length) {
        const tally = tallies.get(affinityTerms);
        for (const t of affinityTerms) addBase(affinity, t.topologyKey, tally.counts(t.topologyKey));
      }
      const anti = new Map<string, Counts[]>();
      for (const t of antiTerms) addBase(anti, t.topologyKey, tallies.get([t]).counts(t.topologyKey));
      const existingAnti = new PairCounts(existing);
      if (existingAnti.isEmpty() && !affinityTerms.length && !antiTerms.length) return { status: skip() };
      state.write(
        FILTER_KEY,
        new FilterState(
          pi,
          affinityTerms,
          antiTerms,
          nsLabels,
          existingAnti,
          new PairCounts(affinity),
          new PairCounts(anti),
        ),
      );
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
        if (s.affinity.get(t.topologyKey, v) <= 0) podsExist = false;
      }
      if (!podsExist && !(s.affinity.isEmpty() && matchesAll(s.affinityTerms, s.pi.pod)))
        return unresolvable(ErrReasonAffinityRulesNotMatch);
      for (const t of s.antiTerms) {
        const v = labels[t.topologyKey];
        if (v !== undefined && s.anti.get(t.topologyKey, v) > 0)
          return unschedulable(ErrReasonAntiAffinityRulesNotMatch);
      }
      if (s.existingAnti.anyPositive(labels)) return unschedulable(ErrReasonExistingAntiAffinityRulesNotMatch);
      return undefined;
    },
    preScore(state: CycleState, pi: PodInfo, nodes: NodeInfo[]) {
      if (!nodes.length) return skip();
      scoreIndex.sync(h.snapshot);
      if (!pi.preferredAffinityTerms.length && !pi.preferredAntiAffinityTerms.length && !scoreIndex.groups.size)
        return skip();
      const nsLabels = h.listers.namespaceLabels(pi.pod.metadata.namespace ?? '');
      const parts = new Map<string, { weight: number; counts: Counts }[]>();
      const add = (key: string, weight: number, counts: Counts) => {
        if (!counts.size) return;
        const list = parts.get(key);
        if (list) list.push({ weight, counts });
        else parts.set(key, [{ weight, counts }]);
      };
      // The pod's preferred terms: pods matching them, by their weight (anti: negative).
      for (const t of pi.preferredAffinityTerms.map(resolve))
        add(t.topologyKey, t.weight, tallies.get([t]).counts(t.topologyKey));
      for (const t of pi.preferredAntiAffinityTerms.map(resolve))
        add(t.topologyKey, -t.weight, tallies.get([t]).counts(t.topologyKey));
      // Placed pods' required affinity (weight 1) and preferred terms that match the pod.
      for (const g of scoreIndex.groups.values())
        if (termMatches(g.term, pi.pod, nsLabels)) add(g.term.topologyKey, g.weight, g.counts);
      if (!parts.size) return skip();
      state.write(SCORE_KEY, new ScoreState(parts));
      return undefined;
    },
    score(state: CycleState, _pi: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array) {
      const s = state.read(SCORE_KEY);
      if (!s) return;
      for (let i = 0; i < nodes.length; i++) {
        const labels = nodes[i].labels;
        let score = 0;
        for (const [key, list] of s.parts) {
          const v = labels[key];
          if (v === undefined) continue;
          for (const p of list) score += p.weight * (p.counts.get(v) ?? 0);
        }
        scores[i] = score;
      }
    },
    normalizeScore(state, _pi, nodes, scores) {
      const s = state.read(SCORE_KEY);
      if (!s || !s.parts.size) return;
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
