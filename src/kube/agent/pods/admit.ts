// Pod admission (kubelet's predicate admit handler): a pod bound to this node is started only if
// it fits in what the node's allocatable leaves after the pods already admitted — by pod count,
// then cpu, memory and ephemeral-storage requests, checked in that order as upstream's resource fit does. A pod that
// does not fit is rejected for good: phase Failed, reason `OutOf<resource>`, and the same sentence
// as upstream's InsufficientResourceError (`Node didn't have enough resource: …`).
import type { Container, Pod } from '../types.js';
import { qty } from './resources.js';

export interface Requests {
  cpuMilli: number;
  memory: number;
  ephemeralStorage: number;
}

export interface Allocatable {
  pods: number;
  cpuMilli: number;
  memory: number;
  ephemeralStorage: number;
}

const ZERO: Requests = { cpuMilli: 0, memory: 0, ephemeralStorage: 0 };

export interface Rejection {
  reason: string;
  message: string;
}

const req = (c: Container): Requests => ({
  cpuMilli: qty(c.resources?.requests?.cpu, true),
  memory: qty(c.resources?.requests?.memory),
  ephemeralStorage: qty(c.resources?.requests?.['ephemeral-storage']),
});
const add = (a: Requests, b: Requests): Requests => ({
  cpuMilli: a.cpuMilli + b.cpuMilli,
  memory: a.memory + b.memory,
  ephemeralStorage: a.ephemeralStorage + b.ephemeralStorage,
});
const max = (a: Requests, b: Requests): Requests => ({
  cpuMilli: Math.max(a.cpuMilli, b.cpuMilli),
  memory: Math.max(a.memory, b.memory),
  ephemeralStorage: Math.max(a.ephemeralStorage, b.ephemeralStorage),
});

/** Upstream's effective pod request: the containers (and sidecars, which keep running) summed, or
 *  the largest an init container needs while it runs beside the sidecars started before it. */
export function podRequests(pod: Pod): Requests {
  let sidecars = ZERO;
  let initPeak = ZERO;
  for (const c of pod.spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') {
      sidecars = add(sidecars, req(c));
      initPeak = max(initPeak, sidecars);
    } else initPeak = max(initPeak, add(sidecars, req(c)));
  }
  let regular = ZERO;
  for (const c of pod.spec.containers) regular = add(regular, req(c));
  const overhead: Requests = {
    cpuMilli: qty(pod.spec.overhead?.cpu, true),
    memory: qty(pod.spec.overhead?.memory),
    ephemeralStorage: qty(pod.spec.overhead?.['ephemeral-storage']),
  };
  return add(max(add(regular, sidecars), initPeak), overhead);
}

const insufficient = (resource: string, requested: number, used: number, capacity: number): Rejection => ({
  reason: `OutOf${resource}`,
  message: `Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${used}, capacity: ${capacity}`,
});

/** Whether `pod` fits beside the `admitted` pods (admitted, not terminal); the first failure wins. */
export function canAdmit(pod: Pod, admitted: Pod[], alloc: Allocatable): Rejection | undefined {
  if (admitted.length + 1 > alloc.pods) return insufficient('pods', 1, admitted.length, alloc.pods);
  const want = podRequests(pod);
  if (want.cpuMilli === 0 && want.memory === 0 && want.ephemeralStorage === 0) return undefined;
  let used = ZERO;
  for (const p of admitted) used = add(used, podRequests(p));
  if (want.cpuMilli > 0 && want.cpuMilli > alloc.cpuMilli - used.cpuMilli)
    return insufficient('cpu', want.cpuMilli, used.cpuMilli, alloc.cpuMilli);
  if (want.memory > 0 && want.memory > alloc.memory - used.memory)
    return insufficient('memory', want.memory, used.memory, alloc.memory);
  if (want.ephemeralStorage > 0 && want.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage)
    return insufficient('ephemeral-storage', want.ephemeralStorage, used.ephemeralStorage, alloc.ephemeralStorage);
  return undefined;
}

/** Pods in the order upstream admits them: oldest first (creation time, then name). */
export function byCreation(a: Pod, b: Pod): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  return (
    ta - tb || `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`)
  );
}
