// DefaultPreemption (PostFilter): when a pod fits nowhere, find nodes where evicting lower-priority
// pods would make it fit (only nodes that failed as Unschedulable, not Unresolvable), keep the
// fewest victims (reprieving PDB-protected pods first, then by importance), pick the node by
// upstream's criteria (fewest PDB violations, lowest highest-victim priority, lowest priority sum,
// fewest victims, latest start), then mark the victims (DisruptionTarget) and delete them
// gracefully. The scheduler then nominates the node (status.nominatedNodeName).
import { selectorMatches } from '../../api/index.js';
import {
  fitErrorMessage,
  NodeToStatus,
  Status,
  unresolvable,
  unschedulable,
  type CycleState,
  type Handle,
  type Plugin,
} from '../framework.js';
import { isEverything, safeSelector, type NodeInfo, type PodInfo } from '../nodeinfo.js';
import type { Pod, PodDisruptionBudget } from '../types.js';
import { internal } from '../../../common/index.js';

const MIN_CANDIDATE_NODES_PERCENTAGE = 10;
const MIN_CANDIDATE_NODES_ABSOLUTE = 100;

const priority = (p: Pod) => p.spec.priority ?? 0;
const startTime = (p: Pod) => Date.parse(p.status?.startTime ?? '') || Date.now();

/** upstream's util.MoreImportantPod: higher priority, then earlier start. */
export const moreImportant = (a: Pod, b: Pod) => {
  const pa = priority(a),
    pb = priority(b);
  return pa !== pb ? pa > pb : startTime(a) < startTime(b);
};

interface Candidate {
  node: string;
  victims: Pod[];
  pdbViolations: number;
}

function splitByPDB(pis: PodInfo[], pdbs: PodDisruptionBudget[]): { violating: PodInfo[]; ok: PodInfo[] } {
  const allowed = pdbs.map((p) => p.status?.disruptionsAllowed ?? 0);
  const violating: PodInfo[] = [],
    ok: PodInfo[] = [];
  for (const pi of pis) {
    const m = pi.pod.metadata;
    let violated = false;
    if (Object.keys(m.labels ?? {}).length)
      pdbs.forEach((pdb, i) => {
        if (pdb.metadata.namespace !== m.namespace) return;
        const sel = safeSelector(pdb.spec?.selector);
        if (isEverything(sel) || !selectorMatches(sel, m.labels)) return;
        if (pdb.status?.disruptedPods?.[m.name ?? '']) return;
        if (--allowed[i] < 0) violated = true;
      });
    (violated ? violating : ok).push(pi);
  }
  return { violating, ok };
}

