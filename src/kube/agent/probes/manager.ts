// Liveness, readiness and startup probes (kubelet's prober manager): one worker per container and
// probe kind while the container runs. A worker waits initialDelaySeconds after the container
// started, probes every periodSeconds with timeoutSeconds, and changes its result only after
// successThreshold / failureThreshold equal outcomes in a row. Readiness and liveness wait for the
// startup probe to succeed. A failed liveness or startup result holds until the container is
// replaced. Every failed attempt is an `Unhealthy` event; a changed result asks for a pod sync.
// After stop() no worker starts again.
import type { ContainerRuntime } from '../../../cri/index.js';
import type { EventRecorder } from '../events.js';
import { podRef } from '../events.js';
import type { Container, Pod, Probe } from '../types.js';
import { execProbe, grpcProbe, httpProbe, resolvePort, tcpProbe, type ProbeResult } from './probers.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export interface RunningContainer {
  id: string;
  name: string;
  startedAt: number;
}

interface Worker {
  kind: ProbeKind;
  uid: string;
  name: string;
  containerId: string;
  timer?: NodeJS.Timeout;
  run: number;
  last?: boolean;
  onHold: boolean;
  stopped: boolean;
}

const TITLE: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

export class ProbeManager {
  private workers = new Map<string, Worker>();
  /** Results by `kind/containerId`. */
  private results = new Map<string, boolean>();
  /** Set by stop(): a pod sync still in flight when the agent stops (PodWorkers.stop() does not
   *  wait for it) must not start workers again, whose timers would keep the process alive. */
  private closed = false;

  constructor(
    private runtime: ContainerRuntime,
    private events: EventRecorder,
    private pods: (uid: string) => Pod | undefined,
    private podIP: (uid: string) => string | undefined,
    private onChange: (uid: string) => void,
  ) {}

  livenessFailed(_uid: string, cid: string): boolean {
    return this.results.get(`liveness/${cid}`) === false;
  }
  startupFailed(_uid: string, cid: string): boolean {
    return this.results.get(`startup/${cid}`) === false;
  }
  started(_uid: string, cid: string, c: Container): boolean {
    return !c.startupProbe || this.results.get(`startup/${cid}`) === true;
  }
  ready(cid: string, c: Container): boolean {
    return !c.readinessProbe || this.results.get(`readiness/${cid}`) === true;
  }

  /** Starts workers for the pod's running containers that have probes; stops the others. */
  sync(pod: Pod, running: RunningContainer[]): void {
    if (this.closed) return;
    const uid = pod.metadata.uid;
    const want = new Set<string>();
    const all = [
      ...(pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'),
      ...pod.spec.containers,
    ];
    if (!pod.metadata.deletionTimestamp)
      for (const c of all) {
        const rc = running.find((r) => r.name === c.name);
        if (!rc) continue;
        for (const kind of ['liveness', 'readiness', 'startup'] as ProbeKind[]) {
          if (!probeOf(c, kind)) continue;
          const key = `${uid}/${c.name}/${kind}`;
          want.add(key);
          const w = this.workers.get(key);
          if (w && w.containerId === rc.id) continue;
          if (w) this.stopWorker(key, w);
          this.startWorker(
            key,
            { kind, uid, name: c.name, containerId: rc.id, run: 0, onHold: false, stopped: false },
            rc,
          );
        }
      }
    for (const [key, w] of this.workers) if (w.uid === uid && !want.has(key)) this.stopWorker(key, w);
  }

  remove(uid: string): void {
    for (const [key, w] of this.workers) if (w.uid === uid) this.stopWorker(key, w);
  }

  stop(): void {
    this.closed = true;
    for (const [key, w] of this.workers) this.stopWorker(key, w);
  }

  private stopWorker(key: string, w: Worker): void {
    w.stopped = true;
    clearTimeout(w.timer);
    this.workers.delete(key);
    this.results.delete(`${w.kind}/${w.containerId}`);
  }

  private startWorker(key: string, w: Worker, rc: RunningContainer): void {
    this.workers.set(key, w);
    const pod = this.pods(w.uid);
    const p = pod && findContainer(pod, w.name) ? probeOf(findContainer(pod, w.name)!, w.kind) : undefined;
    if (!p) return;
    if (w.kind === 'liveness') this.results.set(`liveness/${w.containerId}`, true);
    const delay = Math.max(0, rc.startedAt + (p.initialDelaySeconds ?? 0) * 1000 - Date.now());
    w.timer = setTimeout(() => void this.tick(key, w), delay);
  }

  private async tick(key: string, w: Worker): Promise<void> {
    if (w.stopped) return;
    const pod = this.pods(w.uid);
    const c = pod ? findContainer(pod, w.name) : undefined;
    const p = c ? probeOf(c, w.kind) : undefined;
    if (!pod || !c || !p) return;
    const period = (p.periodSeconds ?? 10) * 1000;
    try {
      if (w.onHold) return;
      // Liveness and readiness run only once the startup probe (if any) has succeeded.
      if (w.kind !== 'startup' && !this.started(w.uid, w.containerId, c)) return;
      const res = await this.probe(pod, c, p, w.containerId);
      if (w.stopped) return;
      if (!res.ok)
        this.events.event(
          podRef(pod, c.name),
          'Warning',
          'Unhealthy',
          `${TITLE[w.kind]} probe failed: ${res.output.trimEnd()}`,
        );
      w.run = w.last === res.ok ? w.run + 1 : 1;
      w.last = res.ok;
      const threshold = res.ok ? (p.successThreshold ?? 1) : (p.failureThreshold ?? 3);
      if (w.run < threshold) return;
      const rkey = `${w.kind}/${w.containerId}`;
      const before = this.results.get(rkey);
      this.results.set(rkey, res.ok);
      if (!res.ok && w.kind !== 'readiness') {
        w.onHold = true;
        w.run = 0;
      }
      if (res.ok && w.kind === 'startup') w.onHold = true;
      if (before !== res.ok) this.onChange(w.uid);
    } finally {
      if (!w.stopped) w.timer = setTimeout(() => void this.tick(key, w), period);
    }
  }

  private async probe(pod: Pod, c: Container, p: Probe, cid: string): Promise<ProbeResult> {
    const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
    try {
      if (p.exec) return await execProbe(this.runtime, cid, p.exec.command ?? [], timeoutMs);
      const ip = this.podIP(pod.metadata.uid) ?? '';
      if (p.httpGet) return await httpProbe(p.httpGet, p.httpGet.host || ip, resolvePort(p.httpGet.port, c), timeoutMs);
      if (p.tcpSocket) return await tcpProbe(p.tcpSocket.host || ip, resolvePort(p.tcpSocket.port, c), timeoutMs);
      if (p.grpc) return await grpcProbe(ip, p.grpc.port, p.grpc.service ?? '', timeoutMs);
      return { ok: false, output: 'missing probe handler' };
    } catch (e) {
      return { ok: false, output: e instanceof Error ? e.message : String(e) };
    }
  }
}

function findContainer(pod: Pod, name: string): Container | undefined {
  return pod.spec.containers.find((c) => c.name === name) ?? pod.spec.initContainers?.find((c) => c.name === name);
}

function probeOf(c: Container, kind: ProbeKind): Probe | undefined {
  return kind === 'liveness' ? c.livenessProbe : kind === 'readiness' ? c.readinessProbe : c.startupProbe;
}
