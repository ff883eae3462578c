// What a daemon pod is: the DaemonSet's template pinned to one node by a required node affinity,
// with the tolerations upstream adds, and whether a node should run one (NodeShouldRunDaemonPod);
// the pods' template-generation label.
import { nodeMatches, untoleratedTaint } from '../shared/scheduling.js';
import type { Node, NodeAffinity, Pod, PodTemplateSpec, Toleration, Workload } from '../shared/types.js';

export interface DaemonSetSpec {
  selector?: import('../shared/types.js').LabelSelector;
  template?: PodTemplateSpec;
  updateStrategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}
export interface DaemonSetStatus {
  currentNumberScheduled?: number;
  numberMisscheduled?: number;
  desiredNumberScheduled?: number;
  numberReady?: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
}
export type DaemonSet = Workload<DaemonSetSpec, DaemonSetStatus>;

export const GENERATION_LABEL = 'pod-template-generation';
/** The template generation the API server keeps (else, on older objects, the generation). */
export const templateGeneration = (ds: DaemonSet): string =>
  ds.metadata.annotations?.['deprecated.daemonset.template.generation'] ?? String(ds.metadata.generation ?? 1);
const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** The daemon pod's tolerations: the template's plus upstream's daemon ones (not duplicated). */
function daemonTolerations(t: PodTemplateSpec | undefined): Toleration[] {
  const out = [...(t?.spec?.tolerations ?? [])];
  const extra = t?.spec?.hostNetwork
    ? [
        ...DAEMON_TOLERATIONS,
        { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' },
      ]
    : DAEMON_TOLERATIONS;
  for (const d of extra)
    if (!out.some((x) => x && x.key === d.key && x.effect === d.effect && x.operator === d.operator)) out.push(d);
  return out;
}

/** The template with the node affinity for `node` (replacing required terms) and daemon tolerations. */
export function podTemplateFor(t: PodTemplateSpec | undefined, node: string): PodTemplateSpec {
  const c = structuredClone(t ?? {});
  c.spec = c.spec ?? { containers: [] };
  const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] };
  const affinity = c.spec.affinity ?? {};
  const na: NodeAffinity = affinity.nodeAffinity ?? {};
  na.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [term] };
  c.spec.affinity = { ...affinity, nodeAffinity: na };
  c.spec.tolerations = daemonTolerations(t);
  return c;
}

/** [shouldRun, shouldContinueRunning] for a node (upstream's NodeShouldRunDaemonPod). */
export function shouldRunOn(ds: DaemonSet, node: Node): [boolean, boolean] {
  const t = ds.spec?.template;
  if (t?.spec?.nodeName && t.spec.nodeName !== node.metadata.name) return [false, false];
  const pod: Pod = {
    metadata: { labels: t?.metadata?.labels },
    spec: { ...(t?.spec ?? { containers: [] }), tolerations: daemonTolerations(t) },
  };
  if (!nodeMatches(pod, node)) return [false, false];
  const taints = node.spec?.taints;
  if (untoleratedTaint(taints, pod.spec!.tolerations, (x) => x.effect === 'NoSchedule' || x.effect === 'NoExecute'))
    return [false, !untoleratedTaint(taints, pod.spec!.tolerations, (x) => x.effect === 'NoExecute')];
  return [true, true];
}
