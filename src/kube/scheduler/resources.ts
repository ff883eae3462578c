// Resource arithmetic as the scheduler sees it: milli-CPU, bytes of memory and ephemeral
// storage, a pod count, and integer "scalar" resources (extended resources, hugepages). A pod's
// request is upstream's PodRequests: the larger of (regular containers + restartable init
// containers) and the largest init-container step, plus the RuntimeClass overhead.
import { parseQuantity, quantityMilliValue, quantityValue } from '../api/index.js';
import type { Container, Pod, ResourceList } from './types.js';

export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  allowedPodNumber: number;
  scalar: Map<string, number>;
}

export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export const emptyResource = (): Resource => ({
  milliCPU: 0,
  memory: 0,
  ephemeralStorage: 0,
  allowedPodNumber: 0,
  scalar: new Map(),
});

const quantityCache = new Map<string, { milli: number; value: number }>();

/** A quantity as milli-units and units (rounded up, as upstream's MilliValue/Value). Memoised:
 *  clusters reuse a handful of request strings, and parsing is exact BigInt arithmetic. */
export function quantity(q: string | number | undefined): { milli: number; value: number } {
  if (q === undefined) return { milli: 0, value: 0 };
  const key = String(q);
  let v = quantityCache.get(key);
  if (!v) {
    try {
      const p = parseQuantity(q);
      v = { milli: Number(quantityMilliValue(p)), value: Number(quantityValue(p)) };
    } catch {
      v = { milli: 0, value: 0 };
    }
    if (quantityCache.size > 10_000) quantityCache.clear();
    quantityCache.set(key, v);
  }
  return v;
}

/** Resources the scheduler accounts as scalars: extended resources (`vendor/name`), prefixed
 *  native ones (`kubernetes.io/...`), hugepages, attachable volumes. Native ones (cpu, memory, ephemeral-storage, pods) have their own fields. */
export const isScalarResourceName = (name: string): boolean =>
  name.startsWith('hugepages-') ||
  name.startsWith('attachable-volumes-') ||
  (name.includes('/') && !name.startsWith('requests.'));

/** A ResourceList (node allocatable, a container's requests) as a Resource. */
export function resourceFromList(list: ResourceList | undefined): Resource {
  const r = emptyResource();
  addList(r, list);
  return r;
}

function addList(r: Resource, list: ResourceList | undefined): void {
  if (!list) return;
  for (const [name, q] of Object.entries(list)) {
    switch (name) {
      case 'cpu':
        r.milliCPU += quantity(q).milli;
        break;
      case 'memory':
        r.memory += quantity(q).value;
        break;
      case 'ephemeral-storage':
        r.ephemeralStorage += quantity(q).value;
        break;
      case 'pods':
        r.allowedPodNumber += quantity(q).value;
        break;
      default:
        if (isScalarResourceName(name)) r.scalar.set(name, (r.scalar.get(name) ?? 0) + quantity(q).value);
    }
  }
}

function add(into: Resource, r: Resource): void {
  into.milliCPU += r.milliCPU;
  into.memory += r.memory;
  into.ephemeralStorage += r.ephemeralStorage;
  into.allowedPodNumber += r.allowedPodNumber;
  for (const [k, v] of r.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + v);
}

function setMax(into: Resource, r: Resource): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  for (const [k, v] of r.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

function cloneResource(r: Resource): Resource {
  return { ...r, scalar: new Map(r.scalar) };
}

function containerRequests(c: Container, nonZero: boolean): Resource {
  const req = c.resources?.requests;
  const r = resourceFromList(req);
  if (nonZero) {
    if (req?.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
    if (req?.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/** upstream's resourcehelper.PodRequests. With `nonZero`, a container without a cpu or memory
 *  request counts as 100m / 200Mi (what scoring and NonZeroRequested use). */
export function podRequests(pod: Pod, nonZero = false): Resource {
  const reqs = emptyResource();
  for (const c of pod.spec.containers ?? []) add(reqs, containerRequests(c, nonZero));
  const sidecars = emptyResource();
  const initMax = emptyResource();
  for (const c of pod.spec.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      add(reqs, r);
      add(sidecars, r);
      setMax(initMax, sidecars);
    } else {
      const step = cloneResource(r);
      add(step, sidecars);
      setMax(initMax, step);
    }
  }
  setMax(reqs, initMax);
  addList(reqs, pod.spec.overhead);
  reqs.allowedPodNumber = 0;
  return reqs;
}

/** The requests NodeInfo accounts for a pod: actual, plus the non-zero cpu/memory for scoring. */
export interface PodResources {
  requests: Resource;
  nonZeroCPU: number;
  nonZeroMemory: number;
}

export function podResources(pod: Pod): PodResources {
  return simplePodResources(pod) ?? generalPodResources(pod);
}

/** podResources of the common pod — no init containers, no overhead, containers asking only for
 *  cpu, memory and ephemeral storage — in one pass (a PodInfo is made three times per pod: queued,
 *  assumed, confirmed; the general path builds eight Resources, each with a Map, for one container).
 *  Undefined for any other pod. */
function simplePodResources(pod: Pod): PodResources | undefined {
  if (pod.spec.initContainers?.length || pod.spec.overhead) return undefined;
  let cpu = 0,
    memory = 0,
    storage = 0,
    nonZeroCPU = 0,
    nonZeroMemory = 0;
  for (const c of pod.spec.containers ?? []) {
    const req = c.resources?.requests;
    let cc = 0,
      cm = 0;
    if (req)
      for (const name in req) {
        const q = req[name];
        if (name === 'cpu') cc = quantity(q).milli;
        else if (name === 'memory') cm = quantity(q).value;
        else if (name === 'ephemeral-storage') storage += quantity(q).value;
        else return undefined;
      }
    cpu += cc;
    memory += cm;
    nonZeroCPU += req?.cpu === undefined ? DEFAULT_MILLI_CPU_REQUEST : cc;
    nonZeroMemory += req?.memory === undefined ? DEFAULT_MEMORY_REQUEST : cm;
  }
  const requests = emptyResource();
  requests.milliCPU = cpu;
  requests.memory = memory;
  requests.ephemeralStorage = storage;
  return { requests, nonZeroCPU, nonZeroMemory };
}

function generalPodResources(pod: Pod): PodResources {
  const requests = podRequests(pod, false);
  const nz = podRequests(pod, true);
  return { requests, nonZeroCPU: nz.milliCPU, nonZeroMemory: nz.memory };
}

export const isZeroResource = (r: Resource): boolean =>
  r.milliCPU === 0 && r.memory === 0 && r.ephemeralStorage === 0 && [...r.scalar.values()].every((v) => v === 0);
