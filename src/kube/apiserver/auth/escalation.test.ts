import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRbacAuthorizer } from './rbac.js';
import { checkEscalation, checkRbacWrite } from './escalation.js';
import type { PolicyRule } from './rbac-types.js';
import { fixtureSource, USERS, role, rb, crole } from './rbac.fixture.js';

const authz = createRbacAuthorizer(fixtureSource());
const RBAC = 'rbac.authorization.k8s.io';

test('creating a Role: allowed only with rules the user holds in that namespace', async () => {
  const ok = await checkEscalation(authz, USERS.bob, {
    kind: 'Role',
    object: role('dev', 'r', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }]),
  });
  assert.deepEqual(ok, { allowed: true, reason: '' });

  const grantRoles: PolicyRule[] = [
    { verbs: ['create'], apiGroups: [RBAC], resources: ['roles'] },
    { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
  ];
  const no = await checkEscalation(authz, USERS.bob, { kind: 'Role', object: role('dev', 'r', grantRoles) });
  assert.equal(no.allowed, false);
  assert.match(
    no.reason,
    /user "bob" \(groups=\["devs","system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\["rbac.authorization.k8s.io"\], Resources:\["roles"\], Verbs:\["create"\]\}/,
  );
  assert.doesNotMatch(no.reason, /pods/, 'only the missing rules are listed');

  const otherNs = await checkEscalation(authz, USERS.bob, {
    kind: 'Role',
    object: role('prod', 'r', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]),
  });
  assert.equal(otherNs.allowed, false, 'bob holds nothing in prod');
});

test('resourceNames, subresources and */scale are compared as upstream', async () => {
  const named = (names?: string[]) =>
    role('x', 'r', [
      { verbs: ['get'], apiGroups: [''], resources: ['configmaps'], ...(names ? { resourceNames: names } : {}) },
    ]);
  assert.equal(
    (await checkEscalation(authz, USERS.carol, { kind: 'Role', object: named(['app-config']) })).allowed,
    true,
  );
  assert.equal(
    (await checkEscalation(authz, USERS.carol, { kind: 'Role', object: named(['app-config', 'other']) })).allowed,
    false,
  );
  assert.equal(
    (await checkEscalation(authz, USERS.carol, { kind: 'Role', object: named() })).allowed,
    false,
    'all names is more than one name',
  );
  const scale = role('dev', 'r', [
    { verbs: ['update'], apiGroups: ['apps'], resources: ['deployments/scale', 'statefulsets/scale'] },
  ]);
  assert.equal((await checkEscalation(authz, USERS.deployer, { kind: 'Role', object: scale })).allowed, true);
  const whole = role('dev', 'r', [{ verbs: ['update'], apiGroups: ['apps'], resources: ['deployments'] }]);
  assert.equal((await checkEscalation(authz, USERS.deployer, { kind: 'Role', object: whole })).allowed, false);
  const urls = crole('u', [{ verbs: ['get'], nonResourceURLs: ['/logs/a', '/metrics'] }]);
  assert.equal((await checkEscalation(authz, USERS.carol, { kind: 'ClusterRole', object: urls })).allowed, true);
  const moreUrls = crole('u', [{ verbs: ['get'], nonResourceURLs: ['/logs*'] }]);
  assert.equal((await checkEscalation(authz, USERS.carol, { kind: 'ClusterRole', object: moreUrls })).allowed, false);
});

