// PodTopologySpread: DoNotSchedule constraints filter (skew = pods matching in the node's domain
// + the pod itself − the smallest domain's count, which is 0 below minDomains domains); soft
// constraints (the pod's ScheduleAnyway ones, or the system defaults) score, fewer matching pods
// scoring higher, weighted by log(domains + 2).
import {
  errorStatus,
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
import type { NodeInfo, PodInfo } from '../nodeinfo.js';
import { requiredNodeAffinity } from '../node-selector.js';
import { selectorMatches } from '../../api/index.js';
import {
  LABEL_HOSTNAME,
  MatchCounts,
  nodeHasAllKeys,
  nodeIncluded,
  pairKey,
  podConstraints,
  type Constraint,
} from './spread-common.js';

export const ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints";
export const ErrReasonNodeLabelNotMatch = `${ErrReasonConstraintsNotMatch} (missing required label)`;
const FILTER_KEY = new StateKey<FilterState>('PreFilterPodTopologySpread');
const SCORE_KEY = new StateKey<ScoreState>('PreScorePodTopologySpread');

/** The two smallest domains of a topology key (upstream's criticalPaths). */
class CriticalPaths {
  p: [{ v: string; n: number }, { v: string; n: number }] = [
    { v: '', n: Number.MAX_SAFE_INTEGER },
    { v: '', n: Number.MAX_SAFE_INTEGER },
  ];
  update(v: string, n: number): void {
    const i = v === this.p[0].v ? 0 : v === this.p[1].v ? 1 : undefined;
    if (i !== undefined) {
      this.p[i].n = n;
      if (this.p[0].n > this.p[1].n) this.p = [this.p[1], this.p[0]];
    } else if (n < this.p[0].n) {
      this.p = [{ v, n }, this.p[0]];
    } else if (n < this.p[1].n) this.p[1] = { v, n };
  }
  clone(): CriticalPaths {
    const c = new CriticalPaths();
    c.p = [{ ...this.p[0] }, { ...this.p[1] }];
    return c;
  }
}

class FilterState implements StateData {
  constructor(
    readonly constraints: Constraint[],
    readonly paths: Map<string, CriticalPaths>,
    readonly domains: Map<string, number>,
    readonly counts: Map<string, number>,
  ) {}
  clone(): FilterState {
    const paths = new Map([...this.paths].map(([k, v]) => [k, v.clone()]));
    return new FilterState(this.constraints, paths, this.domains, new Map(this.counts));
  }
  minMatch(key: string, minDomains: number): number | undefined {
    const p = this.paths.get(key);
    const d = this.domains.get(key);
    if (!p || d === undefined) return undefined;
    return d < minDomains ? 0 : p.p[0].n;
  }
}

class ScoreState implements StateData {
  ignored = new Set<string>();
  counts = new Map<string, number>();
  weights: number[] = [];
  constructor(readonly constraints: Constraint[]) {}
  clone(): ScoreState {
    return this;
  }
}

export function podTopologySpread(h: Handle): Plugin {
  const matching = new MatchCounts();
  const countMatching = (n: NodeInfo, c: Constraint, ns: string) => matching.count(n, c.selector, ns);
  const update = (s: FilterState, pi: PodInfo, other: PodInfo, n: NodeInfo, delta: number) => {
    if (other.pod.metadata.namespace !== pi.pod.metadata.namespace) return;
    if (!nodeHasAllKeys(n.labels, s.constraints)) return;
    const aff = requiredNodeAffinity(pi.pod);
    for (const c of s.constraints) {
      if (!selectorMatches(c.selector, other.pod.metadata.labels)) continue;
      if (!nodeIncluded(c, pi.pod, n.node, aff)) continue;
      const v = n.labels[c.topologyKey];
      const k = pairKey(c.topologyKey, v);
      const count = (s.counts.get(k) ?? 0) + delta;
      s.counts.set(k, count);
      s.paths.get(c.topologyKey)?.update(v, count);
    }
  };

  return {
    name: 'PodTopologySpread',
    events: () => [
      { resource: 'AssignedPod', actions: ['Add', 'UpdatePodLabel', 'Delete'] },
      { resource: 'Node', actions: ['Add', 'Delete', 'UpdateNodeLabel', 'UpdateNodeTaint'] },
    ],
    preFilter(state: CycleState, pi: PodInfo) {
      let constraints: Constraint[];
      try {
        constraints = podConstraints(pi.pod, h.listers, 'DoNotSchedule');
      } catch (e) {
        return { status: errorStatus(e) };
      }
      if (!constraints.length) return { status: skip() };
      const ns = pi.pod.metadata.namespace ?? '';
      const aff = requiredNodeAffinity(pi.pod);
      // Summed per constraint by the nodes' own label values (their hashes are kept by the
      // strings), then once per domain under the key pairs: a key pair made per node was most of
      // this loop at 5000 nodes.
      const perValue = constraints.map(() => new Map<string, number>());
      for (const n of h.snapshot.nodeInfos()) {
        const labels = n.labels;
        if (!nodeHasAllKeys(labels, constraints)) continue;
        for (let i = 0; i < constraints.length; i++) {
          const c = constraints[i];
          if (!nodeIncluded(c, pi.pod, n.node, aff)) continue;
          const v = labels[c.topologyKey];
          const m = perValue[i];
          m.set(v, (m.get(v) ?? 0) + countMatching(n, c, ns));
        }
      }
      const counts = new Map<string, number>();
      constraints.forEach((c, i) => {
        for (const [v, cnt] of perValue[i]) {
          const k = pairKey(c.topologyKey, v);
          counts.set(k, (counts.get(k) ?? 0) + cnt);
        }
      });
      const domains = new Map<string, number>();
      const paths = new Map<string, CriticalPaths>();
      for (const c of constraints) paths.set(c.topologyKey, new CriticalPaths());
      for (const [k, n] of counts) {
        const i = k.indexOf('\u0000');
        const key = k.slice(0, i);
        domains.set(key, (domains.get(key) ?? 0) + 1);
        paths.get(key)?.update(k.slice(i + 1), n);
      }
      state.write(FILTER_KEY, new FilterState(constraints, paths, domains, counts));
      return undefined;
    },
    addPod(state, pi, toAdd, n) {
      const s = state.read(FILTER_KEY);
      if (s) update(s, pi, toAdd, n, 1);
    },
    removePod(state, pi, toRemove, n) {
      const s = state.read(FILTER_KEY);
      if (s) update(s, pi, toRemove, n, -1);
    },
    filter(state: CycleState, pi: PodInfo, n: NodeInfo) {
      const s = state.read(FILTER_KEY);
      if (!s || !s.constraints.length) return undefined;
      const labels = n.labels;
      for (const c of s.constraints) {
        const v = labels[c.topologyKey];
        if (v === undefined) return unresolvable(ErrReasonNodeLabelNotMatch);
        const min = s.minMatch(c.topologyKey, c.minDomains);
        if (min === undefined) continue;
        const self = selectorMatches(c.selector, pi.pod.metadata.labels) ? 1 : 0;
        const skew = (s.counts.get(pairKey(c.topologyKey, v)) ?? 0) + self - min;
        if (skew > c.maxSkew) return unschedulable(ErrReasonConstraintsNotMatch);
      }
      return undefined;
    },
    preScore(state: CycleState, pi: PodInfo, filtered: NodeInfo[]) {
      const all = h.snapshot.nodeInfos();
      if (!all.length) return skip();
      const constraints = podConstraints(pi.pod, h.listers, 'ScheduleAnyway');
      if (!constraints.length) return skip();
      const s = new ScoreState(constraints);
      const requireAll = (pi.pod.spec.topologySpreadConstraints ?? []).length > 0;
      const sizes = constraints.map(() => 0);
      for (const n of filtered) {
        if (requireAll && !nodeHasAllKeys(n.labels, constraints)) {
          s.ignored.add(n.name);
          continue;
        }
        constraints.forEach((c, i) => {
          if (c.topologyKey === LABEL_HOSTNAME) return;
          const k = pairKey(c.topologyKey, n.labels[c.topologyKey] ?? '');
          if (!s.counts.has(k)) {
            s.counts.set(k, 0);
            sizes[i]++;
          }
        });
      }
      s.weights = constraints.map((c, i) =>
        Math.log((c.topologyKey === LABEL_HOSTNAME ? filtered.length - s.ignored.size : sizes[i]) + 2),
      );
      // Domains other than hostname are counted over every node (hostname counts per node at Score).
      if (constraints.some((c) => c.topologyKey !== LABEL_HOSTNAME)) {
        const ns = pi.pod.metadata.namespace ?? '';
        const aff = requiredNodeAffinity(pi.pod);
        for (const n of all) {
          if (requireAll && !nodeHasAllKeys(n.labels, constraints)) continue;
          for (const c of constraints) {
            if (c.topologyKey === LABEL_HOSTNAME || !nodeIncluded(c, pi.pod, n.node, aff)) continue;
            const k = pairKey(c.topologyKey, n.labels[c.topologyKey] ?? '');
            const cur = s.counts.get(k);
            if (cur === undefined) continue;
            s.counts.set(k, cur + countMatching(n, c, ns));
          }
        }
      }
      state.write(SCORE_KEY, s);
      return undefined;
    },
    score(state: CycleState, pi: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array) {
      const s = state.read(SCORE_KEY);
      if (!s) return;
      const ns = pi.pod.metadata.namespace ?? '';
      const constraints = s.constraints;
      for (let j = 0; j < nodes.length; j++) {
        const n = nodes[j];
        if (s.ignored.has(n.name)) continue;
        const labels = n.labels;
        let score = 0;
        for (let i = 0; i < constraints.length; i++) {
          const c = constraints[i];
          const v = labels[c.topologyKey];
          if (v === undefined) continue;
          const cnt =
            c.topologyKey === LABEL_HOSTNAME ? countMatching(n, c, ns) : (s.counts.get(pairKey(c.topologyKey, v)) ?? 0);
          score += cnt * s.weights[i] + (c.maxSkew - 1);
        }
        scores[j] = Math.round(score);
      }
    },
    normalizeScore(state, _pi, nodes, scores) {
      const s = state.read(SCORE_KEY);
      if (!s) return;
      let min = Number.MAX_SAFE_INTEGER,
        max = 0;
      const count = nodes.length;
      const ignored = s.ignored.size > 0;
      for (let i = 0; i < count; i++) {
        if (ignored && s.ignored.has(nodes[i].name)) continue;
        const sc = scores[i];
        if (sc < min) min = sc;
        if (sc > max) max = sc;
      }
      for (let i = 0; i < count; i++) {
        if (ignored && s.ignored.has(nodes[i].name)) scores[i] = 0;
        else if (max === 0) scores[i] = MAX_NODE_SCORE;
        else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
      }
    },
  };
}
