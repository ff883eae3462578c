// TaintToleration: NoSchedule/NoExecute taints the pod does not tolerate filter the node out;
// untolerated PreferNoSchedule taints lower its score (reverse-normalised count).
import {
  defaultNormalizeScore,
  Frozen,
  MAX_NODE_SCORE,
  unresolvable,
  type CycleState,
  type Plugin,
  StateKey,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';
import { tolerationsTolerate, untoleratedTaint } from '../taints.js';
import type { Toleration } from '../types.js';

const KEY = new StateKey<Frozen<Toleration[]>>('PreScoreTaintToleration');

export const taintToleration = (): Plugin => ({
  name: 'TaintToleration',
  events: () => [
    { resource: 'Node', actions: ['Add', 'UpdateNodeTaint', 'UpdateNodeLabel'] },
    { resource: 'Pod', actions: ['UpdatePodTolerations'] },
  ],
  filter(_s: CycleState, pi: PodInfo, n: NodeInfo) {
    const t = untoleratedTaint(n.taints, pi.pod.spec.tolerations);
    return t ? unresolvable(`node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`) : undefined;
  },
  preScore(state: CycleState, pi: PodInfo, nodes: NodeInfo[]) {
    if (!nodes.length) return undefined;
    const prefer = (pi.pod.spec.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    state.write(KEY, new Frozen<Toleration[]>(prefer));
    return undefined;
  },
  score(state: CycleState, _pi: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array) {
    const tol = state.read(KEY)?.value ?? [];
    for (let i = 0; i < nodes.length; i++) {
      const taints = nodes[i].taints;
      let count = 0;
      if (taints)
        for (const taint of taints)
          if (taint.effect === 'PreferNoSchedule' && !tolerationsTolerate(tol, taint)) count++;
      scores[i] = count;
    }
  },
  normalizeScore(_s, _pi, nodes, scores) {
    defaultNormalizeScore(MAX_NODE_SCORE, true, scores, nodes.length);
  },
});
