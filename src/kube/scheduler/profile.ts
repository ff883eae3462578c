// A scheduling profile: the plugins of upstream's default profile in their order, with score
// weights, and the runners for each extension point (as upstream's frameworkImpl).
import {
  CycleState,
  errorStatus,
  MAX_NODE_SCORE,
  NodeToStatus,
  Status,
  unresolvable,
  type FilterFn,
  type Handle,
  type Plugin,
} from './framework.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';
import { internal } from '../../common/index.js';

/** The Success answer of a filter run (statuses are not changed once made, except by withPlugin
 *  on failures). */
const SUCCESS = new Status('Success');

export interface WeightedPlugin {
  plugin: Plugin;
  weight?: number;
}

/** A Score plugin as runScore calls it: its functions and weight read out of the plugin object
 *  once (one shape for all, so the loop's loads stay monomorphic). */
interface ScoreFn {
  name: string;
  weight: number;
  score: NonNullable<Plugin['score']>;
  normalize: Plugin['normalizeScore'];
}

export class Profile {
  readonly plugins: Plugin[];
  private weights = new Map<string, number>();
  private preFilters: Plugin[];
  private filters: FilterFn[];
  private postFilters: Plugin[];
  private preScores: Plugin[];
  private scores: ScoreFn[];
  /** runScore's buffers, grown as needed and reused by every cycle (a cycle never awaits). */
  private scoreBuf = new Float64Array(0);
  private totalBuf = new Float64Array(0);
  private reserves: Plugin[];
  private preBinds: Plugin[];

  constructor(
    readonly schedulerName: string,
    plugins: WeightedPlugin[],
    private handle: Pick<Handle, 'nominator'>,
  ) {
    this.plugins = plugins.map((p) => p.plugin);
    for (const p of plugins) this.weights.set(p.plugin.name, p.weight ?? 1);
    const has = (k: keyof Plugin) => this.plugins.filter((p) => typeof p[k] === 'function');
    this.preFilters = has('preFilter');
    this.filters = has('filter').map((p) => ({ name: p.name, filter: p.filter!.bind(p) }));
    this.postFilters = has('postFilter');
    this.preScores = has('preScore');
    this.scores = has('score').map((p) => ({
      name: p.name,
      weight: this.weights.get(p.name) ?? 1,
      score: p.score!.bind(p),
      normalize: p.normalizeScore?.bind(p),
    }));
    this.reserves = has('reserve');
    this.preBinds = has('preBind');
  }

  get hasScore(): boolean {
    return this.scores.length > 0;
  }
  get hasPostFilter(): boolean {
    return this.postFilters.length > 0;
  }

  /** PreFilter; a rejection stops at the first Unresolvable (Unschedulable ones let the rest run,
   *  for preemption). nodeNames: the nodes the plugins narrowed the search to. */
  runPreFilter(
    state: CycleState,
    pi: PodInfo,
  ): { status: Status; nodeNames?: Set<string>; unschedulablePlugins: Set<string> } {
    let result: Set<string> | undefined;
    const withNodes: string[] = [];
    let ret: Status = new Status('Success');
    for (const p of this.preFilters) {
      let r;
      try {
        r = p.preFilter!(state, pi);
      } catch (e) {
        return { status: errorStatus(e).withPlugin(p.name), unschedulablePlugins: new Set() };
      }
      const s = r?.status;
      if (s?.code === 'Skip') {
        state.skipFilterPlugins.add(p.name);
        continue;
      }
      if (s && !s.isSuccess) {
        s.withPlugin(p.name);
        if (s.code === 'UnschedulableAndUnresolvable') return { status: s, unschedulablePlugins: new Set([p.name]) };
        if (s.code === 'Unschedulable') {
          ret = s;
          continue;
        }
        return { status: s, unschedulablePlugins: new Set() };
      }
      if (r?.nodeNames) {
        withNodes.push(p.name);
        result = result ? new Set([...result].filter((n) => r.nodeNames!.has(n))) : new Set(r.nodeNames);
        if (result.size === 0) {
          const sorted = [...withNodes].sort();
          const msg =
            sorted.length === 1
              ? `node(s) didn't satisfy plugin ${sorted[0]}`
              : `node(s) didn't satisfy plugin(s) [${sorted.join(' ')}] simultaneously`;
          return { status: unresolvable(msg), nodeNames: result, unschedulablePlugins: new Set(withNodes) };
        }
      }
    }
    return {
      status: ret,
      nodeNames: result,
      unschedulablePlugins: ret.isSuccess ? new Set(withNodes) : new Set([ret.plugin]),
    };
  }

  runPreFilterAddPod(state: CycleState, pi: PodInfo, toAdd: PodInfo, node: NodeInfo): void {
    for (const p of this.preFilters) if (!state.skipFilterPlugins.has(p.name)) p.addPod?.(state, pi, toAdd, node);
  }
  runPreFilterRemovePod(state: CycleState, pi: PodInfo, toRemove: PodInfo, node: NodeInfo): void {
    for (const p of this.preFilters) if (!state.skipFilterPlugins.has(p.name)) p.removePod?.(state, pi, toRemove, node);
  }

