// computePodActions, table-driven: what a sync must do for a given pod and runtime state.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerHash } from '../labels.js';
import type { Container, Pod } from '../types.js';
import { computePodActions, type ProbeView } from './actions.js';
import type { RuntimeContainer, RuntimePod, RuntimeSandbox } from './runtime-state.js';

const c = (name: string, extra: Partial<Container> = {}): Container => ({ name, image: 'busybox', ...extra });
const pod = (spec: Partial<Pod['spec']> = {}, meta: Partial<Pod['metadata']> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'default', uid: 'u1', ...meta },
  spec: { containers: [c('main')], restartPolicy: 'Always', ...spec },
});
const sb = (extra: Partial<RuntimeSandbox> = {}): RuntimeSandbox => ({
  id: 'sb1',
  ready: true,
  createdAt: 1,
  attempt: 0,
  ips: ['10.42.0.2'],
  hostNetwork: false,
  ...extra,
});
let n = 0;
const rc = (
  spec: Container,
  state: RuntimeContainer['state'],
  extra: Partial<RuntimeContainer> = {},
): RuntimeContainer => ({
  id: `c${++n}`,
  name: spec.name,
  state,
  createdAt: 100 - n,
  startedAt: 1,
  finishedAt: state === 'exited' ? 2 : 0,
  exitCode: 0,
  reason: '',
  message: '',
  image: 'busybox',
  imageRef: 'sha256:x',
  hash: containerHash(spec),
  restartCount: 0,
  type: 'regular',
  logPath: '',
  mounts: [],
  ...extra,
});
const rp = (sandboxes: RuntimeSandbox[], containers: RuntimeContainer[]): RuntimePod => ({
  uid: 'u1',
  sandboxes,
  containers,
});
const healthy: ProbeView = { livenessFailed: () => false, startupFailed: () => false, started: () => true };
const names = (cs: Container[]) => cs.map((x) => x.name);

