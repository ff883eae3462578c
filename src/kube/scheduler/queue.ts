// The scheduling queue, as upstream's PriorityQueue: an active queue (priority, then arrival),
// a backoff queue (pods that failed wait 1 s doubling to 10 s), and the unschedulable pods, which
// return to the active or backoff queue when a cluster event one of their rejecting plugins cares
// about happens (or after 5 minutes). A failed pod whose cycle overlapped a move request goes to
// backoff rather than unschedulable, so the event is not missed. Also the nominator: the pods
// nominated to nodes by preemption, which the filters count as if they were there.
import type { ClusterEvent, EventAction, EventResource, Nominator, Plugin } from './framework.js';
import { KeyedHeap } from './heap.js';
import { PodInfo } from './nodeinfo.js';
import type { Pod } from './types.js';

export interface QueuedPodInfo {
  pi: PodInfo;
  /** When it entered the queue (orders equal priorities). */
  timestamp: number;
  attempts: number;
  initialAttempt?: number;
  unschedulablePlugins: Set<string>;
  /** Failed PreEnqueue (scheduling gates): waits in unschedulable until its gates go. */
  gated: boolean;
  backoffExpiry: number;
}

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxInUnschedulableMs?: number;
  now?: () => number;
  /** Called when the queue decides a pod may not be queued yet (gated), for the record. */
  onGated?(pod: Pod, message: string): void;
}