  /** Filters in order; the first failure decides (its plugin is recorded on the status). */
  runFilter(state: CycleState, pi: PodInfo, node: NodeInfo): Status | undefined {
    // No closure here or in runFilterWithNominatedPods: one capturing a parameter makes V8
    // allocate a context at every call, i.e. per node searched.
    const active = state.activeFilters ?? this.activeFilters(state);
    for (let i = 0; i < active.length; i++) {
      const p = active[i];
      const s = p.filter(state, pi, node);
      if (s && !s.isSuccess) {
        return (s.isRejected ? s : errorStatus(`running "${p.name}" filter plugin: ${s.message}`)).withPlugin(p.name);
      }
    }
    return undefined;
  }

  private activeFilters(state: CycleState): FilterFn[] {
    const skip = state.skipFilterPlugins;
    state.activeFilters = this.filters.filter((p) => !skip.has(p.name));
    return state.activeFilters;
  }

  /** Filters with the pods nominated to the node (of at least the pod's priority) counted in, as
   *  upstream: when there are such pods, the node must fit with them and without them. */
  runFilterWithNominatedPods(state: CycleState, pi: PodInfo, node: NodeInfo, anyNominated = true): Status {
    // Called for every node searched (500 per pod at 5000 nodes): the caller asks once per cycle
    // whether any pod is nominated (anyNominated), and no array is built when none is to this node.
    if (anyNominated) {
      const s = this.filterWithNominated(state, pi, node);
      if (s) return s;
    }
    return this.runFilter(state, pi, node) ?? SUCCESS;
  }

  /** The failure of the filters run with the pods nominated to the node (of at least the pod's
   *  priority, itself aside) added, if there are such pods and it fails. */
  private filterWithNominated(state: CycleState, pi: PodInfo, node: NodeInfo): Status | undefined {
    const all = this.handle.nominator.nominatedPodsForNode(node.name);
    if (!all.length) return undefined;
    const nominated = all.filter((p) => p.key !== pi.key && p.priority >= pi.priority);
    if (!nominated.length) return undefined;
    const n = node.clone();
    const st = state.clone();
    for (const p of nominated) {
      n.addPod(p);
      this.runPreFilterAddPod(st, pi, p, n);
    }
    const s = this.runFilter(st, pi, n);
    return s && !s.isSuccess ? s : undefined;
  }

  async runPostFilter(
    state: CycleState,
    pi: PodInfo,
    statuses: NodeToStatus,
  ): Promise<{ status: Status; nominatedNodeName?: string }> {
    let last: { status: Status; nominatedNodeName?: string } = { status: unresolvable() };
    for (const p of this.postFilters) {
      const r = await p.postFilter!(state, pi, statuses);
      if (r.status.isSuccess || r.status.code !== 'Unschedulable') return r;
      last = r;
    }
    return last;
  }

  runPreScore(state: CycleState, pi: PodInfo, nodes: NodeInfo[]): Status | undefined {
    for (const p of this.preScores) {
      const s = p.preScore!(state, pi, nodes);
      if (s?.code === 'Skip') state.skipScorePlugins.add(p.name);
      else if (s && !s.isSuccess) return s.withPlugin(p.name);
    }
    return undefined;
  }

  /** Whether any pod is nominated to any node (once per cycle, for runFilterWithNominatedPods). */
  anyNominated(): boolean {
    return this.handle.nominator.anyNominated?.() ?? true;
  }

  /** Weighted total per node (plugins' scores normalised, 0..100, times their weight): entry i is
   *  nodes[i]'s. Each plugin fills one buffer of scores for all the nodes, and the totals are
   *  another: both are kept between cycles, so a cycle allocates nothing per node here. The
   *  returned array is valid until the next runScore (only its first nodes.length entries). */
  runScore(state: CycleState, pi: PodInfo, nodes: readonly NodeInfo[]): Float64Array {
    const count = nodes.length;
    if (this.totalBuf.length < count) {
      this.totalBuf = new Float64Array(Math.max(count, 2 * this.totalBuf.length));
      this.scoreBuf = new Float64Array(this.totalBuf.length);
    }
    const totals = this.totalBuf;
    const scores = this.scoreBuf;
    totals.fill(0, 0, count);
    for (let k = 0; k < this.scores.length; k++) {
      const p = this.scores[k];
      if (state.skipScorePlugins.has(p.name)) continue;
      scores.fill(0, 0, count);
      p.score(state, pi, nodes, scores);
      p.normalize?.(state, pi, nodes, scores);
      const w = p.weight;
      for (let i = 0; i < count; i++) {
        const s = scores[i];
        if (s > MAX_NODE_SCORE || s < 0)
          throw internal(`plugin "${p.name}" returns an invalid score ${s}, it should in the range of [0, 100]`);
        totals[i] += s * w;
      }
    }
    return totals;
  }

  runReserve(state: CycleState, pi: PodInfo, node: string): Status | undefined {
    for (const p of this.reserves) {
      const s = p.reserve!(state, pi, node);
      if (s && !s.isSuccess) return s.withPlugin(p.name);
    }
    return undefined;
  }
  runUnreserve(state: CycleState, pi: PodInfo, node: string): void {
    for (const p of [...this.reserves].reverse()) p.unreserve?.(state, pi, node);
  }

  async runPreBind(state: CycleState, pi: PodInfo, node: string, signal?: AbortSignal): Promise<Status | undefined> {
    for (const p of this.preBinds) {
      const s = await p.preBind!(state, pi, node, signal);
      if (s && !s.isSuccess) return s.withPlugin(p.name);
    }
    return undefined;
  }
}

export { CycleState, NodeToStatus };
