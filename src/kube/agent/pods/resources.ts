// Pod and container resources as kubelet turns them into cgroup settings: the QoS class
// (Guaranteed / Burstable / BestEffort), the pod's cgroup parent under the QoS tiers
// (cgroupfs `/kubepods/burstable/pod<uid>`, systemd `kubepods-burstable-pod<uid>.slice`), CPU
// shares and CFS quota from requests and limits, the memory limit and the OOM score adjustment.
import { parseQuantity, quantityMilliValue, quantityValue } from '../../api/index.js';
import type * as cri from '../../../cri/index.js';
import type { Container, Pod, Quantity, ResourceList } from '../types.js';

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

const MIN_SHARES = 2;
const MAX_SHARES = 262144;
const SHARES_PER_CPU = 1024;
const QUOTA_PERIOD = 100_000;
const MIN_QUOTA = 1000;

/** Integer value of a quantity (milli when asked), 0 for a missing or malformed one. */
export function qty(q: Quantity | undefined, milli = false): number {
  if (q === undefined) return 0;
  try {
    const p = parseQuantity(q);
    return Number(milli ? quantityMilliValue(p) : quantityValue(p));
  } catch {
    return 0;
  }
}

const nonZero = (l: ResourceList | undefined, r: string) => l?.[r] !== undefined && qty(l[r], true) !== 0;

/** Upstream's GetPodQOS: only cpu and memory count; zero quantities are ignored. */
export function podQos(pod: Pod): QosClass {
  const cs = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  let any = false;
  let guaranteed = true;
  for (const c of cs) {
    const req = c.resources?.requests;
    const lim = c.resources?.limits;
    for (const r of ['cpu', 'memory']) {
      const hasReq = nonZero(req, r);
      const hasLim = nonZero(lim, r);
      if (hasReq || hasLim) any = true;
      if (!hasLim) guaranteed = false;
      else if (hasReq && qty(req?.[r], true) !== qty(lim?.[r], true)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** The pod's cgroup parent under `root` (default `/kubepods`), for the runtime's cgroup driver. */
export function podCgroupParent(pod: Pod, driver: 'systemd' | 'cgroupfs', root = '/kubepods'): string {
  const qos = podQos(pod);
  const uid = pod.metadata.uid;
  if (driver === 'systemd') {
    const base = root.replace(/^\//, '').replace(/\//g, '-') || 'kubepods';
    const tier = qos === 'Guaranteed' ? '' : `-${qos.toLowerCase()}`;
    return `${base}${tier}-pod${uid.replace(/-/g, '_')}.slice`;
  }
  const tier = qos === 'Guaranteed' ? '' : `/${qos.toLowerCase()}`;
  return `${root.replace(/\/$/, '')}${tier}/pod${uid}`;
}

export function milliCpuToShares(milli: number): number {
  if (milli === 0) return MIN_SHARES;
  const s = Math.floor((milli * SHARES_PER_CPU) / 1000);
  return Math.min(Math.max(s, MIN_SHARES), MAX_SHARES);
}

export function milliCpuToQuota(milli: number): number {
  if (milli === 0) return 0;
  return Math.max(Math.floor((milli * QUOTA_PERIOD) / 1000), MIN_QUOTA);
}

/** Upstream's GetContainerOOMScoreAdjust. */
export function oomScoreAdj(pod: Pod, c: Container, memoryCapacity: number): number {
  const qos = podQos(pod);
  if (qos === 'Guaranteed') return -997;
  if (qos === 'BestEffort') return 1000;
  const req = qty(c.resources?.requests?.memory);
  let adj = 1000 - Math.floor((1000 * req) / Math.max(memoryCapacity, 1));
  if (adj < 3) adj = 3;
  if (adj === 1000) adj = 999;
  return adj;
}

export function containerResources(pod: Pod, c: Container, memoryCapacity: number): cri.LinuxContainerResourcesInput {
  const req = c.resources?.requests;
  const lim = c.resources?.limits;
  const cpuReq = qty(req?.cpu, true) || qty(lim?.cpu, true);
  const cpuLim = qty(lim?.cpu, true);
  const memLim = qty(lim?.memory);
  return {
    cpuShares: milliCpuToShares(cpuReq),
    cpuPeriod: QUOTA_PERIOD,
    cpuQuota: milliCpuToQuota(cpuLim),
    memoryLimitInBytes: memLim,
    oomScoreAdj: oomScoreAdj(pod, c, memoryCapacity),
  };
}

/** The pod-level cgroup settings (sum of requests for shares; limits only when every container
 *  has one, as upstream's ResourceConfigForPod). */
export function sandboxResources(pod: Pod): cri.LinuxContainerResourcesInput {
  let cpuReq = 0;
  let cpuLim = 0;
  let memLim = 0;
  let allCpuLim = true;
  let allMemLim = true;
  for (const c of pod.spec.containers) {
    cpuReq += qty(c.resources?.requests?.cpu, true) || qty(c.resources?.limits?.cpu, true);
    const cl = qty(c.resources?.limits?.cpu, true);
    const ml = qty(c.resources?.limits?.memory);
    if (cl) cpuLim += cl;
    else allCpuLim = false;
    if (ml) memLim += ml;
    else allMemLim = false;
  }
  // An init container runs alone: its own limit counts when it is larger than the sum.
  for (const c of pod.spec.initContainers ?? []) {
    cpuReq = Math.max(cpuReq, qty(c.resources?.requests?.cpu, true));
    if (allCpuLim) cpuLim = Math.max(cpuLim, qty(c.resources?.limits?.cpu, true));
    if (allMemLim) memLim = Math.max(memLim, qty(c.resources?.limits?.memory));
  }
  for (const [r, v] of Object.entries(pod.spec.overhead ?? {})) {
    if (r === 'cpu') {
      cpuReq += qty(v, true);
      if (allCpuLim) cpuLim += qty(v, true);
    }
    if (r === 'memory' && allMemLim) memLim += qty(v);
  }
  return {
    cpuShares: milliCpuToShares(cpuReq),
    cpuPeriod: QUOTA_PERIOD,
    cpuQuota: allCpuLim ? milliCpuToQuota(cpuLim) : 0,
    memoryLimitInBytes: allMemLim ? memLim : 0,
  };
}