export const podKey = (p: Pod) => p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`;

export class SchedulingQueue implements Nominator {
  private active = new KeyedHeap<QueuedPodInfo>(
    (q) => q.pi.key,
    (a, b) => (a.pi.priority !== b.pi.priority ? a.pi.priority > b.pi.priority : a.timestamp < b.timestamp),
  );
  private backoff = new KeyedHeap<QueuedPodInfo>(
    (q) => q.pi.key,
    (a, b) => a.backoffExpiry < b.backoffExpiry,
  );
  private unschedulable = new Map<string, QueuedPodInfo & { since: number }>();
  private inFlight = new Set<string>();
  private waiters: ((q: QueuedPodInfo | undefined) => void)[] = [];
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  schedulingCycle = 0;
  private moveRequestCycle = -1;
  private interest = new Map<string, ClusterEvent[]>();
  private nominated = new Map<string, Map<string, PodInfo>>();
  private nominatedNodeOf = new Map<string, string>();
  private readonly now: () => number;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private readonly maxUnschedulable: number;

  constructor(
    private plugins: Plugin[],
    private opts: QueueOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.initialBackoff = opts.initialBackoffMs ?? 1000;
    this.maxBackoff = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulable = opts.maxInUnschedulableMs ?? 5 * 60_000;
    for (const p of plugins) if (p.events) this.interest.set(p.name, p.events());
  }

  /** Starts the periodic flushes (backoff every second, unschedulable leftovers every 30 s). */
  run(): void {
    const t1 = setInterval(() => this.flushBackoff(), 1000);
    const t2 = setInterval(() => this.flushUnschedulableLeftover(), 30_000);
    t1.unref?.();
    t2.unref?.();
    this.timers.push(t1, t2);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  get pendingCounts(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size };
  }

  private newQueued(pod: Pod): QueuedPodInfo {
    return {
      pi: new PodInfo(pod),
      timestamp: this.now(),
      attempts: 0,
      unschedulablePlugins: new Set(),
      gated: false,
      backoffExpiry: 0,
    };
  }

  private preEnqueue(q: QueuedPodInfo): boolean {
    for (const p of this.plugins) {
      const s = p.preEnqueue?.(q.pi.pod);
      if (s && !s.isSuccess) {
        q.gated = true;
        q.unschedulablePlugins = new Set([p.name]);
        this.opts.onGated?.(q.pi.pod, s.message);
        return false;
      }
    }
    q.gated = false;
    return true;
  }

  private toActive(q: QueuedPodInfo): void {
    if (!this.preEnqueue(q)) {
      this.unschedulable.set(q.pi.key, { ...q, since: this.now() });
      return;
    }
    this.unschedulable.delete(q.pi.key);
    this.backoff.delete(q.pi.key);
    const w = this.waiters.shift();
    if (w) {
      this.startCycle(q);
      w(q);
    } else this.active.push(q);
  }

  /** A new pending pod. */
  add(pod: Pod): void {
    if (this.closed) return;
    this.updateNominated(pod);
    const key = podKey(pod);
    if (this.inFlight.has(key) || this.active.has(key)) return;
    if (this.backoff.has(key) || this.unschedulable.has(key)) return this.update(undefined, pod);
    this.toActive(this.newQueued(pod));
  }

  /** A pending pod changed; an unschedulable one is retried when something relevant changed. */
  update(oldPod: Pod | undefined, pod: Pod): void {
    this.updateNominated(pod);
    const key = podKey(pod);
    const pi = new PodInfo(pod);
    const a = this.active.get(key);
    if (a) {
      this.active.push({ ...a, pi });
      return;
    }
    const b = this.backoff.get(key);
    if (b) {
      this.backoff.push({ ...b, pi });
      return;
    }
    const u = this.unschedulable.get(key);
    if (u) {
      const next = { ...u, pi };
      if (oldPod && !specOrLabelsChanged(oldPod, pod)) {
        this.unschedulable.set(key, next);
        return;
      }
      if (this.isBackingOff(next)) {
        this.unschedulable.delete(key);
        this.backoff.push(next);
      } else this.toActive(next);
      return;
    }
    if (!this.inFlight.has(key)) this.add(pod);
  }

  delete(pod: Pod): void {
    const key = podKey(pod);
    this.active.delete(key);
    this.backoff.delete(key);
    this.unschedulable.delete(key);
    this.deleteNominated(key);
  }

  /** The next pod to schedule; waits while the active queue is empty (undefined once closed). */
  pop(): Promise<QueuedPodInfo | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const q = this.active.pop();
    if (q) {
      this.startCycle(q);
      return Promise.resolve(q);
    }
    return new Promise((r) => this.waiters.push(r));
  }

  private startCycle(q: QueuedPodInfo): void {
    this.schedulingCycle++;
    q.attempts++;
    q.initialAttempt ??= this.now();
    this.inFlight.add(q.pi.key);
  }

  /** The pod's scheduling attempt ended (success or not). */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  private backoffDuration(q: QueuedPodInfo): number {
    let d = this.initialBackoff;
    for (let i = 1; i < q.attempts && d < this.maxBackoff; i++) d *= 2;
    return Math.min(d, this.maxBackoff);
  }
  private isBackingOff(q: QueuedPodInfo): boolean {
    return q.backoffExpiry > this.now();
  }

  /** A failed pod returns: to backoff if a move request came during its cycle, else unschedulable. */
  addUnschedulable(q: QueuedPodInfo, podCycle: number): void {
    const key = q.pi.key;
    this.inFlight.delete(key);
    if (this.closed || this.active.has(key) || this.backoff.has(key) || this.unschedulable.has(key)) return;
    q.timestamp = this.now();
    q.backoffExpiry = this.now() + this.backoffDuration(q);
    if (this.moveRequestCycle >= podCycle || q.unschedulablePlugins.size === 0) this.backoff.push(q);
    else this.unschedulable.set(key, { ...q, since: this.now() });
  }

  /** Backed-off pods whose time is up go active (the 1 s timer calls it). */
  flushBackoff(): void {
    const now = this.now();
    for (let q = this.backoff.peek(); q && q.backoffExpiry <= now; q = this.backoff.peek()) {
      this.backoff.pop();
      this.toActive(q);
    }
  }

  /** Pods unschedulable for over 5 minutes retry (the 30 s timer calls it). */
  flushUnschedulableLeftover(): void {
    const now = this.now();
    const due = [...this.unschedulable.values()].filter((q) => !q.gated && now - q.since > this.maxUnschedulable);
    for (const q of due) this.moveOne(q);
  }

  private moveOne(q: QueuedPodInfo): void {
    this.unschedulable.delete(q.pi.key);
    if (this.isBackingOff(q)) this.backoff.push(q);
    else this.toActive(q);
  }

  private interested(q: QueuedPodInfo, resource: EventResource, action: EventAction): boolean {
    if (q.unschedulablePlugins.size === 0) return true;
    for (const name of q.unschedulablePlugins)
      for (const ev of this.interest.get(name) ?? [])
        if (
          ev.resource === resource &&
          (ev.actions.includes(action) || (ev.actions.includes('Update') && action.startsWith('Update')))
        )
          return true;
    return false;
  }

  private eventOfInterest(resource: EventResource, action: EventAction): boolean {
    for (const evs of this.interest.values())
      for (const ev of evs)
        if (
          ev.resource === resource &&
          (ev.actions.includes(action) || (ev.actions.includes('Update') && action.startsWith('Update')))
        )
          return true;
    return false;
  }

  /** A cluster event: unschedulable pods whose rejecting plugins care move on. */
  moveAllOnEvent(resource: EventResource, action: EventAction, filter?: (p: Pod) => boolean): void {
    if (!this.eventOfInterest(resource, action)) return;
    for (const q of [...this.unschedulable.values()]) {
      if (q.gated || (filter && !filter(q.pi.pod))) continue;
      if (this.interested(q, resource, action)) this.moveOne(q);
    }
    this.moveRequestCycle = this.schedulingCycle;
  }

  // --- nominator ---
  private updateNominated(pod: Pod): void {
    const key = podKey(pod);
    const node = pod.status?.nominatedNodeName;
    if (pod.spec.nodeName || !node) {
      this.deleteNominated(key);
      return;
    }
    this.addNominated(new PodInfo(pod), node);
  }

  addNominated(pi: PodInfo, node: string): void {
    this.deleteNominated(pi.key);
    if (!node) return;
    let m = this.nominated.get(node);
    if (!m) this.nominated.set(node, (m = new Map()));
    m.set(pi.key, pi);
    this.nominatedNodeOf.set(pi.key, node);
  }

  deleteNominated(key: string): void {
    const node = this.nominatedNodeOf.get(key);
    if (!node) return;
    this.nominatedNodeOf.delete(key);
    const m = this.nominated.get(node);
    m?.delete(key);
    if (m && !m.size) this.nominated.delete(node);
  }

  anyNominated(): boolean {
    return this.nominated.size > 0;
  }

  nominatedPodsForNode(node: string): readonly PodInfo[] {
    const m = this.nominated.get(node);
    return m ? [...m.values()] : NONE;
  }
}

const NONE: readonly PodInfo[] = Object.freeze([]);

/** Whether a pod update may change its schedulability (status and resourceVersion aside). */
function specOrLabelsChanged(a: Pod, b: Pod): boolean {
  return (
    JSON.stringify(a.spec) !== JSON.stringify(b.spec) ||
    JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}) ||
    JSON.stringify(a.metadata.annotations ?? {}) !== JSON.stringify(b.metadata.annotations ?? {})
  );
}
