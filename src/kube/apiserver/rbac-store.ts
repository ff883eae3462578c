// RBAC over the served objects: the authorizer's source reads the server's caches of Roles,
// ClusterRoles and their bindings (kept by watches, so every server on one etcd sees every
// change; this server's own writes take effect at once), and the bootstrap policy is created at
// start through the write pipeline, as upstream's bootstrap writes through the API.
import type { KubeObject } from '../api/index.js';
import {
  bootstrapPolicy,
  type CachedRbacSource,
  type ClusterRole,
  type ClusterRoleBinding,
  createCachedRbacSource,
  type RbacKind,
  type Role,
  type RoleBinding,
} from './auth/index.js';
import type { ApiContext } from './context.js';
import { createIfMissing } from './system.js';

const RBAC = 'rbac.authorization.k8s.io';
const KINDS: RbacKind[] = ['clusterroles', 'clusterrolebindings', 'roles', 'rolebindings'];

/** The authorizer's view of the RBAC objects; lists are computed once per change of their kind. */
export function rbacSource(ctx: ApiContext): CachedRbacSource & { stop(): void } {
  const list = <T>(plural: RbacKind, namespace?: string) => ctx.reader.list(RBAC, plural, namespace) as Promise<T[]>;
  const cached = createCachedRbacSource({
    listClusterRoles: () => list<ClusterRole>('clusterroles'),
    listClusterRoleBindings: () => list<ClusterRoleBinding>('clusterrolebindings'),
    // (a namespace with no Roles reads the store each time; the cache keeps the empty answer)
    listRoles: (ns) => list<Role>('roles', ns),
    listRoleBindings: (ns) => list<RoleBinding>('rolebindings', ns),
  });
  const stops: (() => void)[] = [];
  let attached = false;
  // The caches exist once the server started; attach lazily on first use.
  const attach = () => {
    if (attached) return;
    for (const kind of KINDS) {
      const c = ctx.caches.get(`${RBAC}/${kind}`);
      if (!c) return;
    }
    attached = true;
    for (const kind of KINDS)
      stops.push(ctx.caches.get(`${RBAC}/${kind}`)!.onChange((ns) => cached.onChange(kind, ns)));
    cached.onChange();
  };
  const wrap =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...a: A) => {
      attach();
      return f(...a);
    };
  return {
    listClusterRoles: wrap(cached.listClusterRoles),
    listClusterRoleBindings: wrap(cached.listClusterRoleBindings),
    listRoles: wrap(cached.listRoles),
    listRoleBindings: wrap(cached.listRoleBindings),
    onChange: cached.onChange,
    stop: () => {
      for (const s of stops) s();
    },
  };
}

/** Upstream's bootstrap roles and bindings, created when missing (as kube-apiserver does at start). */
export async function ensureBootstrapPolicy(ctx: ApiContext): Promise<void> {
  const { clusterRoles, clusterRoleBindings } = bootstrapPolicy();
  const put = async (plural: string, kind: string, o: { metadata: { name?: string } }) => {
    const def = ctx.registry.preferred(RBAC, plural);
    if (!def) return;
    if (ctx.caches.get(`${RBAC}/${plural}`)?.get(undefined, o.metadata.name ?? '')) return;
    const obj = { ...o, apiVersion: `${RBAC}/${def.version}`, kind } as KubeObject;
    await createIfMissing(ctx, def, obj);
  };
  for (const r of clusterRoles) await put('clusterroles', 'ClusterRole', r);
  for (const b of clusterRoleBindings) await put('clusterrolebindings', 'ClusterRoleBinding', b);
}
