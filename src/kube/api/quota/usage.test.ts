// The quota evaluators: pod usage with init containers and sidecars (upstream's PodRequests),
// terminal pods, Services' node ports, claims per storage class, scopes, the must-specify rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUsage, matchesScopes, matchingResources, objectUsage, podConstraint } from './usage.js';

const c = (name: string, cpu?: string, limit?: string, extra: Record<string, unknown> = {}) => ({
  name,
  resources: { ...(cpu ? { requests: { cpu } } : {}), ...(limit ? { limits: { cpu: limit } } : {}) },
  ...extra,
});

test('pod usage: containers summed, the larger init step, sidecars alongside; terminal pods count only as objects', () => {
  const pod = {
    spec: {
      containers: [c('a', '100m', '200m'), c('b', '300m')],
      initContainers: [c('init', '1'), c('side', '50m', undefined, { restartPolicy: 'Always' })],
    },
  };
  assert.equal(formatUsage(objectUsage('', 'pods', pod)), 'count/pods=1,cpu=1,limits.cpu=200m,pods=1,requests.cpu=1');
  const light = {
    spec: { containers: [c('a', '100m')], initContainers: [c('side', '50m', undefined, { restartPolicy: 'Always' })] },
  };
  assert.equal(formatUsage(objectUsage('', 'pods', light)), 'count/pods=1,cpu=150m,pods=1,requests.cpu=150m');
  assert.equal(formatUsage(objectUsage('', 'pods', { ...pod, status: { phase: 'Succeeded' } })), 'count/pods=1');
});

test('services, claims and other kinds', () => {
  const np = { spec: { type: 'NodePort', ports: [{ port: 1 }, { port: 2 }] } };
  assert.equal(
    formatUsage(objectUsage('', 'services', np)),
    'count/services=1,services=1,services.loadbalancers=0,services.nodeports=2',
  );
  const pvc = { spec: { storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } } };
  assert.equal(
    formatUsage(objectUsage('', 'persistentvolumeclaims', pvc)),
    'count/persistentvolumeclaims=1,fast.storageclass.storage.k8s.io/persistentvolumeclaims=1,fast.storageclass.storage.k8s.io/requests.storage=5Gi,persistentvolumeclaims=1,requests.storage=5Gi',
  );
  assert.equal(formatUsage(objectUsage('apps', 'deployments', {})), 'count/deployments.apps=1');
  assert.deepEqual(matchingResources('', 'configmaps', ['configmaps', 'count/configmaps', 'pods']), [
    'configmaps',
    'count/configmaps',
  ]);
});

test('scopes and the must-specify rule', () => {
  const be = { spec: { containers: [c('a')] } };
  const burst = { spec: { containers: [c('a', '1')], activeDeadlineSeconds: 10, priorityClassName: 'high' } };
  const q = (scopes: string[], sel: unknown[] = []) => ({ spec: { scopes, scopeSelector: { matchExpressions: sel } } });
  assert.equal(matchesScopes(q(['BestEffort']), '', 'pods', be), true);
  assert.equal(matchesScopes(q(['BestEffort']), '', 'pods', burst), false);
  assert.equal(matchesScopes(q(['Terminating', 'NotBestEffort']), '', 'pods', burst), true);
  assert.equal(
    matchesScopes(q([], [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }]), '', 'pods', burst),
    true,
  );
  assert.equal(
    podConstraint({ spec: { containers: [c('x', '1'), c('y')] } }, ['requests.cpu', 'limits.cpu', 'pods']),
    'limits.cpu for: x,y; requests.cpu for: y',
  );
});