export function defaultPreemption(h: Handle, pdbs: () => PodDisruptionBudget[]): Plugin {
  const selectVictims = (
    state: CycleState,
    pi: PodInfo,
    n: NodeInfo,
  ): { status: Status; victims?: Pod[]; violations?: number } => {
    const prio = pi.priority;
    const potential = n.pods.filter((p) => p.priority < prio);
    if (!potential.length) return { status: unresolvable('No preemption victims found for incoming pod') };
    for (const v of potential) {
      n.removePod(v.key);
      h.runPreFilterRemovePod(state, pi, v, n);
    }
    const fits = h.runFilterWithNominatedPods(state, pi, n);
    if (!fits.isSuccess) return { status: fits };
    potential.sort((a, b) => (moreImportant(a.pod, b.pod) ? -1 : moreImportant(b.pod, a.pod) ? 1 : 0));
    const { violating, ok } = splitByPDB(potential, pdbs());
    const victims: Pod[] = [];
    let violations = 0;
    const reprieve = (v: PodInfo): boolean => {
      n.addPod(v);
      h.runPreFilterAddPod(state, pi, v, n);
      if (h.runFilterWithNominatedPods(state, pi, n).isSuccess) return true;
      n.removePod(v.key);
      h.runPreFilterRemovePod(state, pi, v, n);
      victims.push(v.pod);
      return false;
    };
    for (const v of violating) if (!reprieve(v)) violations++;
    for (const v of ok) reprieve(v);
    if (violating.length && ok.length) victims.sort((a, b) => (moreImportant(a, b) ? -1 : moreImportant(b, a) ? 1 : 0));
    return { status: new Status('Success'), victims, violations };
  };

  const pick = (cs: Candidate[]): Candidate => {
    const fns: ((c: Candidate) => number)[] = [
      (c) => -c.pdbViolations,
      (c) => -priority(c.victims[0]),
      (c) => -c.victims.reduce((s, p) => s + priority(p) + 2 ** 31, 0),
      (c) => -c.victims.length,
      (c) => {
        const top = priority(c.victims[0]);
        return Math.min(...c.victims.filter((p) => priority(p) === top).map(startTime));
      },
    ];
    let all = cs;
    for (const f of fns) {
      let max = -Infinity;
      let sel: Candidate[] = [];
      for (const c of all) {
        const s = f(c);
        if (s > max) {
          max = s;
          sel = [];
        }
        if (s === max) sel.push(c);
      }
      if (sel.length === 1) return sel[0];
      all = sel;
    }
    return all[0];
  };

  const preempt = async (
    state: CycleState,
    pi: PodInfo,
    statuses: NodeToStatus,
  ): Promise<{ status: Status; nominatedNodeName?: string }> => {
    const pod = pi.pod;
    if (pod.spec.preemptionPolicy === 'Never')
      return { status: unschedulable('not eligible due to preemptionPolicy=Never.') };
    const nominated = pod.status?.nominatedNodeName;
    if (nominated && statuses.get(nominated)?.code !== 'UnschedulableAndUnresolvable') {
      const n = h.snapshot.get(nominated);
      const terminating = n?.pods.some(
        (p) =>
          p.priority < pi.priority &&
          p.pod.metadata.deletionTimestamp &&
          p.pod.status?.conditions?.some(
            (c) => c.type === 'DisruptionTarget' && c.status === 'True' && c.reason === 'PreemptionByScheduler',
          ),
      );
      if (terminating) return { status: unschedulable('not eligible due to a terminating pod on the nominated node.') };
    }
    const all = h.snapshot.nodeInfos();
    const potential = statuses.nodesWithCode(all, 'Unschedulable');
    const nodeStatuses = new NodeToStatus();
    const candidates: Candidate[] = [];
    if (potential.length) {
      let want = Math.trunc((potential.length * MIN_CANDIDATE_NODES_PERCENTAGE) / 100);
      want = Math.min(Math.max(want, MIN_CANDIDATE_NODES_ABSOLUTE), potential.length);
      const offset = Math.floor(Math.random() * potential.length);
      let nonViolating = 0;
      for (let i = 0; i < potential.length; i++) {
        const n = potential[(offset + i) % potential.length].clone();
        const r = selectVictims(state.clone(), pi, n);
        if (r.status.isSuccess && r.victims?.length) {
          candidates.push({ node: n.name, victims: r.victims, pdbViolations: r.violations ?? 0 });
          if (!r.violations) nonViolating++;
          if (nonViolating > 0 && candidates.length >= want) break;
          continue;
        }
        nodeStatuses.set(
          n.name,
          r.status.isSuccess ? unresolvable(`expected at least one victim pod on node "${n.name}"`) : r.status,
        );
      }
    } else if (nominated) await clearNominated(h, [pod]);
    if (!candidates.length) {
      nodeStatuses.absent = unresolvable('Preemption is not helpful for scheduling');
      const msg = fitErrorMessage(all.length, { nodeToStatus: nodeStatuses, unschedulablePlugins: new Set() });
      return { status: unschedulable(msg), nominatedNodeName: '' };
    }
    candidates.sort((a, b) => (a.pdbViolations === 0 ? 0 : 1) - (b.pdbViolations === 0 ? 0 : 1));
    const best = pick(candidates);
    await Promise.all(best.victims.map((v) => evict(h, pod, v, best.node)));
    const lower = h.nominator
      .nominatedPodsForNode(best.node)
      .filter((p) => p.priority < pi.priority && p.key !== pi.key)
      .map((p) => p.pod);
    // best effort, as upstream: a stale nomination only delays those pods' next attempt
    await clearNominated(h, lower).catch(() => undefined);
    return { status: new Status('Success'), nominatedNodeName: best.node };
  };

  return {
    name: 'DefaultPreemption',
    async postFilter(state, pi, statuses) {
      const r = await preempt(state, pi, statuses);
      if (r.status.message) return { ...r, status: new Status(r.status.code, [`preemption: ${r.status.message}`]) };
      return r;
    },
  };
}

const podPath = (p: Pod) =>
  `/api/v1/namespaces/${encodeURIComponent(p.metadata.namespace ?? '')}/pods/${encodeURIComponent(p.metadata.name ?? '')}`;

async function evict(h: Handle, preemptor: Pod, victim: Pod, node: string): Promise<void> {
  if (!h.client) throw internal('no API client to preempt pods');
  const cond = {
    type: 'DisruptionTarget',
    status: 'True',
    reason: 'PreemptionByScheduler',
    message: `${preemptor.spec.schedulerName ?? h.schedulerName}: preempting to accommodate a higher priority pod`,
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  try {
    await h.client.request('PATCH', `${podPath(victim)}/status`, {
      body: { status: { conditions: [cond] } },
      contentType: 'application/strategic-merge-patch+json',
    });
    await h.client.request('DELETE', podPath(victim));
  } catch (e) {
    if ((e as { code?: string }).code !== 'NotFound') throw e;
    return;
  }
  h.event(victim, 'Normal', 'Preempted', 'Preempting', `Preempted by pod ${preemptor.metadata.uid} on node ${node}`);
}

export async function clearNominated(h: Handle, pods: Pod[]): Promise<void> {
  if (!h.client) return;
  for (const p of pods) {
    if (!p.status?.nominatedNodeName) continue;
    await h.client
      .request('PATCH', `${podPath(p)}/status`, {
        body: { status: { nominatedNodeName: null } },
        contentType: 'application/merge-patch+json',
      })
      // the pod may be gone or already changed; its next scheduling attempt resets it
      .catch(() => undefined);
  }
}
