// rbac.authorization.k8s.io/v1 object shapes as the authorizer reads them, the request attributes
// it decides on, and the source it reads RBAC objects from.
import type { UserInfo } from './user.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | string;
  values?: string[];
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface RbacMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export interface Role {
  apiVersion?: string;
  kind?: string;
  metadata: RbacMeta;
  rules?: PolicyRule[] | null;
}

export interface ClusterRole extends Role {
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] } | null;
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount' | string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup?: string;
  kind: 'Role' | 'ClusterRole' | string;
  name: string;
}

export interface RoleBinding {
  apiVersion?: string;
  kind?: string;
  metadata: RbacMeta;
  subjects?: Subject[] | null;
  roleRef: RoleRef;
}

export type ClusterRoleBinding = RoleBinding;

/** Where the authorizer reads RBAC objects. The API server implements it over its store; wrap it in
 *  createCachedRbacSource() to serve repeated reads from memory until the next change. Returning
 *  the same array for unchanged data lets the authorizer reuse its indexes. */
export interface RbacSource {
  listClusterRoles(): Promise<ClusterRole[]>;
  listClusterRoleBindings(): Promise<ClusterRoleBinding[]>;
  listRoles(namespace: string): Promise<Role[]>;
  listRoleBindings(namespace: string): Promise<RoleBinding[]>;
}

/** What is being asked, as upstream's authorizer.Attributes (the user is passed separately). */
export interface RequestAttributes {
  verb: string;
  /** true for /api and /apis resource requests; false for other paths (nonResourceURLs). */
  resourceRequest: boolean;
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** Request path, for non-resource requests (`/healthz`, `/version`). */
  path?: string;
}

export interface Decision {
  allowed: boolean;
  /** Why: which binding allowed it, or resolution errors on a denial ('' when nothing to say). */
  reason: string;
}

export interface ResolvedRules {
  rules: PolicyRule[];
  /** Bindings whose role could not be found, and similar; the rules may be incomplete. */
  errors: string[];
}

export interface Authorizer {
  authorize(user: UserInfo, attrs: RequestAttributes): Promise<Decision>;
  /** Every rule that applies to the user in the namespace ('' = cluster-wide bindings only). */
  rulesFor(user: UserInfo, namespace: string): Promise<ResolvedRules>;
  /** The rules a role reference grants (ClusterRole aggregation applied); NotFound when missing. */
  roleRefRules(ref: RoleRef, namespace: string): Promise<PolicyRule[]>;
}
