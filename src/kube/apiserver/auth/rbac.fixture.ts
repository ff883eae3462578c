// Shared RBAC fixtures for the auth tests: the bootstrap policy plus a small cluster of custom
// roles and bindings, served by a recording in-memory RbacSource.
import { bootstrapPolicy } from './bootstrap-policy.js';
import type { ClusterRole, ClusterRoleBinding, RbacSource, Role, RoleBinding, Subject } from './rbac-types.js';
import type { UserInfo } from './user.js';

const meta = (name: string, namespace?: string, labels?: Record<string, string>) => ({
  name,
  ...(namespace ? { namespace } : {}),
  ...(labels ? { labels } : {}),
});
export const crole = (name: string, rules: ClusterRole['rules'], labels?: Record<string, string>): ClusterRole => ({
  kind: 'ClusterRole',
  metadata: meta(name, undefined, labels),
  rules,
});
export const role = (ns: string, name: string, rules: Role['rules']): Role => ({
  kind: 'Role',
  metadata: meta(name, ns),
  rules,
});
export const crb = (name: string, ref: string, subjects: Subject[]): ClusterRoleBinding => ({
  kind: 'ClusterRoleBinding',
  metadata: meta(name),
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ref },
  subjects,
});
export const rb = (
  ns: string,
  name: string,
  kind: 'Role' | 'ClusterRole',
  ref: string,
  subjects: Subject[],
): RoleBinding => ({
  kind: 'RoleBinding',
  metadata: meta(name, ns),
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: ref },
  subjects,
});
const user = (name: string): Subject => ({ kind: 'User', name });
const group = (name: string): Subject => ({ kind: 'Group', name });

export function fixtureObjects() {
  const boot = bootstrapPolicy();
  const clusterRoles: ClusterRole[] = [
    ...boot.clusterRoles,
    crole('pod-reader', [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods', 'pods/log'] }]),
    crole('scaler', [{ verbs: ['get', 'update'], apiGroups: ['apps'], resources: ['*/scale'] }]),
    crole('one-cm', [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['app-config'] }]),
    crole('metrics', [{ verbs: ['get'], nonResourceURLs: ['/metrics', '/logs/*'] }]),
    crole('widget-viewer', [{ verbs: ['get', 'list'], apiGroups: ['example.com'], resources: ['widgets'] }], {
      'rbac.authorization.k8s.io/aggregate-to-view': 'true',
    }),
    crole('binder', [
      {
        verbs: ['bind'],
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['clusterroles'],
        resourceNames: ['admin'],
      },
    ]),
    crole('escalator', [
      { verbs: ['escalate', 'create'], apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'] },
    ]),
  ];
  const clusterRoleBindings: ClusterRoleBinding[] = [
    ...boot.clusterRoleBindings,
    crb('alice-pods', 'pod-reader', [user('alice')]),
    crb('carol', 'one-cm', [user('carol')]),
    crb('carol-metrics', 'metrics', [user('carol')]),
  ];
  const roles: Role[] = [
    role('dev', 'secret-writer', [{ verbs: ['create'], apiGroups: [''], resources: ['secrets'] }]),
  ];
  const roleBindings: RoleBinding[] = [
    rb('dev', 'devs-edit', 'ClusterRole', 'edit', [group('devs')]),
    rb('dev', 'builder', 'Role', 'secret-writer', [{ kind: 'ServiceAccount', name: 'builder' }]),
    rb('dev', 'deployer', 'ClusterRole', 'scaler', [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' }]),
    rb('dev', 'broken', 'Role', 'does-not-exist', [user('eve')]),
    rb('dev', 'frank-binder', 'ClusterRole', 'binder', [user('frank')]),
    rb('dev', 'grace-escalator', 'ClusterRole', 'escalator', [user('grace')]),
    rb('prod', 'dave-admin', 'ClusterRole', 'admin', [user('dave')]),
  ];
  return { clusterRoles, clusterRoleBindings, roles, roleBindings };
}

export function fixtureSource(objs = fixtureObjects()): RbacSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async listClusterRoles() {
      calls.push('clusterroles');
      return objs.clusterRoles;
    },
    async listClusterRoleBindings() {
      calls.push('clusterrolebindings');
      return objs.clusterRoleBindings;
    },
    async listRoles(ns) {
      calls.push(`roles/${ns}`);
      return objs.roles.filter((r) => r.metadata.namespace === ns);
    },
    async listRoleBindings(ns) {
      calls.push(`rolebindings/${ns}`);
      return objs.roleBindings.filter((r) => r.metadata.namespace === ns);
    },
  };
}

const authed = (username: string, ...groups: string[]): UserInfo => ({
  username,
  groups: [...groups, 'system:authenticated'],
});
export const USERS = {
  admin: authed('skiff-admin', 'system:masters'),
  alice: authed('alice'),
  bob: authed('bob', 'devs'),
  carol: authed('carol'),
  dave: authed('dave'),
  eve: authed('eve'),
  frank: authed('frank'),
  grace: authed('grace'),
  builder: authed('system:serviceaccount:dev:builder', 'system:serviceaccounts', 'system:serviceaccounts:dev'),
  otherBuilder: authed('system:serviceaccount:other:builder', 'system:serviceaccounts', 'system:serviceaccounts:other'),
  deployer: authed('system:serviceaccount:ci:deployer', 'system:serviceaccounts', 'system:serviceaccounts:ci'),
  nobody: authed('nobody'),
  anonymous: { username: 'system:anonymous', groups: ['system:unauthenticated'] } as UserInfo,
};
