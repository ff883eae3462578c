// Work queue as client-go's: a key queued several times is processed once; a key is never
// processed by two workers at once (re-added while in flight, it runs again afterwards);
// failures are retried with per-key exponential backoff (5 ms doubling to 30 s), and all retries
// of one queue share a token bucket (10/s, burst 100), as client-go's default controller rate
// limiter, so many failing keys cannot add up to a storm of retries. A key waiting
// to be added later keeps only its earliest time, as client-go's delaying queue does, so a
// controller that re-schedules itself on every pass cannot multiply its own wake-ups.
import { DelayedAdds } from './delayed-adds.js';
export class WorkQueue<K = string> {
  private queue: K[] = [];
  private dirty = new Set<K>();
  private processing = new Set<K>();
  private failures = new Map<K, number>();
  private later = new DelayedAdds<K>((k) => this.add(k));
  private waiters: (() => void)[] = [];
  private stopped = false;

  add(k: K): void {
    if (this.stopped || this.dirty.has(k)) return;
    this.dirty.add(k);
    if (this.processing.has(k)) return;
    this.queue.push(k);
    this.waiters.shift()?.();
  }

  addAfter(k: K, ms: number): void {
    if (this.stopped) return;
    this.later.after(k, ms);
  }

  private tokens = 100;
  private refilled = Date.now();

  addRateLimited(k: K): void {
    const n = this.failures.get(k) ?? 0;
    this.failures.set(k, n + 1);
    const now = Date.now();
    this.tokens = Math.min(100, this.tokens + ((now - this.refilled) / 1000) * 10);
    this.refilled = now;
    this.tokens -= 1;
    const bucket = this.tokens >= 0 ? 0 : (-this.tokens / 10) * 1000;
    this.addAfter(k, Math.max(Math.min(5 * 2 ** n, 30_000), bucket));
  }

  forget(k: K): void {
    this.failures.delete(k);
  }
  get length(): number {
    return this.queue.length;
  }

  private async next(): Promise<K | undefined> {
    while (!this.stopped && this.queue.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    if (this.stopped) return undefined;
    const k = this.queue.shift()!;
    this.dirty.delete(k);
    this.processing.add(k);
    return k;
  }

  private done(k: K): void {
    this.processing.delete(k);
    if (this.dirty.has(k)) {
      this.queue.push(k);
      this.waiters.shift()?.();
    }
  }

  /** Runs `workers` loops of `sync` until stop(); a throwing sync is retried rate-limited. */
  run(sync: (k: K) => Promise<void>, workers = 1, onError?: (k: K, e: unknown) => void): void {
    for (let i = 0; i < workers; i++) {
      void (async () => {
        for (let k = await this.next(); k !== undefined; k = await this.next()) {
          try {
            await sync(k);
            this.forget(k);
          } catch (e) {
            onError?.(k, e);
            this.addRateLimited(k);
          } finally {
            this.done(k);
          }
        }
      })();
    }
  }

  stop(): void {
    this.stopped = true;
    this.later.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
