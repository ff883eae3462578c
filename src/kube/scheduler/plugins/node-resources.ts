// NodeResourcesFit (requests against allocatable; LeastAllocated score over cpu and memory with
// weight 1 each, non-zero requests) and NodeResourcesBalancedAllocation (how evenly cpu and
// memory would be used, from actual requests). Reasons are upstream's ("Insufficient cpu", ...).
import {
  Frozen,
  MAX_NODE_SCORE,
  unschedulable,
  type CycleState,
  type Handle,
  type Plugin,
  StateKey,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';
import { isZeroResource, type Resource } from '../resources.js';

const FIT_KEY = new StateKey<Frozen<Resource>>('PreFilterNodeResourcesFit');

/** Why a pod does not fit a node's free resources (empty: it fits). */
export function insufficientResources(req: Resource, n: NodeInfo): string[] {
  const out: string[] = [];
  if (n.pods.length + 1 > n.allocatable.allowedPodNumber) out.push('Too many pods');
  if (isZeroResource(req)) return out;
  const a = n.allocatable,
    u = n.requested;
  if (req.milliCPU > 0 && req.milliCPU > a.milliCPU - u.milliCPU) out.push('Insufficient cpu');
  if (req.memory > 0 && req.memory > a.memory - u.memory) out.push('Insufficient memory');
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > a.ephemeralStorage - u.ephemeralStorage)
    out.push('Insufficient ephemeral-storage');
  for (const [name, q] of req.scalar) {
    if (q === 0) continue;
    if (q > (a.scalar.get(name) ?? 0) - (u.scalar.get(name) ?? 0)) out.push(`Insufficient ${name}`);
  }
  return out;
}

/** Whether the pod fits by pod count, cpu, memory and ephemeral storage with room to spare and
 *  asks for no extended resources: the common answer, found without building the reasons list
 *  (this runs for every node searched). Anything else goes to insufficientResources. */
function fitsFast(req: Resource, n: NodeInfo): boolean {
  return (
    req.scalar.size === 0 &&
    n.podCount + 1 <= n.allocPods &&
    req.milliCPU <= n.allocMilliCPU - n.reqMilliCPU &&
    req.memory <= n.allocMemory - n.reqMemory &&
    req.ephemeralStorage <= n.allocEphemeralStorage - n.reqEphemeralStorage
  );
}

function leastRequested(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

export const nodeResourcesFit = (): Plugin => ({
  name: 'NodeResourcesFit',
  events: () => [
    { resource: 'AssignedPod', actions: ['Delete', 'UpdatePodScaleDown'] },
    { resource: 'Node', actions: ['Add', 'UpdateNodeAllocatable', 'UpdateNodeTaint', 'UpdateNodeLabel'] },
  ],
  preFilter(state: CycleState, pi: PodInfo) {
    state.write(FIT_KEY, new Frozen(pi.resources.requests));
    return undefined;
  },
  filter(state: CycleState, pi: PodInfo, n: NodeInfo) {
    const req = state.read(FIT_KEY)?.value ?? pi.resources.requests;
    if (fitsFast(req, n)) return undefined;
    const reasons = insufficientResources(req, n);
    return reasons.length ? unschedulable(...reasons) : undefined;
  },
  // LeastAllocated over cpu and memory (weight 1 each), with non-zero requests.
  score(_state: CycleState, pi: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array) {
    const podCPU = pi.resources.nonZeroCPU,
      podMem = pi.resources.nonZeroMemory;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      const cpuAlloc = n.allocMilliCPU,
        memAlloc = n.allocMemory;
      let sum = 0,
        weights = 0;
      if (cpuAlloc) {
        sum += leastRequested(n.nonZeroMilliCPU + podCPU, cpuAlloc);
        weights++;
      }
      if (memAlloc) {
        sum += leastRequested(n.nonZeroMemory + podMem, memAlloc);
        weights++;
      }
      scores[i] = weights ? Math.trunc(sum / weights) : 0;
    }
  },
});

export const nodeResourcesBalancedAllocation = (): Plugin => ({
  name: 'NodeResourcesBalancedAllocation',
  score(_state: CycleState, pi: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array) {
    const r = pi.resources.requests;
    const podCPU = r.milliCPU,
      podMem = r.memory;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      const cpuAlloc = n.allocMilliCPU,
        memAlloc = n.allocMemory;
      const cpu = cpuAlloc ? Math.min((n.reqMilliCPU + podCPU) / cpuAlloc, 1) : -1;
      const mem = memAlloc ? Math.min((n.reqMemory + podMem) / memAlloc, 1) : -1;
      // 1 − the standard deviation of the fractions; with two of them it is half their distance.
      const std = cpu >= 0 && mem >= 0 ? Math.abs((cpu - mem) / 2) : 0;
      scores[i] = Math.trunc((1 - std) * MAX_NODE_SCORE);
    }
  },
});

const MB = 1024 * 1024;
const MIN_THRESHOLD = 23 * MB;
const MAX_CONTAINER_THRESHOLD = 1000 * MB;

/** Image names as the kubelet reports them: untagged means `:latest`. */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(':') <= name.lastIndexOf('/') ? `${name}:latest` : name;
}

export const imageLocality = (h: Pick<Handle, 'snapshot'>): Plugin => ({
  name: 'ImageLocality',
  score(_state: CycleState, pi: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array) {
    let containers: { image?: string }[] | undefined;
    let total = 0;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      if (!n.images.size) continue; // 0, as the buffer holds
      // Worked out at the first node with images, once per cycle.
      if (!containers) {
        total = h.snapshot.nodeInfos().length;
        containers = [...(pi.pod.spec.initContainers ?? []), ...(pi.pod.spec.containers ?? [])];
      }
      let sum = 0;
      for (const c of containers) {
        const name = normalizedImageName(c.image ?? '');
        if (!n.images.has(name)) continue;
        const st = h.snapshot.imageState(name);
        if (st && total > 0) sum += Math.trunc(st.size * (st.numNodes / total));
      }
      const max = MAX_CONTAINER_THRESHOLD * containers.length;
      sum = Math.min(Math.max(sum, MIN_THRESHOLD), max);
      scores[i] = Math.trunc((MAX_NODE_SCORE * (sum - MIN_THRESHOLD)) / (max - MIN_THRESHOLD));
    }
  },
});
