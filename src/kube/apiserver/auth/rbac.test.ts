import { test } from 'node:test';
import assert from 'node:assert/strict';
// Imports the RBAC files directly (not index.js) so this suite does not load the X.509 stack.
import { createRbacAuthorizer, aggregateClusterRoles } from './rbac.js';
import { bootstrapPolicy, reconcileBootstrapPolicy } from './bootstrap-policy.js';
import { createCachedRbacSource } from './rbac-cache.js';
import { ruleAllows } from './rbac-rules.js';
import type { RequestAttributes } from './rbac-types.js';
import { fixtureObjects, fixtureSource, USERS, crole } from './rbac.fixture.js';

const res = (verb: string, resource: string, o: Partial<RequestAttributes> = {}): RequestAttributes => ({
  resourceRequest: true,
  verb,
  resource,
  apiGroup: '',
  ...o,
});
const url = (verb: string, path: string): RequestAttributes => ({ resourceRequest: false, verb, path });

type Case = [string, keyof typeof USERS, RequestAttributes, boolean, RegExp?];
const CASES: Case[] = [
  ['masters may do anything', 'admin', res('delete', 'nodes', { name: 'n1' }), true],
  ['masters, non-resource', 'admin', url('post', '/anything'), true],
  [
    'direct ClusterRoleBinding',
    'alice',
    res('list', 'pods', { namespace: 'x' }),
    true,
    /ClusterRoleBinding "alice-pods" of ClusterRole "pod-reader" to User "alice"/,
  ],
  ['cluster-scoped list across namespaces', 'alice', res('list', 'pods'), true],
  ['explicit subresource', 'alice', res('get', 'pods', { subresource: 'log', namespace: 'x', name: 'p' }), true],
  [
    'other subresource not granted',
    'alice',
    res('create', 'pods', { subresource: 'exec', namespace: 'x', name: 'p' }),
    false,
  ],
  ['verb not granted', 'alice', res('delete', 'pods', { namespace: 'x', name: 'p' }), false],
  ['group must match', 'alice', res('get', 'pods', { apiGroup: 'apps', namespace: 'x' }), false],
  [
    'RoleBinding to aggregated ClusterRole edit',
    'bob',
    res('create', 'deployments', { apiGroup: 'apps', namespace: 'dev' }),
    true,
    /RoleBinding "devs-edit\/dev" of ClusterRole "edit" to Group "devs"/,
  ],
  [
    'RoleBinding is namespace-scoped',
    'bob',
    res('create', 'deployments', { apiGroup: 'apps', namespace: 'prod' }),
    false,
  ],
  ['RoleBinding does not grant cluster scope', 'bob', res('list', 'deployments', { apiGroup: 'apps' }), false],
  [
    'aggregation is transitive: view → edit',
    'bob',
    res('list', 'widgets', { apiGroup: 'example.com', namespace: 'dev' }),
    true,
  ],
  [
    'edit cannot manage roles',
    'bob',
    res('create', 'roles', { apiGroup: 'rbac.authorization.k8s.io', namespace: 'dev' }),
    false,
  ],
  ['edit reads secrets', 'bob', res('get', 'secrets', { namespace: 'dev', name: 's' }), true],
  [
    'admin manages rolebindings',
    'dave',
    res('create', 'rolebindings', { apiGroup: 'rbac.authorization.k8s.io', namespace: 'prod' }),
    true,
  ],
  [
    'aggregation is transitive: view → edit → admin',
    'dave',
    res('get', 'widgets', { apiGroup: 'example.com', namespace: 'prod', name: 'w' }),
    true,
  ],
  [
    'ServiceAccount subject defaults to the binding namespace',
    'builder',
    res('create', 'secrets', { namespace: 'dev' }),
    true,
    /ServiceAccount "dev\/builder"/,
  ],
  ['ServiceAccount binding only in its namespace', 'builder', res('create', 'secrets', { namespace: 'prod' }), false],
  ['same SA name, other namespace', 'otherBuilder', res('create', 'secrets', { namespace: 'dev' }), false],
  [
    "*/scale matches any resource's scale",
    'deployer',
    res('update', 'deployments', { apiGroup: 'apps', subresource: 'scale', namespace: 'dev', name: 'd' }),
    true,
  ],
  [
    '*/scale on statefulsets',
    'deployer',
    res('update', 'statefulsets', { apiGroup: 'apps', subresource: 'scale', namespace: 'dev', name: 's' }),
    true,
  ],
  [
    '*/scale is not the resource itself',
    'deployer',
    res('update', 'deployments', { apiGroup: 'apps', namespace: 'dev', name: 'd' }),
    false,
  ],
  ['resourceNames: the named object', 'carol', res('get', 'configmaps', { namespace: 'a', name: 'app-config' }), true],
  ['resourceNames: another object', 'carol', res('get', 'configmaps', { namespace: 'a', name: 'other' }), false],
  ['resourceNames: no name (list)', 'carol', res('get', 'configmaps', { namespace: 'a' }), false],
  ['nonResourceURL exact', 'carol', url('get', '/metrics'), true],
  ['nonResourceURL prefix', 'carol', url('get', '/logs/kube-apiserver.log'), true],
  ['nonResourceURL prefix needs the slash', 'carol', url('get', '/logs'), false],
  ['nonResourceURL verb', 'carol', url('post', '/metrics'), false],
  ['discovery for every authenticated user', 'nobody', url('get', '/apis/apps/v1'), true, /system:discovery/],
  [
    'self access reviews for every authenticated user',
    'nobody',
    res('create', 'selfsubjectaccessreviews', { apiGroup: 'authorization.k8s.io' }),
    true,
  ],
  ['no metrics for ordinary users', 'nobody', url('get', '/metrics'), false],
  ['nothing else for ordinary users', 'nobody', res('list', 'pods', { namespace: 'default' }), false],
  ['public info for anonymous', 'anonymous', url('get', '/healthz'), true],
  ['no discovery for anonymous', 'anonymous', url('get', '/api'), false],
  [
    'binding to a missing role: denied, says why',
    'eve',
    res('get', 'pods', { namespace: 'dev' }),
    false,
    /Role "does-not-exist", which was not found/,
  ],
];

