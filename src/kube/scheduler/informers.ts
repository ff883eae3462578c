// The scheduler's informers: pods (not finished) feed the cache (assigned) or the queue (pending,
// for this scheduler); nodes feed the cache; the rest (namespaces, Services and controllers for
// default spreading, volumes, PDBs, PriorityClasses) back the Listers the plugins read. Every
// change that may make a pending pod schedulable is passed on as a cluster event.
import type { Logger } from '../../common/index.js';
import { Informer, trimManagedFields, type KubeClient, type ResourceRef } from '../client/index.js';
import type { KubeObject } from '../api/index.js';
import type { EventAction, EventResource, Listers } from './framework.js';
import type {
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodDisruptionBudget,
  PriorityClass,
  SelectorOwner,
  StorageClass,
} from './types.js';

const ref = (group: string, version: string, resource: string, kind: string, namespaced = true): ResourceRef => ({
  group,
  version,
  resource,
  kind,
  namespaced,
});

export const RESOURCES = {
  pods: ref('', 'v1', 'pods', 'Pod'),
  nodes: ref('', 'v1', 'nodes', 'Node', false),
  namespaces: ref('', 'v1', 'namespaces', 'Namespace', false),
  services: ref('', 'v1', 'services', 'Service'),
  replicationcontrollers: ref('', 'v1', 'replicationcontrollers', 'ReplicationController'),
  replicasets: ref('apps', 'v1', 'replicasets', 'ReplicaSet'),
  statefulsets: ref('apps', 'v1', 'statefulsets', 'StatefulSet'),
  pvs: ref('', 'v1', 'persistentvolumes', 'PersistentVolume', false),
  pvcs: ref('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim'),
  storageclasses: ref('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false),
  pdbs: ref('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget'),
  priorityclasses: ref('scheduling.k8s.io', 'v1', 'priorityclasses', 'PriorityClass', false),
};

export interface PodHandlers {
  add(pod: Pod): void;
  update(old: Pod, pod: Pod): void;
  delete(pod: Pod): void;
}

export interface NodeHandlers {
  add(node: Node): void;
  update(old: Node, node: Node): void;
  delete(node: Node): void;
}

/** Node changes as upstream's event types (labels, taints, allocatable, conditions). */
export function nodeUpdateActions(old: Node, n: Node): EventAction[] {
  const out: EventAction[] = [];
  const j = JSON.stringify;
  if (j(old.metadata.labels ?? {}) !== j(n.metadata.labels ?? {})) out.push('UpdateNodeLabel');
  if (j(old.spec?.taints ?? []) !== j(n.spec?.taints ?? []) || !!old.spec?.unschedulable !== !!n.spec?.unschedulable)
    out.push('UpdateNodeTaint');
  if (j(old.status?.allocatable ?? {}) !== j(n.status?.allocatable ?? {})) out.push('UpdateNodeAllocatable');
  // Conditions by type and status only: heartbeats change their timestamps all the time.
  const conds = (x: Node) => j((x.status?.conditions ?? []).map((c) => [c.type, c.status]));
  if (conds(old) !== conds(n)) out.push('UpdateNodeCondition');
  return out;
}

type Handlers<T> = { add?(o: T): void; update?(a: T, b: T): void; delete?(o: T): void };

export class ClusterInformers implements Listers {
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly nsInf: Informer<KubeObject>;
  private readonly svcs: Informer<SelectorOwner>;
  private readonly rcs: Informer<SelectorOwner>;
  private readonly rss: Informer<SelectorOwner>;
  private readonly sss: Informer<SelectorOwner>;
  private readonly pvInf: Informer<PersistentVolume>;
  private readonly pvcInf: Informer<PersistentVolumeClaim>;
  private readonly scs: Informer<StorageClass>;
  private readonly pdbInf: Informer<PodDisruptionBudget>;
  private readonly pcs: Informer<PriorityClass>;

  constructor(
    private client: KubeClient,
    private opts: {
      pods: PodHandlers;
      nodes: NodeHandlers;
      /** Volume, storage class and namespace changes (cluster events). */
      onEvent(resource: EventResource, action: EventAction): void;
      log?: Logger;
    },
  ) {
    const ev = <T>(resource: EventResource): Handlers<T> => ({
      add: () => opts.onEvent(resource, 'Add'),
      update: () => opts.onEvent(resource, 'Update'),
      delete: () => opts.onEvent(resource, 'Delete'),
    });
    const make = <T extends KubeObject>(
      r: ResourceRef,
      h: Handlers<T>,
      extra: { fieldSelector?: string; transform?(o: KubeObject): T } = {},
    ) => new Informer<T>(this.client, r, h, { log: this.opts.log, ...extra });
    // As kube-scheduler's pod informer: non-terminal pods, without their managedFields.
    this.pods = make<Pod>(RESOURCES.pods, opts.pods, {
      fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
      transform: trimManagedFields,
    });
    this.nodes = make<Node>(RESOURCES.nodes, opts.nodes);
    this.nsInf = make(RESOURCES.namespaces, ev('Namespace'));
    this.svcs = make(RESOURCES.services, {});
    this.rcs = make(RESOURCES.replicationcontrollers, {});
    this.rss = make(RESOURCES.replicasets, {});
    this.sss = make(RESOURCES.statefulsets, {});
    this.pvInf = make(RESOURCES.pvs, ev('PersistentVolume'));
    this.pvcInf = make(RESOURCES.pvcs, ev('PersistentVolumeClaim'));
    this.scs = make(RESOURCES.storageclasses, ev('StorageClass'));
    this.pdbInf = make(RESOURCES.pdbs, {});
    this.pcs = make(RESOURCES.priorityclasses, {});
  }

  private get others(): { start(): Promise<void>; stop(): void; ref: ResourceRef }[] {
    return [
      this.nsInf,
      this.svcs,
      this.rcs,
      this.rss,
      this.sss,
      this.pvInf,
      this.pvcInf,
      this.scs,
      this.pdbInf,
      this.pcs,
    ];
  }

  /** Lists everything once (resolves when each informer has its first list, or failed it: a
   *  resource the server does not serve leaves its lister empty). Pods and nodes come last, so
   *  the listers the first cycles read are filled before any pod is queued. */
  async start(): Promise<void> {
    await Promise.all(
      this.others.map((i) =>
        i.start().catch((e) =>
          this.opts.log?.warn('scheduler: resource not served, its lister stays empty', {
            resource: i.ref.resource,
            error: e instanceof Error ? e.message : String(e),
          }),
        ),
      ),
    );
    await this.nodes.start();
    await this.pods.start();
  }

  stop(): void {
    for (const i of [this.pods, this.nodes, ...this.others]) i.stop();
  }

  get synced(): boolean {
    return this.pods.hasSynced && this.nodes.hasSynced;
  }

  pod(namespace: string, name: string): Pod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  // --- Listers ---
  namespaceLabels(name: string): Record<string, string> | undefined {
    return this.nsInf.get(name)?.metadata.labels;
  }
  namespaces(): { name: string; labels: Record<string, string> }[] {
    return this.nsInf.list().map((n) => ({ name: n.metadata.name ?? '', labels: n.metadata.labels ?? {} }));
  }
  services(namespace: string): SelectorOwner[] {
    return this.svcs.list().filter((s) => s.metadata.namespace === namespace);
  }
  controller(kind: 'ReplicationController' | 'ReplicaSet' | 'StatefulSet', namespace: string, name: string) {
    const inf = kind === 'ReplicationController' ? this.rcs : kind === 'ReplicaSet' ? this.rss : this.sss;
    return inf.get(`${namespace}/${name}`);
  }
  pvc(namespace: string, name: string): PersistentVolumeClaim | undefined {
    return this.pvcInf.get(`${namespace}/${name}`);
  }
  pv(name: string): PersistentVolume | undefined {
    return this.pvInf.get(name);
  }
  pvs(): PersistentVolume[] {
    return this.pvInf.list();
  }
  storageClass(name: string): StorageClass | undefined {
    return this.scs.get(name);
  }
  node(name: string): Node | undefined {
    return this.nodes.get(name);
  }
  pdbs(): PodDisruptionBudget[] {
    return this.pdbInf.list();
  }
  priorityClass(name: string): PriorityClass | undefined {
    return this.pcs.get(name);
  }
}
