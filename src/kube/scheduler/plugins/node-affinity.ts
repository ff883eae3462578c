// NodeAffinity: the pod's nodeSelector and required node affinity filter nodes (a matchFields
// metadata.name In narrows the candidate nodes at PreFilter); preferred terms score by weight.
import {
  defaultNormalizeScore,
  Frozen,
  MAX_NODE_SCORE,
  skip,
  unresolvable,
  type CycleState,
  type Plugin,
  StateKey,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';
import { compilePreferred, requiredNodeAffinity } from '../node-selector.js';
import type { Node } from '../types.js';

export const ErrReasonPod = "node(s) didn't match Pod's node affinity/selector";
const ErrReasonConflict = 'pod affinity terms conflict';
const SCORE_KEY = new StateKey<Frozen<((n: Node) => number) | undefined>>('PreScoreNodeAffinity');

export const nodeAffinity = (): Plugin => ({
  name: 'NodeAffinity',
  events: () => [
    { resource: 'Node', actions: ['Add', 'UpdateNodeLabel', 'UpdateNodeTaint'] },
    { resource: 'Pod', actions: ['UpdatePodLabel'] },
  ],
  preFilter(_state: CycleState, pi: PodInfo) {
    const required = pi.pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (!required && !pi.pod.spec.nodeSelector) return { status: skip() };
    const terms = required?.nodeSelectorTerms ?? [];
    if (!terms.length) return undefined;
    // A term naming nodes by metadata.name In restricts the nodes to look at; several such terms
    // union, and one term without such a field means any node may do.
    let names: Set<string> | undefined;
    for (const t of terms) {
      let termNames: Set<string> | undefined;
      for (const r of t.matchFields ?? []) {
        if (r.key !== 'metadata.name' || r.operator !== 'In') continue;
        const s = new Set(r.values ?? []);
        termNames = termNames ? new Set([...termNames].filter((x) => s.has(x))) : s;
      }
      if (!termNames) return undefined;
      names = new Set([...(names ?? []), ...termNames]);
    }
    if (names && names.size === 0) return { status: unresolvable(ErrReasonConflict) };
    return names ? { nodeNames: names } : undefined;
  },
  filter(_s: CycleState, pi: PodInfo, n: NodeInfo) {
    return requiredNodeAffinity(pi.pod).match(n.node) ? undefined : unresolvable(ErrReasonPod);
  },
  preScore(state: CycleState, pi: PodInfo, nodes: NodeInfo[]) {
    if (!nodes.length) return undefined;
    const pref = pi.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    if (!pref) return skip();
    state.write(SCORE_KEY, new Frozen<((n: Node) => number) | undefined>(compilePreferred(pref)));
    return undefined;
  },
  score(state: CycleState, _pi: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array) {
    const f = state.read(SCORE_KEY)?.value;
    if (f) for (let i = 0; i < nodes.length; i++) scores[i] = f(nodes[i].node);
  },
  normalizeScore(_s, _pi, nodes, scores) {
    defaultNormalizeScore(MAX_NODE_SCORE, false, scores, nodes.length);
  },
});
