// The pod status the agent reports (kubelet's generateAPIPodStatus + getPhase): phase,
// conditions, container statuses (state, lastState, restartCount, ready, started, image(ID),
// containerID), IPs, QoS class and start time, computed from the runtime's view, the probe
// results and the reasons the last sync left for containers it could not start.
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from '../types.js';
import { isSidecar } from './actions.js';
import { podQos } from './resources.js';
import type { RuntimeContainer, RuntimePod } from './runtime-state.js';

export interface WaitingReason {
  reason: string;
  message: string;
}

export interface StatusInputs {
  pod: Pod;
  runtime: RuntimePod;
  runtimeName: string;
  hostIPs: string[];
  /** Readiness per container id (no readiness probe: ready once started). */
  ready(containerId: string, c: Container): boolean;
  started(containerId: string, c: Container): boolean;
  /** Why the last sync could not start a container (ErrImagePull, CrashLoopBackOff, …). */
  waiting(name: string): WaitingReason | undefined;
  startTime: string;
  /** The pod was stopped for good (deleted or finished): report a terminal phase. */
  terminal?: boolean;
  now?: () => string;
}

export const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function terminated(rc: RuntimeContainer, runtimeName: string): ContainerState {
  return {
    terminated: {
      exitCode: rc.exitCode,
      reason: rc.reason || (rc.exitCode === 0 ? 'Completed' : 'Error'),
      ...(rc.message ? { message: rc.message } : {}),
      startedAt: rc.startedAt ? rfc3339(rc.startedAt) : undefined,
      finishedAt: rc.finishedAt ? rfc3339(rc.finishedAt) : undefined,
      containerID: `${runtimeName}://${rc.id}`,
    },
  };
}

function containerStatus(
  c: Container,
  inp: StatusInputs,
  defaultWaiting: string,
  all: RuntimeContainer[],
): ContainerStatus {
  const mine = all.filter((x) => x.name === c.name);
  const [cur, prev] = mine;
  const st: ContainerStatus = {
    name: c.name,
    state: { waiting: { reason: defaultWaiting } },
    lastState: {},
    ready: false,
    restartCount: cur?.restartCount ?? 0,
    image: c.image ?? '',
    imageID: '',
    started: false,
  };
  if (cur) {
    st.image = cur.image || st.image;
    st.imageID = cur.imageRef;
    st.containerID = `${inp.runtimeName}://${cur.id}`;
    if (cur.state === 'running') {
      st.state = { running: { startedAt: rfc3339(cur.startedAt || cur.createdAt) } };
      st.started = inp.started(cur.id, c);
      st.ready = st.started && inp.ready(cur.id, c);
    } else if (cur.state === 'exited') st.state = terminated(cur, inp.runtimeName);
    if (prev && prev.state === 'exited') st.lastState = terminated(prev, inp.runtimeName);
  }
  const w = inp.waiting(c.name);
  if (w && cur?.state !== 'running' && !inp.terminal) {
    if (st.state.terminated) st.lastState = st.state;
    st.state = { waiting: { reason: w.reason, ...(w.message ? { message: w.message } : {}) } };
  }
  if (c.volumeMounts?.length)
    st.volumeMounts = c.volumeMounts.map((m) => ({
      name: m.name,
      mountPath: m.mountPath,
      ...(m.readOnly ? { readOnly: true, recursiveReadOnly: 'Disabled' } : {}),
    }));
  return st;
}

function phaseOf(pod: Pod, init: ContainerStatus[], regular: ContainerStatus[], terminal: boolean): PodStatus['phase'] {
  let pendingInit = false;
  let initFailed = false;
  for (const [i, s] of init.entries()) {
    const c = (pod.spec.initContainers ?? [])[i];
    if (isSidecar(c)) {
      if (!s.started) pendingInit = true;
      continue;
    }
    const t = s.state.terminated;
    if (t && t.exitCode === 0) continue;
    pendingInit = true;
    const lastFailed = t ?? s.lastState.terminated;
    if (lastFailed && lastFailed.exitCode !== 0 && pod.spec.restartPolicy === 'Never') initFailed = true;
  }
  // Once a regular container exists the pod is past initialization.
  if (regular.some((s) => s.containerID || s.lastState.terminated)) pendingInit = false;
  if (initFailed) return 'Failed';
  let running = 0,
    waiting = 0,
    stopped = 0,
    succeeded = 0;
  for (const s of regular) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState.terminated) stopped++;
    else waiting++;
  }
  if (terminal) {
    if (pendingInit && !stopped) return 'Failed';
    return stopped === succeeded && running === 0 && waiting === 0 && stopped > 0 ? 'Succeeded' : 'Failed';
  }
  if (pendingInit) return 'Pending';
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (pod.spec.restartPolicy === 'Always' || pod.spec.restartPolicy === undefined) return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (pod.spec.restartPolicy === 'OnFailure') return 'Running';
    return 'Failed';
  }
  return 'Pending';
}

const cond = (type: string, ok: boolean, reason?: string, message?: string): PodCondition => ({
  type,
  status: ok ? 'True' : 'False',
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});

