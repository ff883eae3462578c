// PodInfo (a pod with what the plugins need pre-computed: requests, parsed affinity terms, host
// ports) and NodeInfo (a node with the pods on it and their sums), as upstream's framework types.
import { fromLabelSelector, selectNothing, selectorMatches, type LabelSelector, type Selector } from '../api/index.js';
import { emptyResource, podResources, resourceFromList, type PodResources, type Resource } from './resources.js';
import type { ContainerPort, Node, Pod, PodAffinityTerm, Taint, WeightedPodAffinityTerm } from './types.js';

/** A pod affinity term resolved against its pod: the namespaces it applies to and its selectors. */
export interface AffinityTerm {
  namespaces: Set<string>;
  /** Matches namespace labels; "nothing" unless the term has a namespaceSelector. */
  namespaceSelector: Selector;
  selector: Selector;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

/** A LabelSelector as a Selector; an invalid one selects nothing (the API server validated it). */
export function safeSelector(ls: LabelSelector | null | undefined): Selector {
  try {
    return fromLabelSelector(ls);
  } catch {
    return selectNothing();
  }
}

export const isEverything = (s: Selector): boolean => !s.nothing && s.requirements.length === 0;

function affinityTerm(pod: Pod, t: PodAffinityTerm): AffinityTerm {
  const namespaces = new Set(t.namespaces ?? []);
  if (namespaces.size === 0 && (t.namespaceSelector === undefined || t.namespaceSelector === null))
    namespaces.add(pod.metadata.namespace ?? '');
  return {
    namespaces,
    namespaceSelector: safeSelector(t.namespaceSelector),
    selector: safeSelector(t.labelSelector),
    topologyKey: t.topologyKey,
  };
}

/** Whether `term` (of some pod) selects `pod`; nsLabels are the labels of pod's namespace (none
 *  given: an empty set, as upstream passes for terms whose namespaceSelector was resolved). */
export function termMatches(term: AffinityTerm, pod: Pod, nsLabels?: Record<string, string>): boolean {
  if (term.namespaces.has(pod.metadata.namespace ?? '') || selectorMatches(term.namespaceSelector, nsLabels))
    return selectorMatches(term.selector, pod.metadata.labels);
  return false;
}

const weighted = (pod: Pod, ts: WeightedPodAffinityTerm[] | undefined): WeightedAffinityTerm[] =>
  (ts ?? []).filter((t) => t.weight !== 0).map((t) => ({ ...affinityTerm(pod, t.podAffinityTerm), weight: t.weight }));

export class PodInfo {
  readonly key: string;
  readonly resources: PodResources;
  readonly requiredAffinityTerms: AffinityTerm[];
  readonly requiredAntiAffinityTerms: AffinityTerm[];
  readonly preferredAffinityTerms: WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: WeightedAffinityTerm[];
  readonly hostPorts: ContainerPort[];

  /** `like`: a PodInfo of the same pod whose spec differs at most in nodeName (the cache's
   *  assumed copy), whose requests, terms and ports are taken rather than worked out again. */
  constructor(
    readonly pod: Pod,
    like?: PodInfo,
  ) {
    this.key = pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (like) {
      this.resources = like.resources;
      this.requiredAffinityTerms = like.requiredAffinityTerms;
      this.requiredAntiAffinityTerms = like.requiredAntiAffinityTerms;
      this.preferredAffinityTerms = like.preferredAffinityTerms;
      this.preferredAntiAffinityTerms = like.preferredAntiAffinityTerms;
      this.hostPorts = like.hostPorts;
      return;
    }
    this.resources = podResources(pod);
    const a = pod.spec.affinity;
    this.requiredAffinityTerms = (a?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) =>
      affinityTerm(pod, t),
    );
    this.requiredAntiAffinityTerms = (a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map(
      (t) => affinityTerm(pod, t),
    );
    this.preferredAffinityTerms = weighted(pod, a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    this.preferredAntiAffinityTerms = weighted(
      pod,
      a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
    );
    this.hostPorts = [];
    for (const c of pod.spec.containers ?? [])
      for (const p of c.ports ?? []) if ((p.hostPort ?? 0) > 0) this.hostPorts.push(p);
  }

  get hasAffinity(): boolean {
    const a = this.pod.spec.affinity;
    return !!a && (!!a.podAffinity || !!a.podAntiAffinity);
  }
  get hasRequiredAntiAffinity(): boolean {
    return this.requiredAntiAffinityTerms.length > 0;
  }
  get priority(): number {
    return this.pod.spec.priority ?? 0;
  }
}

const DEFAULT_BIND_ALL = '0.0.0.0';

/** Host ports in use on a node: protocol/port → host IP → count. */
export class HostPorts {
  private used = new Map<string, Map<string, number>>();

