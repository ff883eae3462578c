// The default ClusterRoles and ClusterRoleBindings the API server creates at start, following
// upstream's bootstrap policy in spirit: cluster-admin for system:masters; the user-facing
// aggregated roles admin ⊃ edit ⊃ view, filled through the aggregate-to-* labels so custom roles
// can extend them; discovery, basic self-review and public-info roles bound to every
// authenticated user (and public info to unauthenticated ones too). Skiff additionally binds a
// `system:node` role to the `system:nodes` group, because it has no Node authorizer.
import type { ClusterRole, ClusterRoleBinding, PolicyRule } from './rbac-types.js';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const RW = [...READ, ...WRITE];
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
const AGG = 'rbac.authorization.k8s.io/aggregate-to-';

const r = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({ verbs, apiGroups, resources });
const url = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

function clusterRole(
  name: string,
  rules: PolicyRule[],
  extra: { labels?: Record<string, string>; aggregateFrom?: string } = {},
): ClusterRole {
  const role: ClusterRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS, ...extra.labels }, annotations: { ...AUTOUPDATE } },
    rules,
  };
  if (extra.aggregateFrom)
    role.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { [`${AGG}${extra.aggregateFrom}`]: 'true' } }] };
  return role;
}

function binding(name: string, role: string, groups: string[]): ClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: groups.map((g) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: g })),
  };
}

