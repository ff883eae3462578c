// rbac.authorization.k8s.io/v1 schemas shared by Role, ClusterRole and the bindings.
import { arr, define, obj, ref, str, strList } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';

export const R = (n: string) => `io.k8s.api.rbac.v1.${n}`;
export const RBAC_GROUP = 'rbac.authorization.k8s.io';

define(
  R('PolicyRule'),
  obj(
    'A set of actions on resources (or non-resource URLs) a subject may perform.',
    {
      verbs: strList(
        'Verbs that apply to all resources in the rule: get, list, watch, create, update, patch, delete, deletecollection, "*" for all.',
      ),
      apiGroups: strList('API groups of the resources; "" is the core group, "*" all groups.'),
      resources: strList('Resources the rule applies to, e.g. pods, pods/log, "*" for all.'),
      resourceNames: strList('An optional allow list of object names; empty means all.'),
      nonResourceURLs: strList(
        'Partial URLs (e.g. /healthz, /api/*) a user may access; only in ClusterRoles bound by ClusterRoleBindings.',
      ),
    },
    ['verbs'],
  ),
);
define(
  R('AggregationRule'),
  obj('How to build a ClusterRole from the rules of other ClusterRoles.', {
    clusterRoleSelectors: arr(
      'Selectors of the ClusterRoles whose rules are aggregated into this one.',
      ref(N.LabelSelector),
      { listType: 'atomic' },
    ),
  }),
);
define(R('Subject'), {
  ...obj(
    'A user, group or service account a binding applies to.',
    {
      kind: str('Kind of subject: User, Group or ServiceAccount.'),
      apiGroup: str('API group of the subject: "" for ServiceAccount, rbac.authorization.k8s.io for User and Group.'),
      name: str('Name of the subject.'),
      namespace: str('Namespace of a ServiceAccount subject.'),
    },
    ['kind', 'name'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
define(R('RoleRef'), {
  ...obj(
    'The role a binding refers to.',
    {
      apiGroup: str('API group of the referenced role: rbac.authorization.k8s.io.'),
      kind: str('Role or ClusterRole.'),
      name: str('Name of the role.'),
    },
    ['apiGroup', 'kind', 'name'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
