// generatePodStatus: phases, conditions and container states as upstream reports them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from '../types.js';
import type { RuntimeContainer, RuntimePod } from './runtime-state.js';
import { generatePodStatus, type StatusInputs } from './status.js';

const pod = (spec: Partial<Pod['spec']> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'default', uid: 'u1' },
  spec: { containers: [{ name: 'main', image: 'busybox' }], restartPolicy: 'Always', ...spec },
});
let n = 0;
const rc = (
  name: string,
  state: RuntimeContainer['state'],
  extra: Partial<RuntimeContainer> = {},
): RuntimeContainer => ({
  id: `c${++n}`,
  name,
  state,
  createdAt: 1000 - n,
  startedAt: 1_700_000_000_000,
  finishedAt: state === 'exited' ? 1_700_000_001_000 : 0,
  exitCode: 0,
  reason: state === 'exited' ? 'Completed' : '',
  message: '',
  image: 'busybox',
  imageRef: 'sha256:abc',
  hash: '',
  restartCount: 0,
  type: 'regular',
  logPath: '',
  mounts: [],
  ...extra,
});
const rp = (containers: RuntimeContainer[], ready = true): RuntimePod => ({
  uid: 'u1',
  sandboxes: [{ id: 'sb', ready, createdAt: 1, attempt: 0, ips: ['10.42.0.9'], hostNetwork: false }],
  containers,
});
const gen = (p: Pod, r: RuntimePod, extra: Partial<StatusInputs> = {}) =>
  generatePodStatus({
    pod: p,
    runtime: r,
    runtimeName: 'skiff',
    hostIPs: ['192.168.1.2'],
    ready: () => true,
    started: () => true,
    waiting: () => undefined,
    startTime: '2026-01-01T00:00:00Z',
    now: () => '2026-01-01T00:00:05Z',
    ...extra,
  });
const conds = (s: ReturnType<typeof gen>) => Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c.status]));

describe('generatePodStatus', () => {
  it('a new pod is Pending with ContainerCreating', () => {
    const s = gen(pod(), { uid: 'u1', sandboxes: [], containers: [] });
    assert.equal(s.phase, 'Pending');
    assert.deepEqual(s.containerStatuses?.[0].state, { waiting: { reason: 'ContainerCreating' } });
    assert.equal(conds(s).PodReadyToStartContainers, 'False');
    assert.equal(s.podIP, undefined);
    assert.equal(s.qosClass, 'BestEffort');
  });

  it('a running ready pod', () => {
    const s = gen(pod(), rp([rc('main', 'running')]));
    assert.equal(s.phase, 'Running');
    assert.deepEqual(conds(s), {
      PodReadyToStartContainers: 'True',
      Initialized: 'True',
      Ready: 'True',
      ContainersReady: 'True',
      PodScheduled: 'True',
    });
    assert.equal(s.podIP, '10.42.0.9');
    assert.equal(s.hostIP, '192.168.1.2');
    assert.match(s.containerStatuses?.[0].containerID ?? '', /^skiff:\/\/c\d+$/);
    assert.equal(s.containerStatuses?.[0].imageID, 'sha256:abc');
  });

  it('not ready: reason and message name the containers', () => {
    const s = gen(pod(), rp([rc('main', 'running')]), { ready: () => false });
    const ready = s.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'ContainersNotReady');
    assert.equal(ready?.message, 'containers with unready status: [main]');
  });

  it('waiting reasons from the last sync replace an exited state, which becomes lastState', () => {
    const s = gen(pod(), rp([rc('main', 'exited', { exitCode: 2, reason: 'Error', restartCount: 3 })]), {
      waiting: () => ({
        reason: 'CrashLoopBackOff',
        message: 'back-off 40s restarting failed container=main pod=p_default(u1)',
      }),
    });
    const cs = s.containerStatuses![0];
    assert.equal(cs.state.waiting?.reason, 'CrashLoopBackOff');
    assert.equal(cs.lastState.terminated?.exitCode, 2);
    assert.equal(cs.restartCount, 3);
    assert.equal(s.phase, 'Running');
  });

  it('the previous instance is lastState of a running container', () => {
    const s = gen(
      pod(),
      rp([rc('main', 'running', { restartCount: 1 }), rc('main', 'exited', { exitCode: 137, reason: 'OOMKilled' })]),
    );
    assert.equal(s.containerStatuses![0].lastState.terminated?.reason, 'OOMKilled');
  });

  it('phases by restart policy once containers exit', () => {
    const done = (policy: 'Always' | 'OnFailure' | 'Never', exitCode: number) =>
      gen(
        pod({ restartPolicy: policy }),
        rp([rc('main', 'exited', { exitCode, reason: exitCode ? 'Error' : 'Completed' })]),
      ).phase;
    assert.equal(done('Never', 0), 'Succeeded');
    assert.equal(done('Never', 1), 'Failed');
    assert.equal(done('OnFailure', 0), 'Succeeded');
    assert.equal(done('OnFailure', 1), 'Running');
    assert.equal(done('Always', 0), 'Running');
  });

  it('init containers: PodInitializing, then Initialized', () => {
    const p = pod({ initContainers: [{ name: 'init', image: 'busybox' }] });
    const s = gen(p, rp([rc('init', 'running', { type: 'init' })]));
    assert.equal(s.phase, 'Pending');
    assert.equal(s.containerStatuses![0].state.waiting?.reason, 'PodInitializing');
    const init = s.conditions?.find((c) => c.type === 'Initialized');
    assert.equal(init?.message, 'containers with incomplete status: [init]');
    const s2 = gen(p, rp([rc('main', 'running'), rc('init', 'exited', { type: 'init' })]));
    assert.equal(conds(s2).Initialized, 'True');
    assert.equal(s2.initContainerStatuses![0].state.terminated?.reason, 'Completed');
  });

  it('a failed init container with restartPolicy Never fails the pod', () => {
    const p = pod({ restartPolicy: 'Never', initContainers: [{ name: 'init', image: 'busybox' }] });
    assert.equal(gen(p, rp([rc('init', 'exited', { type: 'init', exitCode: 1, reason: 'Error' })])).phase, 'Failed');
  });

  it('keeps transition times of unchanged conditions and other owners\u2019 conditions', () => {
    const p = pod();
    p.status = {
      conditions: [
        { type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' },
        { type: 'DisruptionTarget', status: 'True', reason: 'x' },
      ],
    };
    const s = gen(p, rp([rc('main', 'running')]));
    assert.equal(s.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2025-01-01T00:00:00Z');
    assert.equal(s.conditions?.find((c) => c.type === 'ContainersReady')?.lastTransitionTime, '2026-01-01T00:00:05Z');
    assert.ok(s.conditions?.some((c) => c.type === 'DisruptionTarget'));
  });

  it('a terminated (deleted) pod reports a terminal phase and PodCompleted', () => {
    const s = gen(pod(), rp([rc('main', 'exited', { exitCode: 137, reason: 'Error' })], false), { terminal: true });
    assert.equal(s.phase, 'Failed');
    assert.equal(s.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  });

  it('QoS classes', () => {
    const res = (r: object) => gen(pod({ containers: [{ name: 'main', image: 'b', resources: r }] }), rp([])).qosClass;
    assert.equal(res({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } }), 'Guaranteed');
    assert.equal(res({ requests: { cpu: '100m' } }), 'Burstable');
    assert.equal(res({}), 'BestEffort');
  });
});
