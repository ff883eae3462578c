// Pod workers (kubelet's podWorkers): every pod the agent knows of — bound to this node, or only
// found in the runtime — is synced by one worker at a time, whenever its object changes, the
// runtime reports a change (PLEG), a probe result changes, a back-off ends, or every 30 s. A sync
// is level-triggered: it reads the runtime's state and drives it towards the pod's spec. A pod
// being deleted is stopped within its grace period, cleaned up (containers, sandbox, volumes,
// logs) and then its object is deleted with grace 0; a pod that finished keeps its containers
// for logs but releases its sandbox and volumes; a pod the API no longer has is removed.
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { traced, traceMark, traceNow } from '../../../common/index.js';
import type { AgentContext } from '../context.js';
import { podRef } from '../events.js';
import type { Pod, PodStatus } from '../types.js';
import { byCreation, canAdmit, type Rejection } from './admit.js';
import { killPod, podRunning } from './kill.js';
import { getRuntimePod, type RuntimePod } from './runtime-state.js';
import { PodQueue } from './pod-queue.js';
import { podLogDir } from './sandbox-config.js';
import { generatePodStatus, rfc3339, type WaitingReason } from './status.js';
import { syncPod } from './sync.js';

const RESYNC_MS = 30_000;

const same = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b);
/** Whether `b` differs from `a` in its status (not its phase) and bookkeeping only. */
function statusOnly(a: Pod, b: Pod): boolean {
  const x = a.metadata;
  const y = b.metadata;
  return (
    // a new phase is seen by a sync (a finished pod releases its sandbox once its phase is written)
    a.status?.phase === b.status?.phase &&
    x.deletionTimestamp === y.deletionTimestamp &&
    x.deletionGracePeriodSeconds === y.deletionGracePeriodSeconds &&
    same(x.labels, y.labels) &&
    same(x.annotations, y.annotations) &&
    same(a.spec, b.spec)
  );
}

interface PodState {
  startTime: string;
  waiting: Map<string, WaitingReason>;
  timer?: NodeJS.Timeout;
  timerAt?: number;
  /** Set once a finished pod has released its sandbox and volumes. */
  released?: boolean;
  /** Why the pod was stopped for good by the agent itself (DeadlineExceeded, Evicted). */
  stopped?: { reason: string; message: string };
}

export class PodWorkers {
  private queue = new PodQueue<string>();
  private pods = new Map<string, Pod>();
  private state = new Map<string, PodState>();
  private stopped = false;
  /** Pods admitted to run here (kubelet's admission); rejected ones, with why. */
  private admitted = new Set<string>();
  private rejected = new Map<string, Rejection>();
  /** Syncs done and failed (tests and metrics). */
  syncs = 0;
  failures = 0;

  constructor(private ctx: AgentContext) {}

  /** Syncs running now, one per pod at most. */
  get active(): number {
    return this.queue.active;
  }

  start(): void {
    this.queue.run(
      (uid) => this.sync(uid),
      (uid, e) => {
        this.failures++;
        this.ctx.log.warn('pod sync failed', { uid, error: e instanceof Error ? e.message : String(e) });
      },
    );
  }

  stop(): void {
    this.stopped = true;
    this.queue.stop();
    for (const s of this.state.values()) clearTimeout(s.timer);
  }

  get(uid: string): Pod | undefined {
    return this.pods.get(uid);
  }
  list(): Pod[] {
    return [...this.pods.values()];
  }

  update(pod: Pod): void {
    const old = this.pods.get(pod.metadata.uid);
    if (!old) traceMark(pod.metadata.uid, 'agent.seen', traceNow());
    this.pods.set(pod.metadata.uid, pod);
    // As kubelet's pod config: a change of the status alone — mostly the echo of the agent's own
    // status write — is a reconcile, not a sync (a sync per status write doubled a pod's start-up
    // work); readiness gates, set by others in the status, are the exception.
    if (old && statusOnly(old, pod) && !pod.spec.readinessGates?.length) return;
    this.queue.add(pod.metadata.uid);
  }

  remove(pod: Pod): void {
    this.pods.delete(pod.metadata.uid);
    this.queue.add(pod.metadata.uid);
  }

