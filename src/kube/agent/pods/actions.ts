// What one sync of a pod must do, computed from the desired pod and what the runtime holds
// (kubelet's computePodActions): whether the sandbox must be (re)created, which init containers
// and sidecars to start, which containers to start, which to kill and why. Pure: tested with
// tables, executed by sync.ts.
import { containerHash } from '../labels.js';
import type { Container, Pod } from '../types.js';
import { latest, type RuntimeContainer, type RuntimePod } from './runtime-state.js';

export interface ProbeView {
  /** Liveness probe says the running container is dead. */
  livenessFailed(uid: string, containerId: string): boolean;
  /** Startup probe failed its threshold. */
  startupFailed(uid: string, containerId: string): boolean;
  /** The startup probe succeeded (or there is none). */
  started(uid: string, containerId: string, c: Container): boolean;
}

export interface KillRequest {
  id: string;
  name: string;
  message: string;
  reason: 'liveness' | 'startup' | 'changed' | 'init-failed' | 'terminated';
  /** The probe's own grace period, when the probe sets one. */
  gracePeriod?: number;
}

export interface PodActions {
  killPod: boolean;
  createSandbox: boolean;
  /** The sandbox to start containers in (when not creating one). */
  sandboxId: string;
  attempt: number;
  initToStart: Container[];
  toStart: Container[];
  toKill: KillRequest[];
}

export const isSidecar = (c: Container) => c.restartPolicy === 'Always';

const restartsOnFailure = (pod: Pod) => pod.spec.restartPolicy !== 'Never';

/** kubelet's ShouldContainerBeRestarted. */
export function shouldRestart(pod: Pod, c: RuntimeContainer | undefined, sidecar = false): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  if (!c) return true;
  if (c.state === 'running') return false;
  if (c.state === 'created' || c.state === 'unknown') return true;
  if (sidecar) return true;
  if (pod.spec.restartPolicy === 'Never') return false;
  if (pod.spec.restartPolicy === 'OnFailure' && c.exitCode === 0) return false;
  return true;
}

function sandboxChanged(pod: Pod, rp: RuntimePod): { create: boolean; attempt: number; id: string } {
  const sb = rp.sandboxes[0];
  if (!sb) return { create: true, attempt: 0, id: '' };
  const ready = rp.sandboxes.filter((s) => s.ready).length;
  const hostNet = pod.spec.hostNetwork === true;
  if (ready > 1 || !sb.ready || sb.hostNetwork !== hostNet || (!hostNet && sb.ips.length === 0))
    return { create: true, attempt: sb.attempt + 1, id: sb.id };
  return { create: false, attempt: sb.attempt, id: sb.id };
}

function hasRegularCreated(pod: Pod, rp: RuntimePod): boolean {
  return pod.spec.containers.some((c) => rp.containers.some((x) => x.name === c.name && x.type === 'regular'));
}

/** The probe-driven or spec-driven kill of a running container, if any. */
function killFor(pod: Pod, c: Container, rc: RuntimeContainer, probes: ProbeView): KillRequest | undefined {
  if (rc.hash && rc.hash !== containerHash(c))
    return { id: rc.id, name: c.name, message: `Container ${c.name} definition changed`, reason: 'changed' };
  if (probes.livenessFailed(pod.metadata.uid, rc.id))
    return {
      id: rc.id,
      name: c.name,
      message: `Container ${c.name} failed liveness probe`,
      reason: 'liveness',
      gracePeriod: c.livenessProbe?.terminationGracePeriodSeconds,
    };
  if (probes.startupFailed(pod.metadata.uid, rc.id))
    return {
      id: rc.id,
      name: c.name,
      message: `Container ${c.name} failed startup probe`,
      reason: 'startup',
      gracePeriod: c.startupProbe?.terminationGracePeriodSeconds,
    };
  return undefined;
}

/** Init containers and sidecars (kubelet's computeInitContainerActions); true once initialized. */
function initActions(pod: Pod, rp: RuntimePod, probes: ProbeView, a: PodActions): boolean {
  const inits = pod.spec.initContainers ?? [];
  if (!inits.length) return true;
  const initialized = hasRegularCreated(pod, rp);
  for (const c of inits) {
    const rc = latest(rp, c.name);
    if (isSidecar(c)) {
      if (!rc) {
        a.initToStart.push(c);
        if (!initialized) return false;
        continue;
      }
      if (rc.state === 'running') {
        const k = killFor(pod, c, rc, probes);
        if (k) {
          a.toKill.push({ ...k, message: `${k.message}, will be restarted` });
          a.initToStart.push(c);
          if (!initialized) return false;
          continue;
        }
        if (!initialized && !probes.started(pod.metadata.uid, rc.id, c)) return false;
        continue;
      }
      // Exited or never started: a sidecar always restarts.
      if (!pod.metadata.deletionTimestamp) a.initToStart.push(c);
      if (!initialized) return false;
      continue;
    }
    if (initialized) continue;
    if (!rc || rc.state === 'created' || rc.state === 'unknown') {
      a.initToStart.push(c);
      return false;
    }
    if (rc.state === 'running') {
      const k = killFor(pod, c, rc, probes);
      if (k && k.reason !== 'changed') {
        a.toKill.push({ ...k, message: `${k.message}, will be restarted` });
        a.initToStart.push(c);
      }
      return false;
    }
    if (rc.exitCode === 0) continue;
    // A failed init container: the pod fails with Never, otherwise the container runs again.
    if (!restartsOnFailure(pod)) {
      a.killPod = true;
      return false;
    }
    a.initToStart.push(c);
    return false;
  }
  return true;
}

export function computePodActions(pod: Pod, rp: RuntimePod, probes: ProbeView): PodActions {
  const sb = sandboxChanged(pod, rp);
  const a: PodActions = {
    killPod: sb.create,
    createSandbox: sb.create,
    sandboxId: sb.id,
    attempt: sb.attempt,
    initToStart: [],
    toStart: [],
    toKill: [],
  };
  if (sb.create) {
    // With restartPolicy Never a pod whose sandbox died after its containers ran is not restarted.
    if (!restartsOnFailure(pod) && sb.attempt !== 0 && rp.containers.length) {
      a.createSandbox = false;
      return a;
    }
    if (pod.metadata.deletionTimestamp) {
      a.createSandbox = false;
      return a;
    }
    const inits = pod.spec.initContainers ?? [];
    if (inits.length) {
      a.initToStart.push(inits[0]);
      return a;
    }
    for (const c of pod.spec.containers) {
      const rc = latest(rp, c.name);
      if (rc && !shouldRestart(pod, { ...rc, state: rc.state === 'running' ? 'exited' : rc.state })) continue;
      a.toStart.push(c);
    }
    return a;
  }
  if (!initActions(pod, rp, probes, a) || a.killPod) return a;
  let keep = 0;
  for (const c of pod.spec.containers) {
    const rc = latest(rp, c.name);
    if (!rc || rc.state !== 'running') {
      if (shouldRestart(pod, rc)) a.toStart.push(c);
      continue;
    }
    const k = killFor(pod, c, rc, probes);
    if (!k) {
      keep++;
      continue;
    }
    const restart = restartsOnFailure(pod) || k.reason === 'changed';
    a.toKill.push({ ...k, message: restart ? `${k.message}, will be restarted` : k.message });
    if (restart) a.toStart.push(c);
  }
  // Nothing left to run: stop the pod (sandbox and sidecars) — it is done.
  if (keep === 0 && a.toStart.length === 0) a.killPod = true;
  return a;
}
