// The garbage collector's view of the cluster: every object's identity, owners and deletion
// state (metadata only), indexed by uid and by owner uid (dependents may exist before, or
// without, their owner being known).
import type { KubeObject, OwnerReference } from '../../api/index.js';
import type { DiscoveredResource } from '../../client/index.js';

export interface Node {
  uid: string;
  resource: DiscoveredResource;
  namespace?: string;
  name: string;
  owners: OwnerReference[];
  finalizers: string[];
  deleting: boolean;
}

export type Meta = Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>;

/** What the graph keeps of an object (the informers' transform). */
export function metaOnly(o: KubeObject): Meta {
  const m = o.metadata;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      ownerReferences: m.ownerReferences,
      finalizers: m.finalizers,
      deletionTimestamp: m.deletionTimestamp,
    },
  };
}

export function nodeOf(o: Meta, resource: DiscoveredResource): Node {
  const m = o.metadata;
  return {
    uid: m.uid ?? '',
    resource,
    namespace: m.namespace,
    name: m.name ?? '',
    owners: Array.isArray(m.ownerReferences) ? m.ownerReferences.filter((r) => r && typeof r.uid === 'string') : [],
    finalizers: Array.isArray(m.finalizers) ? m.finalizers : [],
    deleting: Boolean(m.deletionTimestamp),
  };
}

export class Graph {
  readonly nodes = new Map<string, Node>();
  private dependents = new Map<string, Set<string>>();

  get(uid: string): Node | undefined {
    return this.nodes.get(uid);
  }

  upsert(n: Node): Node | undefined {
    const prev = this.nodes.get(n.uid);
    if (prev) this.unlink(prev);
    this.nodes.set(n.uid, n);
    for (const o of n.owners) {
      let s = this.dependents.get(o.uid);
      if (!s) this.dependents.set(o.uid, (s = new Set()));
      s.add(n.uid);
    }
    return prev;
  }

  remove(uid: string): Node | undefined {
    const n = this.nodes.get(uid);
    if (!n) return undefined;
    this.unlink(n);
    this.nodes.delete(uid);
    return n;
  }

  dependentsOf(uid: string): Node[] {
    return [...(this.dependents.get(uid) ?? [])].map((u) => this.nodes.get(u)).filter((n): n is Node => Boolean(n));
  }

  private unlink(n: Node): void {
    for (const o of n.owners) {
      const s = this.dependents.get(o.uid);
      s?.delete(n.uid);
      if (s && s.size === 0) this.dependents.delete(o.uid);
    }
  }
}
