// An unbounded async queue of watch events, for backends whose events arrive from elsewhere
// (etcd's gRPC stream). The log backends use LogWatcher instead, which can fall back to the log.
import type { Watch, WatchEvent } from './types.js';

export class EventQueue implements Watch {
  private buf: WatchEvent[] = [];
  private head = 0;
  private waiter?: { resolve: (r: IteratorResult<WatchEvent>) => void; reject: (e: unknown) => void };
  private error?: Error;
  private ended = false;
  closed = false;

  constructor(private readonly onClose: () => void) {}

  push(ev: WatchEvent): void {
    if (this.ended || this.closed) return;
    this.buf.push(ev);
    this.wake();
  }

  /** Ends the stream with an error (delivered after the events already queued). */
  fail(err: Error): void {
    if (this.ended || this.closed) return;
    this.error = err;
    this.ended = true;
    this.onClose();
    this.wake();
  }

  /** Ends the stream without error, after the events already queued. */
  end(): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    this.onClose();
    this.wake();
  }

  /** Events queued and not yet read. */
  get size(): number {
    return this.buf.length - this.head;
  }

  close(): void {
    if (this.closed) return;
    const wasEnded = this.ended;
    this.closed = true;
    this.ended = true;
    this.buf = [];
    this.head = 0;
    this.error = undefined;
    if (!wasEnded) this.onClose();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    if (this.head < this.buf.length) w.resolve({ value: this.buf[this.head++], done: false });
    else this.next().then(w.resolve, w.reject);
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.head < this.buf.length) {
      const value = this.buf[this.head++];
      if (this.head > 1024 && this.head * 2 > this.buf.length) {
        this.buf = this.buf.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.error) {
      const e = this.error;
      this.error = undefined;
      this.closed = true;
      return Promise.reject(e);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter) return Promise.reject(new Error('watch: next() called again before the previous call settled'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<WatchEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return this;
  }
}
