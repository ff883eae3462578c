// One scheduling decision, synchronously over the cache (upstream's schedulePod): PreFilter, the
// nominated node first, then Filter over nodes from a rotating start until enough feasible nodes
// are found (all nodes below 100, else 50% − nodes/125, at least 5% and 100), then PreScore,
// Score and a random pick among the best.
import { CycleState, NodeToStatus, unresolvable, type Diagnosis, type Snapshot } from './framework.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';
import type { Profile } from './profile.js';
import { internal } from '../../common/index.js';

const MIN_FEASIBLE_NODES = 100;
const MIN_FEASIBLE_PERCENTAGE = 5;

export type ScheduleResult =
  | { kind: 'scheduled'; node: string; evaluated: number; feasible: number }
  | { kind: 'unfit'; numAllNodes: number; diagnosis: Diagnosis }
  | { kind: 'no-nodes' }
  | { kind: 'error'; message: string; diagnosis: Diagnosis };

export function numFeasibleNodesToFind(numAll: number, percentage = 0): number {
  if (numAll < MIN_FEASIBLE_NODES) return numAll;
  let pct = percentage;
  if (pct === 0) pct = Math.max(50 - Math.trunc(numAll / 125), MIN_FEASIBLE_PERCENTAGE);
  const n = Math.trunc((numAll * pct) / 100);
  return n < MIN_FEASIBLE_NODES ? MIN_FEASIBLE_NODES : n;
}

export class Algorithm {
  private nextStart = 0;
  /** The feasible nodes of the current cycle, reused by every cycle (a cycle never awaits, and
   *  the plugins given it at PreScore and Score keep no reference): 4 KB per pod at 500 nodes. */
  private feasibleBuf: NodeInfo[] = [];

  constructor(
    private profile: Profile,
    private snapshot: Snapshot,
    private percentageOfNodesToScore = 0,
    private random: () => number = Math.random,
  ) {}

  schedule(state: CycleState, pi: PodInfo): ScheduleResult {
    const all = this.snapshot.nodeInfos();
    if (!all.length) return { kind: 'no-nodes' };
    const diagnosis: Diagnosis = { nodeToStatus: new NodeToStatus(), unschedulablePlugins: new Set() };
    const pre = this.profile.runPreFilter(state, pi);
    diagnosis.unschedulablePlugins = pre.unschedulablePlugins;
    if (!pre.status.isSuccess) {
      if (!pre.status.isRejected) return { kind: 'error', message: pre.status.message, diagnosis };
      diagnosis.nodeToStatus.absent = pre.status;
      diagnosis.preFilterMsg = pre.status.message;
      return { kind: 'unfit', numAllNodes: all.length, diagnosis };
    }
    let feasible: NodeInfo[] = [];
    const nominated = pi.pod.status?.nominatedNodeName;
    if (nominated) {
      const n = this.snapshot.get(nominated);
      if (n) feasible = this.filterNodes(state, pi, diagnosis, [n], all.length, false);
    }
    if (!feasible.length) {
      let nodes = all;
      if (pre.nodeNames) {
        nodes = [...pre.nodeNames].map((n) => this.snapshot.get(n)).filter((n): n is NodeInfo => !!n);
        diagnosis.nodeToStatus.absent = unresolvable(
          `node(s) didn't satisfy plugin(s) [${[...pre.unschedulablePlugins].sort().join(' ')}]`,
        );
      }
      try {
        feasible = this.filterNodes(state, pi, diagnosis, nodes, all.length, true);
      } catch (e) {
        return { kind: 'error', message: e instanceof Error ? e.message : String(e), diagnosis };
      }
    }
    if (!feasible.length) return { kind: 'unfit', numAllNodes: all.length, diagnosis };
    const evaluated = feasible.length + diagnosis.nodeToStatus.map.size;
    if (feasible.length === 1) return { kind: 'scheduled', node: feasible[0].name, evaluated, feasible: 1 };
    const ps = this.profile.runPreScore(state, pi, feasible);
    if (ps) return { kind: 'error', message: ps.message, diagnosis };
    let totals;
    try {
      totals = this.profile.runScore(state, pi, feasible);
    } catch (e) {
      return { kind: 'error', message: e instanceof Error ? e.message : String(e), diagnosis };
    }
    // The best score; ties broken uniformly at random, as upstream's reservoir sampling: one
    // pass finds the best score and how many nodes share it, one draw picks among those.
    const count = feasible.length;
    let best = totals[0],
      ties = 1;
    for (let i = 1; i < count; i++) {
      const t = totals[i];
      if (t > best) {
        best = t;
        ties = 1;
      } else if (t === best) ties++;
    }
    let pick = ties > 1 ? Math.floor(this.random() * ties) : 0;
    let chosen = 0;
    for (let i = 0; i < count; i++)
      if (totals[i] === best && pick-- === 0) {
        chosen = i;
        break;
      }
    return { kind: 'scheduled', node: feasible[chosen].name, evaluated, feasible: count };
  }

  private filterNodes(
    state: CycleState,
    pi: PodInfo,
    d: Diagnosis,
    nodes: NodeInfo[],
    numAll: number,
    rotate: boolean,
  ): NodeInfo[] {
    const want = this.profile.hasScore ? numFeasibleNodesToFind(nodes.length, this.percentageOfNodesToScore) : 1;
    // One list for every cycle: written from the start, then cut to what was found (V8 keeps the
    // backing store unless it is cut below half, so the next cycle writes into it again).
    const feasible = this.feasibleBuf;
    let found = 0;
    const start = rotate ? this.nextStart % nodes.length : 0;
    const anyNominated = this.profile.anyNominated();
    let processed = 0;
    for (let i = 0; i < nodes.length && found < want; i++) {
      const n = nodes[(start + i) % nodes.length];
      processed++;
      const s = this.profile.runFilterWithNominatedPods(state, pi, n, anyNominated);
      if (s.isSuccess) feasible[found++] = n;
      else if (s.code === 'Error')
        throw internal(s.message); // a plugin failed (not: the node does not fit)
      else {
        d.nodeToStatus.set(n.name, s);
        if (s.plugin) d.unschedulablePlugins.add(s.plugin);
      }
    }
    if (rotate) this.nextStart = (this.nextStart + processed) % numAll;
    feasible.length = found;
    return feasible;
  }
}

export { CycleState };
