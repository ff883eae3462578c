import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRbacAuthorizer } from './rbac.js';
import { reviewAccess, reviewRules, reviewSubject, forbiddenStatus, unauthorizedStatus } from './review.js';
import { requestAttributes } from './request-info.js';
import { fixtureSource, USERS } from './rbac.fixture.js';

const authz = createRbacAuthorizer(fixtureSource());

test('access reviews answer as kubectl auth can-i expects', async () => {
  const yes = await reviewAccess(authz, USERS.bob, {
    resourceAttributes: { namespace: 'dev', verb: 'create', group: 'apps', resource: 'deployments' },
  });
  assert.equal(yes.allowed, true);
  assert.match(yes.reason ?? '', /RoleBinding "devs-edit\/dev"/);
  assert.deepEqual(
    await reviewAccess(authz, USERS.bob, {
      resourceAttributes: { namespace: 'prod', verb: 'create', group: 'apps', resource: 'deployments' },
    }),
    { allowed: false },
  );
  assert.equal(
    (
      await reviewAccess(authz, USERS.alice, {
        resourceAttributes: { namespace: 'x', verb: 'get', resource: 'pods', subresource: 'log' },
      })
    ).allowed,
    true,
  );
  assert.equal(
    (await reviewAccess(authz, USERS.carol, { nonResourceAttributes: { verb: 'get', path: '/logs/x' } })).allowed,
    true,
  );

  // SubjectAccessReview: the subject comes from the spec.
  const subject = reviewSubject({
    user: 'alice',
    groups: ['system:authenticated'],
    resourceAttributes: { verb: 'list', resource: 'pods' },
  });
  assert.deepEqual(subject, { username: 'alice', groups: ['system:authenticated'] });
  assert.equal(
    (await reviewAccess(authz, subject, { resourceAttributes: { verb: 'list', resource: 'pods' } })).allowed,
    true,
  );
});

test('malformed reviews are refused naming the field', async () => {
  await assert.rejects(
    reviewAccess(authz, USERS.bob, {}),
    (e: any) => e.code === 'InvalidArgument' && e.field === 'spec.resourceAttributes',
  );
  await assert.rejects(
    reviewAccess(authz, USERS.bob, { resourceAttributes: {}, nonResourceAttributes: {} }),
    (e: any) => e.field === 'spec.resourceAttributes',
  );
  await assert.rejects(
    reviewAccess(authz, USERS.bob, { resourceAttributes: { verb: 7 } }),
    (e: any) => e.field === 'spec.resourceAttributes.verb',
  );
  await assert.rejects(reviewAccess(authz, USERS.bob, 'nonsense'), (e: any) => e.code === 'InvalidArgument');
  assert.throws(
    () => reviewSubject({ resourceAttributes: { verb: 'get' } }),
    (e: any) => e.field === 'spec.user',
  );
});

test('rules reviews list resource and non-resource rules (kubectl auth can-i --list)', async () => {
  const s = await reviewRules(authz, USERS.bob, 'dev');
  assert.equal(s.incomplete, false);
  assert.ok(
    s.resourceRules.some(
      (r) => r.apiGroups?.includes('apps') && r.resources?.includes('deployments') && r.verbs.includes('create'),
    ),
  );
  assert.ok(s.resourceRules.some((r) => r.resources?.includes('selfsubjectaccessreviews')));
  assert.ok(s.nonResourceRules.some((r) => r.nonResourceURLs?.includes('/version')));
  assert.ok(s.resourceRules.every((r) => !('nonResourceURLs' in r)));
  const carol = await reviewRules(authz, USERS.carol, 'x');
  assert.deepEqual(carol.resourceRules.find((r) => r.resources?.includes('configmaps'))?.resourceNames, ['app-config']);
  const eve = await reviewRules(authz, USERS.eve, 'dev');
  assert.equal(eve.incomplete, true);
  assert.match(eve.evaluationError ?? '', /does-not-exist/);
});

