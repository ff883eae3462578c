// An in-memory cache in front of an RbacSource. Reads are served from memory; onChange() (called by
// the API server after any write to roles, clusterroles, rolebindings or clusterrolebindings, or
// from a watch) drops what changed. RBAC objects change rarely and are read on every request,
// so a whole-kind invalidation is simple and cheap. Concurrent misses share one load.
import type { ClusterRole, ClusterRoleBinding, RbacSource, Role, RoleBinding } from './rbac-types.js';

export type RbacKind = 'roles' | 'clusterroles' | 'rolebindings' | 'clusterrolebindings';

export interface CachedRbacSource extends RbacSource {
  /** Forget cached objects of a kind (all kinds when omitted); namespaced kinds may name a namespace. */
  onChange(kind?: RbacKind, namespace?: string): void;
}

export function createCachedRbacSource(inner: RbacSource): CachedRbacSource {
  const cache = new Map<string, Promise<unknown>>();

  function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit) return hit as Promise<T>;
    const p = load().catch((e) => {
      if (cache.get(key) === p) cache.delete(key); // never cache a failure
      throw e;
    });
    cache.set(key, p); // onChange() deletes it, so a load in flight during a change is not reused
    return p;
  }

  return {
    listClusterRoles: () => cached<ClusterRole[]>('clusterroles', () => inner.listClusterRoles()),
    listClusterRoleBindings: () =>
      cached<ClusterRoleBinding[]>('clusterrolebindings', () => inner.listClusterRoleBindings()),
    listRoles: (ns) => cached<Role[]>(`roles/${ns}`, () => inner.listRoles(ns)),
    listRoleBindings: (ns) => cached<RoleBinding[]>(`rolebindings/${ns}`, () => inner.listRoleBindings(ns)),
    onChange(kind?: RbacKind, namespace?: string) {
      if (!kind) {
        cache.clear();
        return;
      }
      for (const key of [...cache.keys()]) {
        const [k, ns] = key.split('/');
        if (k === kind && (namespace === undefined || ns === undefined || ns === namespace)) cache.delete(key);
      }
    },
  };
}