const VIEW_RULES: PolicyRule[] = [
  r(
    READ,
    [''],
    [
      'configmaps',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'pods',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/status',
    ],
  ),
  r(
    READ,
    [''],
    [
      'bindings',
      'events',
      'limitranges',
      'namespaces/status',
      'pods/log',
      'pods/status',
      'replicationcontrollers/status',
      'resourcequotas',
      'resourcequotas/status',
    ],
  ),
  r(READ, [''], ['namespaces']),
  r(READ, ['discovery.k8s.io'], ['endpointslices']),
  r(READ, ['events.k8s.io'], ['events']),
  r(
    READ,
    ['apps'],
    [
      'controllerrevisions',
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'statefulsets',
      'statefulsets/scale',
      'statefulsets/status',
    ],
  ),
  r(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  r(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
  r(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  r(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
];

const EDIT_RULES: PolicyRule[] = [
  r(READ, [''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy']),
  r(['impersonate'], [''], ['serviceaccounts']),
  r(WRITE, [''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy']),
  r(['create'], [''], ['pods/eviction', 'serviceaccounts/token']),
  r(
    WRITE,
    [''],
    [
      'configmaps',
      'events',
      'endpoints',
      'persistentvolumeclaims',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'secrets',
      'serviceaccounts',
      'services',
      'services/proxy',
    ],
  ),
  r(
    WRITE,
    ['apps'],
    [
      'daemonsets',
      'deployments',
      'deployments/rollback',
      'deployments/scale',
      'replicasets',
      'replicasets/scale',
      'statefulsets',
      'statefulsets/scale',
    ],
  ),
  r(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
  r(WRITE, ['batch'], ['cronjobs', 'jobs']),
  r(WRITE, ['policy'], ['poddisruptionbudgets']),
  r(WRITE, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
  r(WRITE, ['discovery.k8s.io'], ['endpointslices']),
  r(RW, ['coordination.k8s.io'], ['leases']),
];

const ADMIN_RULES: PolicyRule[] = [
  r(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  r(RW, ['rbac.authorization.k8s.io'], ['roles', 'rolebindings']),
];

const NODE_RULES: PolicyRule[] = [
  r([...READ, 'create', 'update', 'patch', 'delete'], [''], ['nodes']),
  r(['update', 'patch'], [''], ['nodes/status', 'pods/status']),
  r([...READ, 'create', 'delete'], [''], ['pods']),
  r(['create'], [''], ['pods/eviction', 'serviceaccounts/token']),
  r(
    READ,
    [''],
    [
      'configmaps',
      'secrets',
      'services',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumes',
      'serviceaccounts',
      'namespaces',
    ],
  ),
  r(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
  r(READ, ['discovery.k8s.io'], ['endpointslices']),
  r(RW, ['coordination.k8s.io'], ['leases']),
  r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
  // A node renews its own client certificate (upstream's selfnodeclient path).
  r(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
];

const PUBLIC_INFO_URLS = ['/healthz', '/livez', '/readyz', '/version', '/version/'];

/** The default RBAC objects; create the missing ones at start (keep user changes to existing ones). */
export function bootstrapPolicy(): { clusterRoles: ClusterRole[]; clusterRoleBindings: ClusterRoleBinding[] } {
  const clusterRoles: ClusterRole[] = [
    clusterRole('cluster-admin', [r(['*'], ['*'], ['*']), url(['*'], ['*'])]),
    clusterRole('admin', [], { aggregateFrom: 'admin' }),
    clusterRole('edit', [], { aggregateFrom: 'edit', labels: { [`${AGG}admin`]: 'true' } }),
    clusterRole('view', [], { aggregateFrom: 'view', labels: { [`${AGG}edit`]: 'true' } }),
    clusterRole('system:aggregate-to-admin', ADMIN_RULES, { labels: { [`${AGG}admin`]: 'true' } }),
    clusterRole('system:aggregate-to-edit', EDIT_RULES, { labels: { [`${AGG}edit`]: 'true' } }),
    clusterRole('system:aggregate-to-view', VIEW_RULES, { labels: { [`${AGG}view`]: 'true' } }),
    clusterRole('system:basic-user', [
      r(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      r(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:discovery', [
      url(['get'], ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', ...PUBLIC_INFO_URLS]),
    ]),
    clusterRole('system:public-info-viewer', [url(['get'], PUBLIC_INFO_URLS)]),
    clusterRole('system:monitoring', [
      url(
        ['get'],
        ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'],
      ),
    ]),
    clusterRole('system:service-account-issuer-discovery', [
      url(
        ['get'],
        [
          '/.well-known/openid-configuration',
          '/.well-known/openid-configuration/',
          '/openid/v1/jwks',
          '/openid/v1/jwks/',
        ],
      ),
    ]),
    clusterRole('system:node', NODE_RULES),
    // What a joining node may do with its bootstrap token: ask for its first certificate.
    clusterRole('system:node-bootstrapper', [
      r(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    ]),
  ];
  const clusterRoleBindings: ClusterRoleBinding[] = [
    binding('cluster-admin', 'cluster-admin', ['system:masters']),
    binding('system:basic-user', 'system:basic-user', ['system:authenticated']),
    binding('system:discovery', 'system:discovery', ['system:authenticated']),
    binding('system:public-info-viewer', 'system:public-info-viewer', [
      'system:authenticated',
      'system:unauthenticated',
    ]),
    binding('system:monitoring', 'system:monitoring', ['system:monitoring']),
    binding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [
      'system:serviceaccounts',
    ]),
    binding('system:node', 'system:node', ['system:nodes']),
    binding('system:node-bootstrapper', 'system:node-bootstrapper', ['system:bootstrappers']),
  ];
  return { clusterRoles, clusterRoleBindings };
}

export interface PolicyReconciliation {
  /** Missing objects to create. */
  create: (ClusterRole | ClusterRoleBinding)[];
  /** Existing objects to update (full objects: existing ones with what was missing added). */
  update: (ClusterRole | ClusterRoleBinding)[];
}

const ruleId = (r: PolicyRule) =>
  JSON.stringify([r.verbs, r.apiGroups ?? [], r.resources ?? [], r.resourceNames ?? [], r.nonResourceURLs ?? []]);

/** What to write so the stored bootstrap objects match this version's policy, as upstream's
 *  reconciliation at start: missing objects are created; existing ones whose
 *  `rbac.authorization.kubernetes.io/autoupdate` annotation is not "false" gain missing rules,
 *  labels, annotations, aggregation selectors and subjects — nothing a user added is removed. */
export function reconcileBootstrapPolicy(existing: {
  clusterRoles: ClusterRole[];
  clusterRoleBindings: ClusterRoleBinding[];
}): PolicyReconciliation {
  const want = bootstrapPolicy();
  const out: PolicyReconciliation = { create: [], update: [] };
  const autoupdate = (o: { metadata: { annotations?: Record<string, string> } }) =>
    o.metadata.annotations?.['rbac.authorization.kubernetes.io/autoupdate'] !== 'false';
  const mergeMeta = (have: ClusterRole | ClusterRoleBinding, w: ClusterRole | ClusterRoleBinding) => {
    const labels = { ...w.metadata.labels, ...have.metadata.labels };
    const annotations = { ...w.metadata.annotations, ...have.metadata.annotations };
    const size = (m?: Record<string, string>) => Object.keys(m ?? {}).length;
    // Merged maps only ever add keys, so a change shows as a larger map.
    const changed =
      size(labels) !== size(have.metadata.labels) || size(annotations) !== size(have.metadata.annotations);
    return { metadata: { ...have.metadata, labels, annotations }, changed };
  };

  const roles = new Map(existing.clusterRoles.map((r) => [r.metadata.name, r]));
  for (const w of want.clusterRoles) {
    const have = roles.get(w.metadata.name);
    if (!have) {
      out.create.push(w);
      continue;
    }
    if (!autoupdate(have)) continue;
    const { metadata, changed } = mergeMeta(have, w);
    const ids = new Set((have.rules ?? []).map(ruleId));
    const addRules = (w.rules ?? []).filter((r) => !ids.has(ruleId(r)));
    const haveSel = have.aggregationRule?.clusterRoleSelectors ?? [];
    const selIds = new Set(haveSel.map((s) => JSON.stringify(s)));
    const addSel = (w.aggregationRule?.clusterRoleSelectors ?? []).filter((s) => !selIds.has(JSON.stringify(s)));
    if (!changed && addRules.length === 0 && addSel.length === 0) continue;
    const next: ClusterRole = { ...have, metadata, rules: [...(have.rules ?? []), ...addRules] };
    if (haveSel.length || addSel.length) next.aggregationRule = { clusterRoleSelectors: [...haveSel, ...addSel] };
    out.update.push(next);
  }

  const bindings = new Map(existing.clusterRoleBindings.map((b) => [b.metadata.name, b]));
  for (const w of want.clusterRoleBindings) {
    const have = bindings.get(w.metadata.name);
    if (!have) {
      out.create.push(w);
      continue;
    }
    if (!autoupdate(have)) continue;
    const { metadata, changed } = mergeMeta(have, w);
    const key = (s: { kind: string; name: string; namespace?: string }) => `${s.kind}/${s.namespace ?? ''}/${s.name}`;
    const haveSubjects = have.subjects ?? [];
    const keys = new Set(haveSubjects.map(key));
    const addSubjects = (w.subjects ?? []).filter((s) => !keys.has(key(s)));
    // A binding's roleRef cannot change; one pointing elsewhere is left to its owner.
    if (have.roleRef.name !== w.roleRef.name || have.roleRef.kind !== w.roleRef.kind) continue;
    if (!changed && addSubjects.length === 0) continue;
    out.update.push({ ...have, metadata, subjects: [...haveSubjects, ...addSubjects] });
  }
  return out;
}
