// The scheduling framework's vocabulary, as upstream's: a Status per plugin call, a CycleState
// shared by the plugins through one scheduling cycle, the extension points (PreFilter, Filter,
// PostFilter, PreScore, Score, Reserve, PreBind, Bind) and the cluster events a plugin wants to
// hear about to retry the pods it rejected.
import type { RequestOptions } from '../client/index.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod, SelectorOwner, StorageClass } from './types.js';

export const MAX_NODE_SCORE = 100;

export type Code = 'Success' | 'Error' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Wait' | 'Skip';

export class Status {
  plugin = '';
  constructor(
    readonly code: Code,
    readonly reasons: string[] = [],
  ) {}
  get message(): string {
    return this.reasons.join(', ');
  }
  get isSuccess(): boolean {
    return this.code === 'Success';
  }
  /** Unschedulable or UnschedulableAndUnresolvable. */
  get isRejected(): boolean {
    return this.code === 'Unschedulable' || this.code === 'UnschedulableAndUnresolvable';
  }
  withPlugin(p: string): Status {
    this.plugin = p;
    return this;
  }
}

export const unschedulable = (...reasons: string[]) => new Status('Unschedulable', reasons);
export const unresolvable = (...reasons: string[]) => new Status('UnschedulableAndUnresolvable', reasons);
export const skip = () => new Status('Skip');
export const errorStatus = (e: unknown) => new Status('Error', [e instanceof Error ? e.message : String(e)]);

/** Per-cycle data a plugin keeps between its extension points; cloned for preemption's dry runs. */
export interface StateData {
  clone(): StateData;
}

export class CycleState {
  private data = new Map<string, StateData>();
  skipFilterPlugins = new Set<string>();
  skipScorePlugins = new Set<string>();
  /** The filter plugins not skipped, worked out once per cycle (Filter runs per node). */
  activeFilters?: Plugin[];
  /** Pods a plugin wants moved back to the active queue once this cycle ends. */
  podsToActivate = new Map<string, Pod>();

  read<T extends StateData>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  write(key: string, v: StateData): void {
    this.data.set(key, v);
  }
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v.clone());
    c.skipFilterPlugins = this.skipFilterPlugins;
    c.skipScorePlugins = this.skipScorePlugins;
    c.activeFilters = this.activeFilters;
    return c;
  }
}

/** A stateless value kept in a CycleState (its clone is itself). */
export class Frozen<T> implements StateData {
  constructor(readonly value: T) {}
  clone(): StateData {
    return this;
  }
}

export interface NodeScore {
  name: string;
  score: number;
}

/** The resources and actions a cluster event is about (upstream's ClusterEvent). */
export type EventResource =
  | 'Pod'
  | 'AssignedPod'
  | 'UnscheduledPod'
  | 'Node'
  | 'PersistentVolume'
  | 'PersistentVolumeClaim'
  | 'StorageClass'
  | 'CSINode'
  | 'Namespace'
  | 'PodSchedulingGates';
export type EventAction =
  | 'Add'
  | 'Delete'
  | 'Update'
  | 'UpdateNodeLabel'
  | 'UpdateNodeTaint'
  | 'UpdateNodeAllocatable'
  | 'UpdateNodeCondition'
  | 'UpdatePodLabel'
  | 'UpdatePodScaleDown'
  | 'UpdatePodTolerations';
export interface ClusterEvent {
  resource: EventResource;
  actions: EventAction[];
}

/** What plugins may read of the cluster: the scheduler's cache (never the API per pod). */
export interface Snapshot {
  /** Every node, in the order the scheduler walks them (zones interleaved). */
  nodeInfos(): NodeInfo[];
  get(name: string): NodeInfo | undefined;
  havePodsWithAffinity(): NodeInfo[];
  havePodsWithRequiredAntiAffinity(): NodeInfo[];
  /** A position in the log of node changes (a pod placed or removed, the Node added, updated or
   *  removed), for changedSince. */
  changeCursor(): number;
  /** The nodes changed since `cursor` (oldest first, repeats possible; a removed node is listed
   *  and then no longer `get` by its name), or undefined when the log no longer reaches back that
   *  far: the reader starts over from nodeInfos(). */
  changedSince(cursor: number): readonly NodeInfo[] | undefined;
  /** Image name → number of nodes that have it and its size. */
  imageState(name: string): { size: number; numNodes: number } | undefined;
}

/** Read-only views of the informers' caches the plugins use. */
export interface Listers {
  namespaceLabels(name: string): Record<string, string> | undefined;
  namespaces(): { name: string; labels: Record<string, string> }[];
  /** Services, ReplicationControllers, ReplicaSets and StatefulSets of a namespace. */
  services(namespace: string): SelectorOwner[];
  controller(
    kind: 'ReplicationController' | 'ReplicaSet' | 'StatefulSet',
    namespace: string,
    name: string,
  ): SelectorOwner | undefined;
  pvc(namespace: string, name: string): PersistentVolumeClaim | undefined;
  pv(name: string): PersistentVolume | undefined;
  pvs(): PersistentVolume[];
  storageClass(name: string): StorageClass | undefined;
  node(name: string): Node | undefined;
}

