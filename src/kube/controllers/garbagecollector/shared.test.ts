// The garbage collector follows the kinds other controllers already watch through their shared
// informers: one pod watch for the whole controller set, and dependents still collected. (Checked
// to fail with the garbage collector on watches of its own: two pod watches.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../common/index.js';
import { startControllers } from '../set.js';
import { startTestApi, until } from '../../../../test/fixtures/kube-api.js';

test('one pod watch for the garbage collector and the pod GC together; a pod whose owner goes is collected', async () => {
  const api = await startTestApi();
  const client = api.newClient('skiff-controllers');
  const watched: string[] = [];
  const stream = client.stream.bind(client);
  client.stream = (path, opts) => {
    watched.push(path);
    return stream(path, opts);
  };
  const log = createLogger({}, { level: 'warn' });
  const ctl = await startControllers(client, { log, controllers: ['garbagecollector', 'pod-garbage-collector'] });
  try {
    await until('the pod watch open', () => watched.some((p) => p === '/api/v1/pods'));
    const c = api.client;
    const owner = await c.request('POST', '/api/v1/namespaces/default/configmaps', {
      body: { metadata: { name: 'own' } },
    });
    await c.request('POST', '/api/v1/namespaces/default/pods', {
      body: {
        metadata: {
          name: 'dep',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'own', uid: owner.metadata.uid }],
        },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      },
    });
    await c.request('DELETE', '/api/v1/namespaces/default/configmaps/own');
    await until('the dependent pod collected', async () => {
      const p = await c.request('GET', '/api/v1/namespaces/default/pods/dep').catch(() => undefined);
      return !p || Boolean(p.metadata.deletionTimestamp);
    });
    assert.deepEqual(
      watched.filter((p) => p === '/api/v1/pods'),
      ['/api/v1/pods'],
      `pod watches opened: ${watched.join(' ')}`,
    );
  } finally {
    ctl.stop();
    await api.close();
  }
});