test('401 and 403 Status bodies use upstream wording', () => {
  assert.deepEqual(unauthorizedStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Unauthorized',
    reason: 'Unauthorized',
    code: 401,
  });
  const f = forbiddenStatus(USERS.bob, {
    resourceRequest: true,
    verb: 'list',
    apiGroup: 'apps',
    resource: 'deployments',
    namespace: 'prod',
  });
  assert.equal(f.code, 403);
  assert.equal(f.reason, 'Forbidden');
  assert.equal(
    f.message,
    'deployments.apps is forbidden: User "bob" cannot list resource "deployments" in API group "apps" in the namespace "prod"',
  );
  assert.deepEqual(f.details, { group: 'apps', kind: 'deployments' });
  const g = forbiddenStatus(USERS.bob, {
    resourceRequest: true,
    verb: 'get',
    apiGroup: '',
    resource: 'pods',
    subresource: 'log',
    name: 'p1',
    namespace: 'x',
  });
  assert.equal(
    g.message,
    'pods "p1" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the namespace "x"',
  );
  const n = forbiddenStatus(
    USERS.bob,
    { resourceRequest: true, verb: 'list', apiGroup: '', resource: 'nodes' },
    'RBAC: something',
  );
  assert.equal(
    n.message,
    'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope: RBAC: something',
  );
  assert.equal(
    forbiddenStatus(USERS.anonymous, { resourceRequest: false, verb: 'get', path: '/api' }).message,
    'forbidden: User "system:anonymous" cannot get path "/api"',
  );
});

test('request attributes are derived from method and URL as upstream', () => {
  const cases: [string, string, Record<string, unknown>][] = [
    [
      'GET',
      '/api/v1/namespaces/default/pods',
      { verb: 'list', resource: 'pods', namespace: 'default', apiGroup: '', apiVersion: 'v1', name: '' },
    ],
    ['GET', '/api/v1/namespaces/default/pods?watch=true&resourceVersion=5', { verb: 'watch', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/default/pods?watch=1', { verb: 'watch' }],
    ['GET', '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb', { verb: 'list', name: 'web' }],
    ['GET', '/api/v1/namespaces/default/pods/web', { verb: 'get', name: 'web', subresource: '' }],
    ['GET', '/api/v1/namespaces/default/pods/web/log', { verb: 'get', subresource: 'log', name: 'web' }],
    ['POST', '/api/v1/namespaces/default/pods/web/exec?command=sh', { verb: 'create', subresource: 'exec' }],
    ['GET', '/api/v1/pods', { verb: 'list', resource: 'pods', namespace: '' }],
    [
      'DELETE',
      '/apis/apps/v1/namespaces/a/deployments',
      { verb: 'deletecollection', apiGroup: 'apps', resource: 'deployments', namespace: 'a' },
    ],
    ['DELETE', '/apis/apps/v1/namespaces/a/deployments/d', { verb: 'delete', name: 'd' }],
    ['PATCH', '/apis/apps/v1/namespaces/a/deployments/d/scale', { verb: 'patch', subresource: 'scale' }],
    ['PUT', '/apis/apps/v1/namespaces/a/deployments/d/status', { verb: 'update', subresource: 'status' }],
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces', namespace: '' }],
    [
      'GET',
      '/api/v1/namespaces/kube-system',
      { verb: 'get', resource: 'namespaces', name: 'kube-system', namespace: 'kube-system' },
    ],
    [
      'PUT',
      '/api/v1/namespaces/ns1/finalize',
      { verb: 'update', resource: 'namespaces', name: 'ns1', subresource: 'finalize' },
    ],
    ['GET', '/api/v1/watch/namespaces/default/pods', { verb: 'watch', resource: 'pods', namespace: 'default' }],
    [
      'GET',
      '/api/v1/namespaces/default/services/web:80/proxy/x',
      { verb: 'get', subresource: 'proxy', name: 'web:80' },
    ],
    [
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      { verb: 'create', apiGroup: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' },
    ],
    [
      'GET',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/admin',
      { verb: 'get', resource: 'clusterroles', name: 'admin', namespace: '' },
    ],
  ];
  for (const [method, url, want] of cases) {
    const got = requestAttributes(method, url) as unknown as Record<string, unknown>;
    assert.equal(got.resourceRequest, true, url);
    for (const [k, v] of Object.entries(want)) assert.equal(got[k], v, `${method} ${url}: ${k}`);
  }
  for (const url of [
    '/healthz',
    '/version',
    '/api',
    '/api/v1',
    '/apis',
    '/apis/apps',
    '/apis/apps/v1',
    '/openapi/v3',
  ]) {
    const a = requestAttributes('GET', url);
    assert.deepEqual(a, { resourceRequest: false, verb: 'get', path: url.split('?')[0] }, url);
  }
  assert.equal(requestAttributes('POST', '/logs/x').verb, 'post');
  // Odd request targets never throw.
  assert.deepEqual(requestAttributes('GET', '//'), { resourceRequest: false, verb: 'get', path: '//' });
  assert.equal(requestAttributes('GET', 'https://h:6443/api/v1/pods?watch=1').verb, 'watch');
  assert.equal(requestAttributes('GET', '/api/v1/namespaces/%zz/pods').namespace, '%zz');
});