export interface Nominator {
  /** Pods nominated (status.nominatedNodeName) to run on a node (a shared empty list when none). */
  nominatedPodsForNode(node: string): readonly PodInfo[];
}

/** The API calls plugins make (KubeClient has this shape; tests record them). */
export interface ApiClient {
  request<T = unknown>(method: string, path: string, opts?: RequestOptions): Promise<T>;
}

export interface Handle {
  snapshot: Snapshot;
  listers: Listers;
  nominator: Nominator;
  client?: ApiClient;
  schedulerName: string;
  /** Records an event on an object (reason, action, message), as the scheduler's recorder. */
  event(
    obj: { metadata: Pod['metadata']; kind?: string; apiVersion?: string },
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    message: string,
  ): void;
  /** Runs the filter plugins on a node with `state` (preemption's dry runs). */
  runFilterWithNominatedPods(state: CycleState, pi: PodInfo, node: NodeInfo): Status;
  runPreFilterAddPod(state: CycleState, pi: PodInfo, toAdd: PodInfo, node: NodeInfo): void;
  runPreFilterRemovePod(state: CycleState, pi: PodInfo, toRemove: PodInfo, node: NodeInfo): void;
}

export interface Plugin {
  readonly name: string;
  /** Cluster events that may make a pod this plugin rejected schedulable. */
  events?(): ClusterEvent[];
  /** PreEnqueue: a pod failing this never enters the active queue (scheduling gates). */
  preEnqueue?(pod: Pod): Status | undefined;
  /** PreFilter: Skip makes the cycle skip this plugin's Filter; nodeNames narrows the nodes. */
  preFilter?(state: CycleState, pi: PodInfo): { status?: Status; nodeNames?: Set<string> } | undefined;
  addPod?(state: CycleState, pi: PodInfo, toAdd: PodInfo, node: NodeInfo): void;
  removePod?(state: CycleState, pi: PodInfo, toRemove: PodInfo, node: NodeInfo): void;
  filter?(state: CycleState, pi: PodInfo, node: NodeInfo): Status | undefined;
  postFilter?(
    state: CycleState,
    pi: PodInfo,
    statuses: NodeToStatus,
  ): Promise<{ status: Status; nominatedNodeName?: string }>;
  preScore?(state: CycleState, pi: PodInfo, nodes: NodeInfo[]): Status | undefined;
  score?(state: CycleState, pi: PodInfo, node: NodeInfo): number;
  normalizeScore?(state: CycleState, pi: PodInfo, scores: NodeScore[]): void;
  reserve?(state: CycleState, pi: PodInfo, node: string): Status | undefined;
  unreserve?(state: CycleState, pi: PodInfo, node: string): void;
  preBind?(state: CycleState, pi: PodInfo, node: string, signal?: AbortSignal): Promise<Status | undefined>;
  bind?(state: CycleState, pi: PodInfo, node: string): Promise<Status | undefined>;
}

/** Statuses of the nodes a pod failed on; nodes not listed share `absent` (if set). */
export class NodeToStatus {
  readonly map = new Map<string, Status>();
  absent?: Status;
  get(node: string): Status | undefined {
    return this.map.get(node) ?? this.absent;
  }
  set(node: string, s: Status): void {
    this.map.set(node, s);
  }
  /** Nodes (of `all`) whose status has `code` (explicitly or through `absent`). */
  nodesWithCode(all: NodeInfo[], code: Code): NodeInfo[] {
    if (this.absent?.code === code) return all.filter((n) => (this.map.get(n.name) ?? this.absent)!.code === code);
    const out: NodeInfo[] = [];
    for (const n of all) if (this.map.get(n.name)?.code === code) out.push(n);
    return out;
  }
}

export interface Diagnosis {
  nodeToStatus: NodeToStatus;
  unschedulablePlugins: Set<string>;
  preFilterMsg?: string;
  postFilterMsg?: string;
}

/** Upstream's FitError message: "0/N nodes are available: <counts of reasons>. <postfilter>". */
export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) msg += ` ${d.preFilterMsg}.`;
  else {
    const counts = new Map<string, number>();
    for (const s of d.nodeToStatus.map.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    const absentCount = numAllNodes - d.nodeToStatus.map.size;
    if (absentCount > 0 && d.nodeToStatus.absent)
      for (const r of d.nodeToStatus.absent.reasons) counts.set(r, (counts.get(r) ?? 0) + absentCount);
    // Go's sort.Strings over "<count> <reason>": byte order, the count included.
    const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (parts.length) msg += ` ${parts.join(', ')}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}`;
  return msg;
}

/** upstream's helper.DefaultNormalizeScore. */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: NodeScore[]): void {
  let max = 0;
  for (const s of scores) if (s.score > max) max = s.score;
  if (max === 0) {
    if (reverse) for (const s of scores) s.score = maxPriority;
    return;
  }
  for (const s of scores) {
    let v = Math.trunc((maxPriority * s.score) / max);
    if (reverse) v = maxPriority - v;
    s.score = v;
  }
}
