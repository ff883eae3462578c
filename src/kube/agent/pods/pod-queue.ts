// The scheduling of pod syncs, as kubelet's pod workers: every pod has a worker of its own (a
// promise chain here, a goroutine there), so a pod's syncs never overlap and no pod ever waits for
// another — a pod in a long graceful termination (a PID 1 that ignores SIGTERM waits out its
// grace period) holds only itself. Upstream has no global limit either: what must be serialized
// (the network, the snapshotter) is serialized by the runtime where it is needed.
// A key added while its sync runs is synced once more afterwards (updates coalesce); a key added
// later keeps only its earliest time. A sync that throws is retried after an exponential back-off
// with jitter (100 ms doubling to 10 s, kubelet's backOffPeriod, × [1, 1.5) as its
// workerBackOffPeriodJitterFactor of 0.5), reset by a sync that succeeds.
import { DelayedAdds } from '../../client/index.js';
export const RETRY_FIRST_MS = 100;
export const RETRY_MAX_MS = 10_000;
/** kubelet's backOffPeriod: how long a pod whose sync failed (a sandbox that could not be made)
 *  waits before the next attempt, jittered by 0.5 (pod_workers.go completeWork). */
export const BACKOFF_PERIOD_MS = 10_000;

/** wait.Jitter(d, 0.5): a duration in [d, 1.5 d). */
export const jitter = (ms: number, factor = 0.5, rand: () => number = Math.random) =>
  Math.round(ms + rand() * factor * ms);

export class PodQueue<K = string> {
  private running = new Set<K>();
  private dirty = new Set<K>();
  private failures = new Map<K, number>();
  private later = new DelayedAdds<K>((k) => this.add(k));
  private stopped = false;
  private sync: ((k: K) => Promise<void>) | undefined;
  private onError: ((k: K, e: unknown) => void) | undefined;

  /** Syncs running now (tests, metrics). */
  get active(): number {
    return this.running.size;
  }

  run(sync: (k: K) => Promise<void>, onError?: (k: K, e: unknown) => void): void {
    this.sync = sync;
    this.onError = onError;
    for (const k of this.dirty) if (!this.running.has(k)) this.start(k);
  }

  add(k: K): void {
    if (this.stopped) return;
    this.dirty.add(k);
    if (this.sync && !this.running.has(k)) this.start(k);
  }

  addAfter(k: K, ms: number): void {
    if (this.stopped) return;
    this.later.after(k, ms);
  }

  private start(k: K): void {
    const sync = this.sync!;
    this.dirty.delete(k);
    this.running.add(k);
    void (async () => {
      try {
        await sync(k);
        this.failures.delete(k);
      } catch (e) {
        this.onError?.(k, e);
        const n = this.failures.get(k) ?? 0;
        this.failures.set(k, n + 1);
        this.addAfter(k, jitter(Math.min(RETRY_FIRST_MS * 2 ** n, RETRY_MAX_MS)));
      } finally {
        this.running.delete(k);
        if (this.dirty.has(k) && !this.stopped) this.start(k);
      }
    })();
  }

  stop(): void {
    this.stopped = true;
    this.later.clear();
    this.dirty.clear();
  }
}