  enqueue(uid: string, delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.queue.add(uid);
      return;
    }
    const s = this.state.get(uid);
    if (!s) {
      this.queue.addAfter(uid, delayMs);
      return;
    }
    const at = Date.now() + delayMs;
    if (s.timer && s.timerAt !== undefined && s.timerAt <= at) return;
    clearTimeout(s.timer);
    s.timerAt = at;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      s.timerAt = undefined;
      this.queue.add(uid);
    }, delayMs);
    s.timer.unref?.();
  }

  private async sync(uid: string): Promise<void> {
    if (this.stopped) return;
    this.syncs++;
    const pod = this.pods.get(uid);
    const rp = await traced(uid, 'sync.runtimeState', () => this.runtimePod(uid));
    if (!pod) return this.cleanup(uid, rp);
    let st = this.state.get(uid);
    if (!st) {
      st = { startTime: pod.status?.startTime ?? rfc3339(Date.now()), waiting: new Map() };
      this.state.set(uid, st);
    }
    if (pod.metadata.deletionTimestamp) return this.terminate(pod, rp, st);
    const phase = pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && this.reportedTerminal(uid)) return this.release(pod, rp, st);
    if (!st.stopped && !this.admitted.has(uid)) {
      this.admit();
      const no = this.rejected.get(uid);
      if (no) st.stopped = { reason: no.reason, message: `Pod was rejected: ${no.message}` };
    }
    const deadline = pod.spec.activeDeadlineSeconds;
    if (!st.stopped && deadline !== undefined && Date.now() - Date.parse(st.startTime) > deadline * 1000) {
      st.stopped = {
        reason: 'DeadlineExceeded',
        message: 'Pod was active on the node longer than the specified deadline',
      };
      this.ctx.events.event(podRef(pod), 'Normal', st.stopped.reason, st.stopped.message);
    }
    if (st.stopped) {
      if (podRunning(rp)) await killPod(this.ctx, pod, rp);
      this.report(pod, await this.runtimePod(uid), st, true);
      return;
    }
    const out = await traced(uid, 'sync.syncPod', () => syncPod(this.ctx, pod, rp));
    st.waiting = out.waiting;
    const now = out.changed ? await traced(uid, 'sync.runtimeState2', () => this.runtimePod(uid)) : rp;
    this.ctx.probes.sync(
      pod,
      now.containers
        .filter((c) => c.state === 'running')
        .map((c) => ({ id: c.id, name: c.name, startedAt: c.startedAt })),
    );
    const status = this.report(pod, now, st, false);
    if (status.phase === 'Succeeded' || status.phase === 'Failed') {
      // Finished: stop what is left (sidecars, the sandbox) and report the final state.
      if (podRunning(now)) await killPod(this.ctx, pod, now);
      this.report(pod, await this.runtimePod(uid), st, true);
      this.enqueue(uid, 1000);
      return;
    }
    this.enqueue(uid, out.retryInMs ?? RESYNC_MS + Math.floor(Math.random() * 5000));
  }

  private terminal(p: Pod): boolean {
    const phase = this.ctx.status.get(p.metadata.uid)?.phase ?? p.status?.phase;
    return phase === 'Succeeded' || phase === 'Failed';
  }

  /** Admits or rejects every pod not yet decided, oldest first, against the node's allocatable
   *  minus the admitted pods that have not finished (all synchronous: no sync runs in between).
   *  Pods the runtime already holds (adopted after a restart) were admitted before. */
  private admit(): void {
    for (const uid of this.pods.keys()) if (this.ctx.sandboxes.of(uid).length) this.admitted.add(uid);
    const undecided = [...this.pods.values()]
      .filter((p) => !this.admitted.has(p.metadata.uid) && !this.rejected.has(p.metadata.uid))
      .filter((p) => !p.metadata.deletionTimestamp && !this.terminal(p))
      .sort(byCreation);
    if (!undecided.length) return;
    const used = [...this.admitted]
      .map((u) => this.pods.get(u))
      .filter((p): p is Pod => p !== undefined && !this.terminal(p));
    const alloc = { pods: this.ctx.node.maxPods, ...this.ctx.node.allocatable };
    for (const p of undecided) {
      const no = canAdmit(p, used, alloc);
      if (no) {
        this.rejected.set(p.metadata.uid, no);
        this.ctx.events.event(podRef(p), 'Warning', no.reason, no.message);
        this.ctx.log.info('pod rejected', { pod: `${p.metadata.namespace}/${p.metadata.name}`, reason: no.reason });
        continue;
      }
      this.admitted.add(p.metadata.uid);
      used.push(p);
    }
  }

  /** Stops a running pod for good (kubelet's eviction manager): Failed, reason Evicted. */
  evict(uid: string, message: string): void {
    const st = this.state.get(uid);
    const pod = this.pods.get(uid);
    if (!st || !pod || st.stopped) return;
    st.stopped = { reason: 'Evicted', message };
    this.ctx.events.event(podRef(pod), 'Warning', 'Evicted', message);
    this.queue.add(uid);
  }

  private runtimePod(uid: string): Promise<RuntimePod> {
    return getRuntimePod(this.ctx.runtime, uid, this.ctx.sandboxes.of(uid));
  }

  private reportedTerminal(uid: string): boolean {
    const s = this.ctx.status.get(uid);
    return s === undefined || s.phase === 'Succeeded' || s.phase === 'Failed';
  }

  private report(pod: Pod, rp: RuntimePod, st: PodState, terminal: boolean): PodStatus {
    const status = generatePodStatus({
      pod,
      runtime: rp,
      runtimeName: this.ctx.runtimeName,
      hostIPs: this.ctx.node.hostIPs,
      ready: (id, c) => this.ctx.probes.ready(id, c),
      started: (id, c) => this.ctx.probes.started(pod.metadata.uid, id, c),
      waiting: (name) => st.waiting.get(name),
      startTime: st.startTime,
      terminal,
    });
    if (st.stopped) {
      status.phase = 'Failed';
      status.reason = st.stopped.reason;
      status.message = st.stopped.message;
      if (st.stopped.reason === 'Evicted')
        status.conditions = [
          ...(status.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'),
          {
            type: 'DisruptionTarget',
            status: 'True',
            reason: 'TerminationByKubelet',
            message: st.stopped.message,
            lastTransitionTime:
              pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget')?.lastTransitionTime ??
              rfc3339(Date.now()),
          },
        ];
    }
    this.ctx.status.set(pod, status);
    return status;
  }

  /** A finished pod: nothing runs, its volumes go; containers stay for `kubectl logs`. */
  private async release(pod: Pod, rp: RuntimePod, st: PodState): Promise<void> {
    if (podRunning(rp)) await killPod(this.ctx, pod, rp);
    this.ctx.probes.remove(pod.metadata.uid);
    if (!st.released) {
      await this.ctx.volumes.tearDown(pod.metadata.uid);
      this.ctx.objects.unregister(pod.metadata.uid);
      st.released = true;
    }
  }

  /** A pod being deleted: stop it within its grace period, clean up, delete the object. */
  private async terminate(pod: Pod, rp: RuntimePod, st: PodState): Promise<void> {
    const uid = pod.metadata.uid;
    this.ctx.probes.remove(uid);
    if (podRunning(rp) || rp.containers.some((c) => c.state === 'created')) await killPod(this.ctx, pod, rp);
    const after = await this.runtimePod(uid);
    this.report(pod, after, st, true);
    await this.ctx.status.flush(2000, uid);
    await this.removeAll(uid, after, pod);
    await this.ctx.status.deletePod(pod);
  }

  /** The API no longer has the pod: stop and remove whatever is left of it. */
  private async cleanup(uid: string, rp: RuntimePod): Promise<void> {
    this.ctx.probes.remove(uid);
    if (podRunning(rp)) await killPod(this.ctx, undefined, rp);
    await this.removeAll(uid, rp, undefined);
    const st = this.state.get(uid);
    clearTimeout(st?.timer);
    this.state.delete(uid);
    this.admitted.delete(uid);
    this.rejected.delete(uid);
    this.ctx.status.forget(uid);
    this.ctx.images.forget(uid);
    this.ctx.crashBackoff.forget(`${uid}_`);
  }

  private async removeAll(uid: string, rp: RuntimePod, pod: Pod | undefined): Promise<void> {
    // a container already gone is fine; one still there is removed at the next sync
    for (const c of rp.containers) await this.ctx.runtime.removeContainer({ containerId: c.id }).catch(() => undefined);
    for (const sb of rp.sandboxes) {
      await this.ctx.runtime.removePodSandbox({ podSandboxId: sb.id });
      this.ctx.sandboxes.remove(sb.id);
    }
    await this.ctx.volumes.tearDown(uid);
    this.ctx.objects.unregister(uid);
    if (pod) await rm(podLogDir(this.ctx.sandbox.podLogsDir, pod), { recursive: true, force: true });
    else await this.removeLogsOf(uid);
  }

  private async removeLogsOf(uid: string): Promise<void> {
    let dirs: string[];
    try {
      dirs = readdirSync(this.ctx.sandbox.podLogsDir);
    } catch {
      return; // no log dir
    }
    for (const d of dirs)
      if (d.endsWith(`_${uid}`)) await rm(join(this.ctx.sandbox.podLogsDir, d), { recursive: true, force: true });
  }
}