describe('computePodActions', () => {
  it('creates the sandbox and starts the containers of a new pod', () => {
    const a = computePodActions(pod(), rp([], []), healthy);
    assert.equal(a.createSandbox, true);
    assert.equal(a.attempt, 0);
    assert.deepEqual(names(a.toStart), ['main']);
  });

  it('does nothing for a running pod', () => {
    const p = pod();
    const a = computePodActions(p, rp([sb()], [rc(p.spec.containers[0], 'running')]), healthy);
    assert.equal(a.createSandbox, false);
    assert.equal(a.killPod, false);
    assert.deepEqual(a.toStart, []);
    assert.deepEqual(a.toKill, []);
  });

  it('recreates a dead sandbox with the next attempt', () => {
    const p = pod();
    const a = computePodActions(
      p,
      rp([sb({ ready: false, attempt: 2 })], [rc(p.spec.containers[0], 'exited')]),
      healthy,
    );
    assert.equal(a.createSandbox, true);
    assert.equal(a.killPod, true);
    assert.equal(a.attempt, 3);
  });

  it('does not recreate the sandbox of a finished restartPolicy Never pod', () => {
    const p = pod({ restartPolicy: 'Never' });
    const a = computePodActions(p, rp([sb({ ready: false })], [rc(p.spec.containers[0], 'exited')]), healthy);
    assert.equal(a.createSandbox, false);
  });

  it('restarts by policy: Always restarts, OnFailure only failures, Never nothing', () => {
    const ok = (policy: 'Always' | 'OnFailure' | 'Never', exitCode: number) => {
      const p = pod({ restartPolicy: policy });
      return names(
        computePodActions(p, rp([sb()], [rc(p.spec.containers[0], 'exited', { exitCode })]), healthy).toStart,
      );
    };
    assert.deepEqual(ok('Always', 0), ['main']);
    assert.deepEqual(ok('OnFailure', 0), []);
    assert.deepEqual(ok('OnFailure', 1), ['main']);
    assert.deepEqual(ok('Never', 1), []);
  });

  it('kills and restarts a container whose liveness probe failed', () => {
    const p = pod();
    const r = rc(p.spec.containers[0], 'running');
    const a = computePodActions(p, rp([sb()], [r]), { ...healthy, livenessFailed: (_u, id) => id === r.id });
    assert.deepEqual(
      a.toKill.map((k) => [k.id, k.reason, k.message]),
      [[r.id, 'liveness', 'Container main failed liveness probe, will be restarted']],
    );
    assert.deepEqual(names(a.toStart), ['main']);
  });

  it('restarts a container whose spec changed (a new image)', () => {
    const p = pod();
    const r = rc(c('main', { image: 'old' }), 'running');
    const a = computePodActions(p, rp([sb()], [r]), healthy);
    assert.equal(a.toKill[0].reason, 'changed');
    assert.deepEqual(names(a.toStart), ['main']);
  });

  it('runs init containers one at a time, in order, before the containers', () => {
    const i1 = c('i1');
    const i2 = c('i2');
    const p = pod({ initContainers: [i1, i2] });
    assert.deepEqual(names(computePodActions(p, rp([sb()], []), healthy).initToStart), ['i1']);
    const running = computePodActions(p, rp([sb()], [rc(i1, 'running', { type: 'init' })]), healthy);
    assert.deepEqual([names(running.initToStart), names(running.toStart)], [[], []]);
    const next = computePodActions(p, rp([sb()], [rc(i1, 'exited', { type: 'init' })]), healthy);
    assert.deepEqual(names(next.initToStart), ['i2']);
    const done = computePodActions(
      p,
      rp([sb()], [rc(i1, 'exited', { type: 'init' }), rc(i2, 'exited', { type: 'init' })]),
      healthy,
    );
    assert.deepEqual([names(done.initToStart), names(done.toStart)], [[], ['main']]);
  });

  it('fails the pod when an init container fails with restartPolicy Never; retries it otherwise', () => {
    const i1 = c('i1');
    const failed = [rc(i1, 'exited', { type: 'init', exitCode: 2 })];
    assert.equal(
      computePodActions(pod({ initContainers: [i1], restartPolicy: 'Never' }), rp([sb()], failed), healthy).killPod,
      true,
    );
    const again = computePodActions(pod({ initContainers: [i1] }), rp([sb()], failed), healthy);
    assert.deepEqual(names(again.initToStart), ['i1']);
  });

  it('starts a sidecar and moves on once it has started; restarts it when it exits', () => {
    const side = c('side', { restartPolicy: 'Always' });
    const i2 = c('i2');
    const p = pod({ initContainers: [side, i2] });
    assert.deepEqual(names(computePodActions(p, rp([sb()], []), healthy).initToStart), ['side']);
    const s = rc(side, 'running', { type: 'sidecar' });
    assert.deepEqual(names(computePodActions(p, rp([sb()], [s]), healthy).initToStart), ['i2']);
    // Not started yet (startup probe pending): wait.
    assert.deepEqual(
      names(computePodActions(p, rp([sb()], [s]), { ...healthy, started: () => false }).initToStart),
      [],
    );
    // After initialization, an exited sidecar restarts alongside the running containers.
    const later = computePodActions(
      p,
      rp(
        [sb()],
        [
          rc(side, 'exited', { type: 'sidecar', exitCode: 1 }),
          rc(i2, 'exited', { type: 'init' }),
          rc(p.spec.containers[0], 'running'),
        ],
      ),
      healthy,
    );
    assert.deepEqual(names(later.initToStart), ['side']);
    assert.equal(later.killPod, false);
  });

  it('stops a pod whose containers are all done and will not restart', () => {
    const p = pod({ restartPolicy: 'OnFailure' });
    const a = computePodActions(p, rp([sb()], [rc(p.spec.containers[0], 'exited', { exitCode: 0 })]), healthy);
    assert.equal(a.killPod, true);
    assert.equal(a.createSandbox, false);
  });

  it('starts nothing for a pod being deleted', () => {
    const p = pod({}, { deletionTimestamp: '2026-01-01T00:00:00Z' });
    const a = computePodActions(p, rp([], []), healthy);
    assert.equal(a.createSandbox, false);
    assert.deepEqual(a.toStart, []);
  });
});
