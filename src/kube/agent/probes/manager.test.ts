// The probe manager's lifecycle: a pod sync that lands after stop() (a sync in flight when the
// agent stops) starts no worker, so no probe timer keeps the process alive; before stop() the same
// sync does start one (the probe runs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRuntime } from '../../../cri/index.js';
import type { EventRecorder } from '../events.js';
import type { Pod } from '../types.js';
import { ProbeManager } from './manager.js';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'live', namespace: 'default', uid: 'u-live' },
  spec: {
    containers: [{ name: 'main', image: 'busybox', livenessProbe: { exec: { command: ['fail'] }, periodSeconds: 1 } }],
  },
} as Pod;
const running = [{ id: 'c1', name: 'main', startedAt: Date.now() }];

function manager() {
  let execs = 0;
  // Only execSync is reached by an exec probe.
  const runtime = {
    execSync: async () => {
      execs++;
      return { exitCode: 1, stdout: Buffer.from('no'), stderr: Buffer.alloc(0) };
    },
  } as unknown as ContainerRuntime;
  const events: EventRecorder = { event: () => undefined };
  const m = new ProbeManager(
    runtime,
    events,
    (uid) => (uid === pod.metadata.uid ? pod : undefined),
    () => '127.0.0.1',
    () => undefined,
  );
  return { m, execs: () => execs };
}

test('a pod sync after stop() starts no probe worker', async () => {
  const live = manager();
  live.m.sync(pod, running);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(live.execs(), 1, 'a sync before stop() probes');
  live.m.stop();

  const late = manager();
  late.m.stop();
  late.m.sync(pod, running); // the in-flight sync of a stopped agent
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(late.execs(), 0, 'no probe after stop()');
  // Nothing left armed: this file's process would not exit otherwise (the test runner waits).
  assert.ok(!process.getActiveResourcesInfo().includes('Timeout'), String(process.getActiveResourcesInfo()));
});