test('RBAC authorization decisions', async () => {
  const authz = createRbacAuthorizer(fixtureSource());
  for (const [name, who, attrs, allowed, reason] of CASES) {
    const d = await authz.authorize(USERS[who], attrs);
    assert.equal(d.allowed, allowed, `${name}: ${JSON.stringify(d)}`);
    if (reason) assert.match(d.reason, reason, name);
  }
});

test('aggregateClusterRoles computes admin ⊃ edit ⊃ view and survives cycles', () => {
  const { clusterRoles } = fixtureObjects();
  const agg = aggregateClusterRoles(clusterRoles);
  const allows = (role: string, a: RequestAttributes) => agg.get(role)!.some((r) => ruleAllows(a, r));
  const widgets = res('list', 'widgets', { apiGroup: 'example.com' });
  for (const r of ['view', 'edit', 'admin']) assert.ok(allows(r, widgets), r);
  assert.ok(!allows('view', res('create', 'pods')));
  assert.ok(allows('edit', res('create', 'pods')) && allows('admin', res('create', 'pods')));
  assert.ok(!allows('edit', res('create', 'roles', { apiGroup: 'rbac.authorization.k8s.io' })));
  assert.ok(allows('admin', res('create', 'roles', { apiGroup: 'rbac.authorization.k8s.io' })));
  assert.ok(!allows('view', res('get', 'secrets')), 'view does not read secrets');
  const keys = agg.get('admin')!.map((r) => JSON.stringify(r));
  assert.equal(new Set(keys).size, keys.length, 'no duplicate rules');

  const a = crole('a', [{ verbs: ['get'], apiGroups: [''], resources: ['a'] }], { x: 'a' });
  a.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { x: 'b' } }] };
  const b = crole('b', [{ verbs: ['get'], apiGroups: [''], resources: ['b'] }], { x: 'b' });
  b.aggregationRule = { clusterRoleSelectors: [{ matchExpressions: [{ key: 'x', operator: 'In', values: ['a'] }] }] };
  const c = crole('c', [{ verbs: ['get'], apiGroups: [''], resources: ['c'] }], { x: 'b' });
  const cyc = aggregateClusterRoles([a, b, c]);
  assert.ok(cyc.get('a')!.some((r) => r.resources?.includes('c')));
});

test('rulesFor lists the rules of every applicable binding', async () => {
  const authz = createRbacAuthorizer(fixtureSource());
  const bob = await authz.rulesFor(USERS.bob, 'dev');
  assert.deepEqual(bob.errors, []);
  assert.ok(bob.rules.some((r) => r.resources?.includes('deployments') && r.verbs.includes('create')));
  assert.ok(
    bob.rules.some((r) => r.nonResourceURLs?.includes('/api')),
    'discovery rules from system:authenticated',
  );
  const bobProd = await authz.rulesFor(USERS.bob, 'prod');
  assert.ok(!bobProd.rules.some((r) => r.resources?.includes('deployments')));
  const eve = await authz.rulesFor(USERS.eve, 'dev');
  assert.equal(eve.errors.length, 1);
  await assert.rejects(authz.roleRefRules({ kind: 'Role', name: 'nope' }, 'dev'), (e: any) => e.code === 'NotFound');
});

