import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRbacAuthorizer } from './rbac.js';
import { impersonate } from './impersonation.js';
import { fixtureObjects, fixtureSource, USERS, crole, rb } from './rbac.fixture.js';

const objs = fixtureObjects();
objs.clusterRoles.push(
  crole('impersonate-some', [
    { verbs: ['impersonate'], apiGroups: [''], resources: ['users'], resourceNames: ['bob'] },
    { verbs: ['impersonate'], apiGroups: [''], resources: ['groups'], resourceNames: ['devs'] },
    { verbs: ['impersonate'], apiGroups: [''], resources: ['serviceaccounts'] },
    { verbs: ['impersonate'], apiGroups: ['authentication.k8s.io'], resources: ['userextras/scopes'] },
  ]),
);
objs.clusterRoleBindings.push({
  ...rb('', 'alice-imp', 'ClusterRole', 'impersonate-some', [{ kind: 'User', name: 'alice' }]),
  kind: 'ClusterRoleBinding',
  metadata: { name: 'alice-imp' },
});
const authz = createRbacAuthorizer(fixtureSource(objs));

test('no impersonation headers: the requester', async () => {
  assert.deepEqual(await impersonate(authz, USERS.alice, { accept: 'application/json' }), {
    user: USERS.alice,
    impersonated: false,
  });
});

test('allowed impersonation switches identity, adding system:authenticated as upstream', async () => {
  const r = await impersonate(authz, USERS.alice, { 'impersonate-user': 'bob', 'impersonate-group': 'devs' });
  assert.deepEqual(r, { user: { username: 'bob', groups: ['devs', 'system:authenticated'] }, impersonated: true });
  // The impersonated identity is then authorized as itself.
  const bob = (r as any).user;
  assert.equal(
    (
      await authz.authorize(bob, {
        resourceRequest: true,
        verb: 'create',
        apiGroup: 'apps',
        resource: 'deployments',
        namespace: 'dev',
      })
    ).allowed,
    true,
  );

  const sa = await impersonate(authz, USERS.alice, { 'impersonate-user': 'system:serviceaccount:dev:builder' });
  assert.deepEqual((sa as any).user.groups, [
    'system:serviceaccounts',
    'system:serviceaccounts:dev',
    'system:authenticated',
  ]);
  const extra = await impersonate(authz, USERS.alice, {
    'impersonate-user': 'bob',
    'impersonate-extra-scopes': ['a', 'b'],
  });
  assert.deepEqual((extra as any).user.extra, { scopes: ['a', 'b'] });
  const masters = await impersonate(authz, USERS.admin, {
    'impersonate-user': 'anyone',
    'impersonate-uid': 'u1',
    'impersonate-group': 'g1, g2',
  });
  assert.deepEqual((masters as any).user, {
    username: 'anyone',
    uid: 'u1',
    groups: ['g1', 'g2', 'system:authenticated'],
  });
  const anon = await impersonate(authz, USERS.admin, { 'impersonate-user': 'system:anonymous' });
  assert.deepEqual((anon as any).user.groups, ['system:unauthenticated']);
});

test('each impersonated attribute needs its own permission', async () => {
  const cases: [Record<string, string | string[]>, RegExp][] = [
    [
      { 'impersonate-user': 'carol' },
      /users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope/,
    ],
    [{ 'impersonate-user': 'bob', 'impersonate-group': 'system:masters' }, /groups "system:masters" is forbidden/],
    [{ 'impersonate-user': 'bob', 'impersonate-uid': 'x' }, /uids.authentication.k8s.io "x" is forbidden/],
    [{ 'impersonate-user': 'bob', 'impersonate-extra-other': 'v' }, /cannot impersonate resource "userextras\/other"/],
  ];
  for (const [headers, message] of cases) {
    const r = await impersonate(authz, USERS.alice, headers);
    assert.ok('forbidden' in r, JSON.stringify(headers));
    assert.equal(r.forbidden.code, 403);
    assert.match(r.forbidden.message, message);
  }
  const bob = await impersonate(authz, USERS.bob, {
    'impersonate-user': 'skiff-admin',
    'impersonate-group': 'system:masters',
  });
  assert.ok('forbidden' in bob);
  await assert.rejects(
    impersonate(authz, USERS.admin, { 'impersonate-group': 'g' }),
    (e: any) => e.code === 'InvalidArgument' && e.field === 'Impersonate-User',
  );
});
