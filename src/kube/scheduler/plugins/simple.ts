// The small filter plugins of the default profile: SchedulingGates, NodeUnschedulable, NodeName,
// NodePorts (upstream's reasons, verbatim: they are what `kubectl describe` shows).
import { skip, unresolvable, unschedulable, Frozen, type CycleState, type Plugin, StateKey } from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';
import { tolerationsTolerate } from '../taints.js';
import type { ContainerPort, Pod } from '../types.js';

const NODE_CHANGES = ['Add', 'UpdateNodeTaint', 'UpdateNodeLabel'] as const;

export const schedulingGates = (): Plugin => ({
  name: 'SchedulingGates',
  preEnqueue(pod: Pod) {
    const gates = pod.spec.schedulingGates ?? [];
    if (!gates.length) return undefined;
    return unresolvable(`waiting for scheduling gates: [${gates.map((g) => g.name).join(' ')}]`);
  },
  events: () => [{ resource: 'PodSchedulingGates', actions: ['Update'] }],
});

export const ErrReasonUnschedulable = 'node(s) were unschedulable';

export const nodeUnschedulable = (): Plugin => ({
  name: 'NodeUnschedulable',
  events: () => [
    { resource: 'Node', actions: [...NODE_CHANGES] },
    { resource: 'Pod', actions: ['UpdatePodTolerations'] },
  ],
  filter(_s: CycleState, pi: PodInfo, n: NodeInfo) {
    if (!n.unschedulable) return undefined;
    const tolerates = tolerationsTolerate(pi.pod.spec.tolerations, {
      key: 'node.kubernetes.io/unschedulable',
      effect: 'NoSchedule',
    });
    return tolerates ? undefined : unresolvable(ErrReasonUnschedulable);
  },
});

export const ErrReasonNodeName = "node(s) didn't match the requested node name";

export const nodeName = (): Plugin => ({
  name: 'NodeName',
  events: () => [{ resource: 'Node', actions: [...NODE_CHANGES] }],
  filter(_s: CycleState, pi: PodInfo, n: NodeInfo) {
    const want = pi.pod.spec.nodeName;
    return !want || want === n.name ? undefined : unresolvable(ErrReasonNodeName);
  },
});

export const ErrReasonNodePorts = "node(s) didn't have free ports for the requested pod ports";
const PORTS_KEY = new StateKey<Frozen<ContainerPort[]>>('PreFilterNodePorts');

export const nodePorts = (): Plugin => ({
  name: 'NodePorts',
  events: () => [
    { resource: 'AssignedPod', actions: ['Delete'] },
    { resource: 'Node', actions: [...NODE_CHANGES] },
  ],
  preFilter(state: CycleState, pi: PodInfo) {
    if (!pi.hostPorts.length) return { status: skip() };
    state.write(PORTS_KEY, new Frozen<ContainerPort[]>(pi.hostPorts));
    return undefined;
  },
  filter(state: CycleState, pi: PodInfo, n: NodeInfo) {
    const want = state.read(PORTS_KEY)?.value ?? pi.hostPorts;
    for (const p of want) if (n.usedPorts.conflicts(p)) return unschedulable(ErrReasonNodePorts);
    return undefined;
  },
});