/** Conditions the agent owns; all others (scheduler's, readiness gates' owners') are kept. */
export const KUBELET_CONDITIONS = new Set([
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
]);

export function generatePodStatus(inp: StatusInputs): PodStatus {
  const { pod, runtime } = inp;
  const sb = runtime.sandboxes[0];
  const sandboxReady = !!sb?.ready && (sb.hostNetwork || sb.ips.length > 0);
  const regularCreated = pod.spec.containers.some((c) => runtime.containers.some((x) => x.name === c.name));
  const inits = (pod.spec.initContainers ?? []).map((c) =>
    containerStatus(c, inp, 'PodInitializing', runtime.containers),
  );
  const pendingInit = (pod.spec.initContainers ?? []).some((c, i) =>
    isSidecar(c) ? !inits[i].started : inits[i].state.terminated?.exitCode !== 0,
  );
  const initWaiting = pendingInit && !regularCreated ? 'PodInitializing' : 'ContainerCreating';
  const regular = pod.spec.containers.map((c) => containerStatus(c, inp, initWaiting, runtime.containers));
  const terminal = !!inp.terminal;
  const phase = phaseOf(pod, inits, regular, terminal);
  const done = phase === 'Succeeded' || phase === 'Failed';
  if (done)
    for (const s of [...inits, ...regular]) {
      s.ready = false;
      if (s.state.running) s.started = false;
    }
  const incompleteInit = (pod.spec.initContainers ?? [])
    .filter((c, i) => (isSidecar(c) ? !inits[i].started : inits[i].state.terminated?.exitCode !== 0))
    .map((c) => c.name);
  const initialized = regularCreated || incompleteInit.length === 0;
  const unready = [
    ...(pod.spec.initContainers ?? []).filter((c, i) => isSidecar(c) && !inits[i].ready).map((c) => c.name),
    ...pod.spec.containers.filter((_, i) => !regular[i].ready).map((c) => c.name),
  ];
  const gates = (pod.spec.readinessGates ?? []).filter(
    (g) => !(pod.status?.conditions ?? []).some((c) => c.type === g.conditionType && c.status === 'True'),
  );
  const containersReady = unready.length === 0 && !done;
  const conditions: PodCondition[] = (pod.status?.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type));
  const unreadyMsg = `containers with unready status: [${unready.join(' ')}]`;
  conditions.push(cond('PodReadyToStartContainers', sandboxReady));
  conditions.push(
    initialized
      ? cond('Initialized', true, done && phase === 'Succeeded' && !regularCreated ? 'PodCompleted' : undefined)
      : cond(
          'Initialized',
          false,
          'ContainersNotInitialized',
          `containers with incomplete status: [${incompleteInit.join(' ')}]`,
        ),
  );
  const readyCond = done
    ? cond('Ready', false, 'PodCompleted')
    : containersReady && gates.length === 0
      ? cond('Ready', true)
      : !containersReady
        ? cond('Ready', false, 'ContainersNotReady', unreadyMsg)
        : cond(
            'Ready',
            false,
            'ReadinessGatesNotReady',
            `corresponding condition of pod readiness gate "${gates[0].conditionType}" does not exist.`,
          );
  conditions.push(readyCond);
  conditions.push(
    done
      ? cond('ContainersReady', false, 'PodCompleted')
      : containersReady
        ? cond('ContainersReady', true)
        : cond('ContainersReady', false, 'ContainersNotReady', unreadyMsg),
  );
  conditions.push(cond('PodScheduled', true));
  const now = inp.now?.() ?? rfc3339(Date.now());
  for (const c of conditions) {
    if (!KUBELET_CONDITIONS.has(c.type)) continue;
    const old = pod.status?.conditions?.find((o) => o.type === c.type);
    c.lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
  }
  const hostNet = pod.spec.hostNetwork === true;
  const podIPs = hostNet ? inp.hostIPs : (sb?.ips ?? []);
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: inp.hostIPs[0],
    hostIPs: inp.hostIPs.map((ip) => ({ ip })),
    startTime: inp.startTime,
    containerStatuses: regular,
    qosClass: podQos(pod),
  };
  // A terminated pod keeps the IPs it had (upstream reports the last known ones).
  const ips = podIPs.length ? podIPs : done ? (pod.status?.podIPs ?? []).map((x) => x.ip) : [];
  if (ips.length) {
    status.podIP = ips[0];
    status.podIPs = ips.map((ip) => ({ ip }));
  }
  if (inits.length) status.initContainerStatuses = inits;
  // Ephemeral containers: reported, never ready, outside the phase and the conditions.
  const eph = (pod.spec.ephemeralContainers ?? []).map((c) => {
    const { started: _s, ...st } = containerStatus(c, inp, 'ContainerCreating', runtime.containers);
    return { ...st, ready: false };
  });
  if (eph.length) status.ephemeralContainerStatuses = eph;
  if (pod.status?.nominatedNodeName) status.nominatedNodeName = pod.status.nominatedNodeName;
  return status;
}
