// Upstream's default profile, in its order (the order filters run in decides which reason a node
// is reported with) and with its score weights. Not built: VolumeRestrictions, NodeVolumeLimits,
// VolumeZone (cloud and CSI volume limits), DynamicResources.
import type { Handle } from '../framework.js';
import type { WeightedPlugin } from '../profile.js';
import type { PodDisruptionBudget } from '../types.js';
import { defaultPreemption } from './default-preemption.js';
import { interPodAffinity } from './inter-pod-affinity.js';
import { nodeAffinity } from './node-affinity.js';
import { imageLocality, nodeResourcesBalancedAllocation, nodeResourcesFit } from './node-resources.js';
import { podTopologySpread } from './pod-topology-spread.js';
import { nodeName, nodePorts, nodeUnschedulable, schedulingGates } from './simple.js';
import { taintToleration } from './taint-toleration.js';
import { volumeBinding } from './volume-binding.js';

export function defaultPlugins(h: Handle, pdbs: () => PodDisruptionBudget[]): WeightedPlugin[] {
  return [
    { plugin: schedulingGates() },
    { plugin: nodeUnschedulable() },
    { plugin: nodeName() },
    { plugin: taintToleration(), weight: 3 },
    { plugin: nodeAffinity(), weight: 2 },
    { plugin: nodePorts() },
    { plugin: nodeResourcesFit(), weight: 1 },
    { plugin: volumeBinding(h) },
    { plugin: podTopologySpread(h), weight: 2 },
    { plugin: interPodAffinity(h), weight: 2 },
    { plugin: defaultPreemption(h, pdbs) },
    { plugin: nodeResourcesBalancedAllocation(), weight: 1 },
    { plugin: imageLocality(h), weight: 1 },
  ];
}

export { defaultPreemption, moreImportant } from './default-preemption.js';
export { interPodAffinity } from './inter-pod-affinity.js';
export { nodeAffinity } from './node-affinity.js';
export {
  imageLocality,
  insufficientResources,
  nodeResourcesBalancedAllocation,
  nodeResourcesFit,
} from './node-resources.js';
export { podTopologySpread } from './pod-topology-spread.js';
export { nodeName, nodePorts, nodeUnschedulable, schedulingGates } from './simple.js';
export { taintToleration } from './taint-toleration.js';
export { volumeBinding } from './volume-binding.js';