  add(p: ContainerPort, sign: 1 | -1): void {
    const port = p.hostPort ?? 0;
    if (port <= 0) return;
    const k = `${p.protocol || 'TCP'}/${port}`;
    const ip = p.hostIP || DEFAULT_BIND_ALL;
    let ips = this.used.get(k);
    if (!ips) this.used.set(k, (ips = new Map()));
    const n = (ips.get(ip) ?? 0) + sign;
    if (n > 0) ips.set(ip, n);
    else ips.delete(ip);
    if (ips.size === 0) this.used.delete(k);
  }

  /** Upstream's CheckConflict: 0.0.0.0 conflicts with every address on the same protocol/port. */
  conflicts(p: ContainerPort): boolean {
    const port = p.hostPort ?? 0;
    if (port <= 0) return false;
    const ips = this.used.get(`${p.protocol || 'TCP'}/${port}`);
    if (!ips) return false;
    const ip = p.hostIP || DEFAULT_BIND_ALL;
    if (ip === DEFAULT_BIND_ALL) return true;
    return ips.has(ip) || ips.has(DEFAULT_BIND_ALL);
  }

  clone(): HostPorts {
    const h = new HostPorts();
    for (const [k, v] of this.used) h.used.set(k, new Map(v));
    return h;
  }
}

let generation = 0;
const MI = 1024 * 1024;
const mib = (bytes: number) => Math.floor(bytes / MI);

export class NodeInfo {
  // What the filter and score loops read of every node searched (500 per pod at 5000 nodes),
  // kept on the NodeInfo itself: copies of allocatable, requested and nonZeroRequested's numbers,
  // the pod count and the Node's spec.unschedulable and spec.taints. Reaching them through four
  // or five objects per node (each a likely cache miss on a heap of 5000 nodes) made
  // NodeResourcesFit's filter the largest item of the scheduler thread's profile. Byte counts
  // (above V8's small-integer range) are kept as two small integers, MiBs and the rest, so that
  // they sit in the object rather than in a HeapNumber box each; the getters below give them
  // back exactly. Kept in step by setNode, update and clone; never written elsewhere. Declared
  // first, so that they share the object's first cache lines.
  unschedulable = false;
  taints: Taint[] | undefined = undefined;
  allocMilliCPU = 0;
  allocPods = 0;
  reqMilliCPU = 0;
  nonZeroMilliCPU = 0;
  podCount = 0;
  private allocMemHi = 0;
  private allocMemLo = 0;
  private allocEphHi = 0;
  private allocEphLo = 0;
  private reqMemHi = 0;
  private reqMemLo = 0;
  private reqEphHi = 0;
  private reqEphLo = 0;
  private nzMemHi = 0;
  private nzMemLo = 0;

  node: Node;
  /** metadata.name and metadata.labels of the Node (set with it). */
  name = '';
  labels: Record<string, string> = {};
  pods: PodInfo[] = [];
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  requested: Resource = emptyResource();
  nonZeroRequested = { milliCPU: 0, memory: 0 };
  allocatable: Resource = emptyResource();
  usedPorts = new HostPorts();
  /** Normalised image names present on the node (status.images). */
  images = new Set<string>();
  generation = ++generation;

