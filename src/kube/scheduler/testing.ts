// Builders for the scheduler's unit tests: pods and nodes as the API returns them, and an
// in-memory Handle (the cache as snapshot, plain arrays as listers) to run plugins on.
import { SchedulerCache } from './cache.js';
import { CycleState, type Handle, type Listers, type Plugin, type Status } from './framework.js';
import { PodInfo, type NodeInfo } from './nodeinfo.js';
import { Profile, type WeightedPlugin } from './profile.js';
import type {
  Container,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodDisruptionBudget,
  SelectorOwner,
  StorageClass,
} from './types.js';

let seq = 0;

export interface PodOpts {
  ns?: string;
  labels?: Record<string, string>;
  cpu?: string;
  memory?: string;
  node?: string;
  priority?: number;
  containers?: Container[];
  spec?: Partial<Pod['spec']>;
  status?: Pod['status'];
  owner?: { apiVersion: string; kind: string; name: string };
}

export function pod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: `uid-${name}-${++seq}`,
      labels: o.labels,
      ownerReferences: o.owner ? [{ ...o.owner, uid: `owner-${o.owner.name}`, controller: true }] : undefined,
    },
    spec: {
      containers: o.containers ?? [{ name: 'c', image: 'pause', resources: { requests } }],
      nodeName: o.node,
      priority: o.priority ?? 0,
      schedulerName: 'default-scheduler',
      ...o.spec,
    },
    status: o.status ?? { phase: 'Pending' },
  };
}

export interface NodeOpts {
  labels?: Record<string, string>;
  cpu?: string;
  memory?: string;
  pods?: string;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
  images?: { names: string[]; sizeBytes: number }[];
  extra?: Record<string, string>;
}

export function node(name: string, o: NodeOpts = {}): Node {
  const alloc = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110', ...o.extra };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `node-${name}`, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: { capacity: alloc, allocatable: alloc, images: o.images },
  };
}

/** Listers over plain arrays. */
export class MemoryListers implements Listers {
  ns: { name: string; labels: Record<string, string> }[] = [{ name: 'default', labels: {} }];
  svcs: SelectorOwner[] = [];
  controllers: (SelectorOwner & { kind: string })[] = [];
  pvcList: PersistentVolumeClaim[] = [];
  pvList: PersistentVolume[] = [];
  classes: StorageClass[] = [];
  nodes: Node[] = [];
  pdbList: PodDisruptionBudget[] = [];
  namespaceLabels(name: string) {
    return this.ns.find((n) => n.name === name)?.labels;
  }
  namespaces() {
    return this.ns;
  }
  services(namespace: string) {
    return this.svcs.filter((s) => s.metadata.namespace === namespace);
  }
  controller(kind: string, namespace: string, name: string) {
    return this.controllers.find(
      (c) => c.kind === kind && c.metadata.namespace === namespace && c.metadata.name === name,
    );
  }
  pvc(namespace: string, name: string) {
    return this.pvcList.find((c) => c.metadata.namespace === namespace && c.metadata.name === name);
  }
  pv(name: string) {
    return this.pvList.find((v) => v.metadata.name === name);
  }
  pvs() {
    return this.pvList;
  }
  storageClass(name: string) {
    return this.classes.find((c) => c.metadata.name === name);
  }
  node(name: string) {
    return this.nodes.find((n) => n.metadata.name === name);
  }
}

export interface TestCluster {
  cache: SchedulerCache;
  listers: MemoryListers;
  handle: Handle;
  nominated: Map<string, PodInfo[]>;
  /** Builds a profile over `plugins` (functions of the handle) and wires the handle's runners. */
  profile(plugins: (h: Handle) => WeightedPlugin[]): Profile;
  events: { reason: string; message: string }[];
  /** API calls the plugins made (answered with {}). */
  requests: { method: string; path: string; body?: unknown }[];
}

/** A cluster of nodes with pods already on them (pods' spec.nodeName places them). */
export function cluster(nodes: Node[], pods: Pod[] = []): TestCluster {
  const cache = new SchedulerCache();
  const listers = new MemoryListers();
  for (const n of nodes) cache.addNode(n);
  for (const p of pods) cache.addPod(p);
  listers.nodes = nodes;
  const nominated = new Map<string, PodInfo[]>();
  const events: { reason: string; message: string }[] = [];
  const requests: { method: string; path: string; body?: unknown }[] = [];
  let prof: Profile | undefined;
  const handle: Handle = {
    snapshot: cache,
    listers,
    nominator: {
      nominatedPodsForNode: (n) => nominated.get(n) ?? [],
      anyNominated: () => [...nominated.values()].some((l) => l.length > 0),
    },
    schedulerName: 'default-scheduler',
    client: {
      async request<T>(method: string, path: string, o?: { body?: unknown }): Promise<T> {
        requests.push({ method, path, body: o?.body });
        return {} as T;
      },
    },
    event: (_o, _t, reason, _a, message) => events.push({ reason, message }),
    runFilterWithNominatedPods: (s, pi, n) => prof!.runFilterWithNominatedPods(s, pi, n),
    runPreFilterAddPod: (s, pi, a, n) => prof!.runPreFilterAddPod(s, pi, a, n),
    runPreFilterRemovePod: (s, pi, r, n) => prof!.runPreFilterRemovePod(s, pi, r, n),
  };
  return {
    cache,
    listers,
    handle,
    nominated,
    events,
    requests,
    profile(plugins) {
      prof = new Profile('default-scheduler', plugins(handle), handle);
      return prof;
    },
  };
}

/** Runs one plugin's PreFilter then Filter on every node: node name → status (undefined = fits). */
export function filterAll(c: TestCluster, plugin: Plugin, p: Pod): Map<string, Status | undefined> & { pre?: Status } {
  const state = new CycleState();
  const pi = new PodInfo(p);
  const out = new Map<string, Status | undefined>() as Map<string, Status | undefined> & { pre?: Status };
  const r = plugin.preFilter?.(state, pi);
  if (r?.status && r.status.code !== 'Skip' && !r.status.isSuccess) {
    out.pre = r.status;
    return out;
  }
  const skipped = r?.status?.code === 'Skip';
  for (const n of c.cache.nodeInfos()) out.set(n.name, skipped ? undefined : plugin.filter?.(state, pi, n));
  return out;
}

/** Runs one plugin's PreScore, Score and NormalizeScore over the nodes: name → score. */
export function scoreAll(c: TestCluster, plugin: Plugin, p: Pod, nodes?: NodeInfo[]): Map<string, number> {
  const state = new CycleState();
  const pi = new PodInfo(p);
  const list = nodes ?? c.cache.nodeInfos();
  const s = plugin.preScore?.(state, pi, list);
  const scores = new Float64Array(list.length);
  if (s?.code !== 'Skip') {
    plugin.score!(state, pi, list, scores);
    plugin.normalizeScore?.(state, pi, list, scores);
  }
  return new Map(list.map((n, i) => [n.name, scores[i]]));
}

/** Reasons of a filter result, '' when it fits. */
export const reasons = (s: Status | undefined) => (s && !s.isSuccess ? s.reasons.join('; ') : '');
