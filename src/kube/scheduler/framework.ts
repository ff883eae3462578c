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

let slots = 0;

/** The key of one plugin's data in a CycleState: a slot number, so a read (once per node per
 *  filter, 500 nodes a pod) is an array load rather than a string hash lookup. */
export class StateKey<T extends StateData> {
  readonly slot = slots++;
  declare readonly _type?: T;
  constructor(readonly name: string) {}
}

export class CycleState {
  private data: (StateData | undefined)[] = [];
  skipFilterPlugins = new Set<string>();
  skipScorePlugins = new Set<string>();
  /** The filter plugins not skipped, worked out once per cycle (Filter runs per node). */
  activeFilters?: FilterFn[];
  /** Pods a plugin wants moved back to the active queue once this cycle ends. */
  podsToActivate = new Map<string, Pod>();

  read<T extends StateData>(key: StateKey<T>): T | undefined {
    return this.data[key.slot] as T | undefined;
  }
  write<T extends StateData>(key: StateKey<T>, v: T): void {
    while (this.data.length < key.slot) this.data.push(undefined);
    this.data[key.slot] = v;
  }
  clone(): CycleState {
    const c = new CycleState();
    c.data = this.data.map((v) => v?.clone());
    c.skipFilterPlugins = this.skipFilterPlugins;
    c.skipScorePlugins = this.skipScorePlugins;
    c.activeFilters = this.activeFilters;
    return c;
  }
}

/** A plugin's Filter with its name, as the profile calls it per node (a property read of each
 *  plugin object there was a megamorphic load: every plugin object has its own shape). */
export interface FilterFn {
  readonly name: string;
  readonly filter: (state: CycleState, pi: PodInfo, node: NodeInfo) => Status | undefined;
}

/** A stateless value kept in a CycleState (its clone is itself). */
export class Frozen<T> implements StateData {
  constructor(readonly value: T) {}
  clone(): StateData {
    return this;
  }
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
  /** Whether any pod is nominated anywhere (absent: assumed so); asked once per cycle, so that
   *  the filter loop looks nothing up per node when none is, the common case. */
  anyNominated?(): boolean;
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
  /** Score: the raw score of each of `nodes` into `scores[i]`, zeroed before (the array may be longer than the
   *  nodes; only the first nodes.length entries are theirs). One call per plugin per cycle: the
   *  plugin reads its cycle state once and loops, with no object per node. */
  score?(state: CycleState, pi: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array): void;
  /** NormalizeScore: the same nodes' scores, changed in place. */
  normalizeScore?(state: CycleState, pi: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array): void;
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

/** upstream's helper.DefaultNormalizeScore, over the first `count` scores. */
export function defaultNormalizeScore(
  maxPriority: number,
  reverse: boolean,
  scores: Float64Array,
  count: number,
): void {
  let max = 0;
  for (let i = 0; i < count; i++) if (scores[i] > max) max = scores[i];
  if (max === 0) {
    if (reverse) for (let i = 0; i < count; i++) scores[i] = maxPriority;
    return;
  }
  for (let i = 0; i < count; i++) {
    let v = Math.trunc((maxPriority * scores[i]) / max);
    if (reverse) v = maxPriority - v;
    scores[i] = v;
  }
}