test('the cached source reads once until something changes', async () => {
  const inner = fixtureSource();
  const cached = createCachedRbacSource(inner);
  const authz = createRbacAuthorizer(cached);
  for (let i = 0; i < 5; i++)
    assert.ok((await authz.authorize(USERS.bob, res('get', 'pods', { namespace: 'dev' }))).allowed);
  assert.deepEqual(inner.calls.sort(), ['clusterrolebindings', 'clusterroles', 'rolebindings/dev']);
  cached.onChange('rolebindings', 'prod');
  await authz.authorize(USERS.bob, res('get', 'pods', { namespace: 'dev' }));
  assert.equal(inner.calls.length, 3, 'another namespace changed: still cached');
  cached.onChange('rolebindings', 'dev');
  await authz.authorize(USERS.bob, res('get', 'pods', { namespace: 'dev' }));
  assert.equal(inner.calls.filter((c) => c === 'rolebindings/dev').length, 2);
  cached.onChange();
  await authz.authorize(USERS.bob, res('get', 'pods', { namespace: 'dev' }));
  assert.equal(inner.calls.filter((c) => c === 'clusterroles').length, 2);
  // A failing load is not cached.
  let fail = true;
  const flaky = createCachedRbacSource({
    ...inner,
    async listClusterRoleBindings() {
      if (fail) throw new Error('store down');
      return [];
    },
  });
  await assert.rejects(flaky.listClusterRoleBindings());
  fail = false;
  assert.deepEqual(await flaky.listClusterRoleBindings(), []);
});

test('reconcileBootstrapPolicy creates what is missing and adds, never removes, on autoupdate objects', () => {
  const fresh = reconcileBootstrapPolicy({ clusterRoles: [], clusterRoleBindings: [] });
  assert.equal(fresh.update.length, 0);
  assert.ok(fresh.create.some((o) => o.metadata.name === 'cluster-admin' && o.kind === 'ClusterRole'));
  assert.ok(fresh.create.some((o) => o.metadata.name === 'system:discovery' && o.kind === 'ClusterRoleBinding'));

  const p = bootstrapPolicy();
  assert.deepEqual(reconcileBootstrapPolicy(p), { create: [], update: [] }, 'up to date: nothing to do');

  const roles = bootstrapPolicy().clusterRoles;
  const view = roles.find((r) => r.metadata.name === 'system:aggregate-to-view')!;
  view.rules = view.rules!.slice(1).concat([{ verbs: ['get'], apiGroups: ['x.io'], resources: ['mine'] }]);
  const basic = roles.find((r) => r.metadata.name === 'system:basic-user')!;
  basic.metadata.annotations = { 'rbac.authorization.kubernetes.io/autoupdate': 'false' };
  basic.rules = [];
  const bindings = bootstrapPolicy().clusterRoleBindings.filter((b) => b.metadata.name !== 'system:monitoring');
  const pub = bindings.find((b) => b.metadata.name === 'system:public-info-viewer')!;
  pub.subjects = [
    { kind: 'Group', name: 'system:authenticated', apiGroup: 'rbac.authorization.k8s.io' },
    { kind: 'User', name: 'extra', apiGroup: 'rbac.authorization.k8s.io' },
  ];
  const r = reconcileBootstrapPolicy({ clusterRoles: roles, clusterRoleBindings: bindings });
  assert.deepEqual(
    r.create.map((o) => o.metadata.name),
    ['system:monitoring'],
  );
  const names = r.update.map((o) => o.metadata.name).sort();
  assert.deepEqual(names, ['system:aggregate-to-view', 'system:public-info-viewer']);
  const v = r.update.find((o) => o.metadata.name === 'system:aggregate-to-view') as any;
  assert.equal(
    v.rules.length,
    bootstrapPolicy().clusterRoles.find((x) => x.metadata.name === 'system:aggregate-to-view')!.rules!.length + 1,
    'missing rule back, user rule kept',
  );
  const b = r.update.find((o) => o.metadata.name === 'system:public-info-viewer') as any;
  assert.deepEqual(
    b.subjects.map((s: any) => s.name),
    ['system:authenticated', 'extra', 'system:unauthenticated'],
  );
});