  get allocMemory(): number {
    return this.allocMemHi * MI + this.allocMemLo;
  }
  get allocEphemeralStorage(): number {
    return this.allocEphHi * MI + this.allocEphLo;
  }
  get reqMemory(): number {
    return this.reqMemHi * MI + this.reqMemLo;
  }
  get reqEphemeralStorage(): number {
    return this.reqEphHi * MI + this.reqEphLo;
  }
  get nonZeroMemory(): number {
    return this.nzMemHi * MI + this.nzMemLo;
  }

  constructor(node: Node) {
    this.node = node;
    this.setNode(node);
  }

  setNode(node: Node): void {
    this.node = node;
    this.name = node.metadata.name ?? '';
    this.labels = node.metadata.labels ?? {};
    const a = resourceFromList(node.status?.allocatable);
    this.allocatable = a;
    this.allocMilliCPU = a.milliCPU;
    this.allocMemHi = mib(a.memory);
    this.allocMemLo = a.memory - this.allocMemHi * MI;
    this.allocEphHi = mib(a.ephemeralStorage);
    this.allocEphLo = a.ephemeralStorage - this.allocEphHi * MI;
    this.allocPods = a.allowedPodNumber;
    this.unschedulable = !!node.spec?.unschedulable;
    this.taints = node.spec?.taints?.length ? node.spec.taints : undefined;
    this.generation = ++generation;
  }

  addPod(pi: PodInfo): void {
    this.pods.push(pi);
    if (pi.hasAffinity) this.podsWithAffinity.push(pi);
    if (pi.hasRequiredAntiAffinity) this.podsWithRequiredAntiAffinity.push(pi);
    this.update(pi, 1);
  }

  /** Removes the pod with this key; false when it is not on the node. */
  removePod(key: string): boolean {
    const i = this.pods.findIndex((p) => p.key === key);
    if (i < 0) return false;
    const pi = this.pods[i];
    this.pods.splice(i, 1);
    const drop = (list: PodInfo[]) => {
      const j = list.findIndex((p) => p.key === key);
      if (j >= 0) list.splice(j, 1);
    };
    drop(this.podsWithAffinity);
    drop(this.podsWithRequiredAntiAffinity);
    this.update(pi, -1);
    return true;
  }

  private update(pi: PodInfo, sign: 1 | -1): void {
    const r = pi.resources.requests;
    const req = this.requested;
    req.milliCPU += sign * r.milliCPU;
    req.memory += sign * r.memory;
    req.ephemeralStorage += sign * r.ephemeralStorage;
    if (r.scalar.size) for (const [k, v] of r.scalar) req.scalar.set(k, (req.scalar.get(k) ?? 0) + sign * v);
    this.nonZeroRequested.milliCPU += sign * pi.resources.nonZeroCPU;
    this.nonZeroRequested.memory += sign * pi.resources.nonZeroMemory;
    this.syncRequested();
    for (const p of pi.hostPorts) this.usedPorts.add(p, sign);
    this.generation = ++generation;
  }

  private syncRequested(): void {
    const r = this.requested,
      nz = this.nonZeroRequested;
    this.reqMilliCPU = r.milliCPU;
    this.reqMemHi = mib(r.memory);
    this.reqMemLo = r.memory - this.reqMemHi * MI;
    this.reqEphHi = mib(r.ephemeralStorage);
    this.reqEphLo = r.ephemeralStorage - this.reqEphHi * MI;
    this.nonZeroMilliCPU = nz.milliCPU;
    this.nzMemHi = mib(nz.memory);
    this.nzMemLo = nz.memory - this.nzMemHi * MI;
    this.podCount = this.pods.length;
  }

  /** A copy whose pod list and sums can be changed (preemption's dry runs). */
  clone(): NodeInfo {
    const n = new NodeInfo(this.node);
    n.pods = [...this.pods];
    n.podsWithAffinity = [...this.podsWithAffinity];
    n.podsWithRequiredAntiAffinity = [...this.podsWithRequiredAntiAffinity];
    n.requested = { ...this.requested, scalar: new Map(this.requested.scalar) };
    n.nonZeroRequested = { ...this.nonZeroRequested };
    n.syncRequested();
    n.allocatable = this.allocatable;
    n.usedPorts = this.usedPorts.clone();
    n.images = this.images;
    n.generation = this.generation;
    return n;
  }
}