test("bindings: allowed when the user holds the role's rules or may `bind` it", async () => {
  assert.equal(
    (
      await checkEscalation(authz, USERS.bob, {
        kind: 'RoleBinding',
        object: rb('dev', 'b', 'ClusterRole', 'view', [{ kind: 'User', name: 'x' }]),
      })
    ).allowed,
    true,
    'edit covers view',
  );
  const admin = await checkEscalation(authz, USERS.bob, {
    kind: 'RoleBinding',
    object: rb('dev', 'b', 'ClusterRole', 'admin', [{ kind: 'User', name: 'x' }]),
  });
  assert.equal(admin.allowed, false);
  assert.match(admin.reason, /roles/);
  // frank holds nothing but `bind` on clusterroles/admin in dev.
  assert.equal(
    (
      await checkEscalation(authz, USERS.frank, {
        kind: 'RoleBinding',
        object: rb('dev', 'b', 'ClusterRole', 'admin', [{ kind: 'User', name: 'x' }]),
      })
    ).allowed,
    true,
  );
  assert.equal(
    (
      await checkEscalation(authz, USERS.frank, {
        kind: 'RoleBinding',
        object: rb('dev', 'b', 'ClusterRole', 'edit', [{ kind: 'User', name: 'x' }]),
      })
    ).allowed,
    false,
    'bind is per role name',
  );
  assert.equal(
    (
      await checkEscalation(authz, USERS.frank, {
        kind: 'RoleBinding',
        object: rb('prod', 'b', 'ClusterRole', 'admin', [{ kind: 'User', name: 'x' }]),
      })
    ).allowed,
    false,
    'bind is per namespace',
  );
  await assert.rejects(
    checkEscalation(authz, USERS.bob, { kind: 'RoleBinding', object: rb('dev', 'b', 'Role', 'missing', []) }),
    (e: any) => e.code === 'NotFound',
  );
  const crbAdmin = {
    ...rb('', 'b', 'ClusterRole', 'cluster-admin', [{ kind: 'User', name: 'bob' }]),
    kind: 'ClusterRoleBinding',
    metadata: { name: 'b' },
  };
  assert.equal(
    (await checkEscalation(authz, USERS.bob, { kind: 'ClusterRoleBinding', object: crbAdmin })).allowed,
    false,
  );
  assert.equal(
    (await checkEscalation(authz, USERS.admin, { kind: 'ClusterRoleBinding', object: crbAdmin })).allowed,
    true,
    'system:masters',
  );
});

test('escalate verb, aggregation rules, and updates that grant nothing new', async () => {
  const big = role('dev', 'r', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
  assert.equal(
    (await checkEscalation(authz, USERS.grace, { kind: 'Role', object: big })).allowed,
    true,
    'grace may escalate roles in dev',
  );
  assert.equal((await checkEscalation(authz, USERS.bob, { kind: 'Role', object: big })).allowed, false);

  const agg = crole('sneaky', []);
  agg.aggregationRule = { clusterRoleSelectors: [{ matchLabels: { any: 'thing' } }] };
  const d = await checkEscalation(authz, USERS.bob, { kind: 'ClusterRole', object: agg });
  assert.deepEqual(d, { allowed: false, reason: 'must have cluster-admin privileges to use the aggregationRule' });
  assert.equal((await checkEscalation(authz, USERS.admin, { kind: 'ClusterRole', object: agg })).allowed, true);

  // Relabelling an existing powerful role grants nothing new.
  const relabelled = { ...big, metadata: { ...big.metadata, labels: { a: 'b' } } };
  assert.equal((await checkEscalation(authz, USERS.bob, { kind: 'Role', object: relabelled, old: big })).allowed, true);
  const binding = rb('dev', 'b', 'ClusterRole', 'admin', [{ kind: 'User', name: 'x' }]);
  assert.equal(
    (
      await checkEscalation(authz, USERS.bob, {
        kind: 'RoleBinding',
        object: { ...binding, metadata: { ...binding.metadata, labels: { a: 'b' } } },
        old: binding,
      })
    ).allowed,
    true,
  );
  assert.equal(
    (
      await checkEscalation(authz, USERS.bob, {
        kind: 'RoleBinding',
        object: { ...binding, subjects: [{ kind: 'User', name: 'bob' }] },
        old: binding,
      })
    ).allowed,
    false,
    'new subjects are checked',
  );
});

test('checkRbacWrite applies the check to RBAC creates and updates only', async () => {
  const big = role('dev', 'r', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
  assert.equal(
    (await checkRbacWrite(authz, USERS.bob, { op: 'create', group: RBAC, kind: 'Role', object: big })).allowed,
    false,
  );
  assert.equal(
    (
      await checkRbacWrite(authz, USERS.bob, {
        op: 'update',
        group: RBAC,
        kind: 'Role',
        object: big,
        old: role('dev', 'r', []),
      })
    ).allowed,
    false,
  );
  assert.equal(
    (await checkRbacWrite(authz, USERS.bob, { op: 'delete', group: RBAC, kind: 'Role', object: big })).allowed,
    true,
  );
  assert.equal(
    (await checkRbacWrite(authz, USERS.bob, { op: 'create', group: '', kind: 'ConfigMap', object: { metadata: {} } }))
      .allowed,
    true,
  );
  const up = rb('dev', 'up', 'ClusterRole', 'cluster-admin', [{ kind: 'User', name: 'bob' }]);
  const d = await checkRbacWrite(authz, USERS.bob, { op: 'create', group: RBAC, kind: 'RoleBinding', object: up });
  assert.equal(d.allowed, false);
  assert.match(d.reason, /attempting to grant RBAC permissions not currently held/);
});
