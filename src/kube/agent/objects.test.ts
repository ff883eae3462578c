// The agent's ConfigMap/Secret watches after stop(): a pod registered by a sync still in flight
// when the agent stops starts no watch, and an informer whose client is closed stops retrying, so
// nothing keeps the process alive (a leftover informer retrying every 10 s on a closed client held
// agent-volumes.test.ts open after its last test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../common/index.js';
import { Informer, KubeClient } from '../client/index.js';
import { ObjectCache } from './objects.js';
import type { Pod } from './types.js';

const log = createLogger({}, { level: 'error' });
const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', uid: 'u-p' },
  spec: {
    volumes: [{ name: 'c', configMap: { name: 'kube-root-ca.crt' } }],
    containers: [{ name: 'main', image: 'busybox' }],
  },
} as Pod;
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const settle = () => new Promise((r) => setTimeout(r, 500));

test('a pod registered after stop() starts no watch', async () => {
  // No API server behind it: a watch started would fail and retry on a timer.
  const client = new KubeClient({ socketPath: '/nonexistent/skiff-objects-test.sock' });
  const cache = new ObjectCache(client, log, () => undefined);
  cache.stop();
  cache.register(pod);
  await settle();
  assert.equal(timers(), 0, String(process.getActiveResourcesInfo()));
  client.close();
});

test('an informer whose client is closed stops retrying', async () => {
  const client = new KubeClient({ socketPath: '/nonexistent/skiff-objects-test.sock' });
  client.close();
  const inf = new Informer(
    client,
    { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true },
    {},
  );
  await inf.start(); // resolves unsynced, as after any failure
  assert.equal(inf.hasSynced, false);
  await settle();
  assert.equal(timers(), 0, String(process.getActiveResourcesInfo()));
  inf.stop();
});
