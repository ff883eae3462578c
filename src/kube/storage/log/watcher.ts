// One watch over a revision log. A watcher is either live (the store pushes each committed event
// to it synchronously, right after commit) or catching up (it reads the log itself, in batches,
// from the last revision it queued). A new watch from a past revision starts catching up; a live
// watcher whose consumer falls behind by more than `bufferLimit` events drops back to catching
// up instead of growing without bound (etcd's synced/unsynced watchers). Both moves happen inside
// one synchronous step, so no event is missed or duplicated between log reads and pushes.
import type { Watch, WatchEvent } from '../types.js';
import type { EventRow, LogBackend } from './backend.js';
import { rowToEvent } from './events.js';
import { compacted } from '../errors.js';
import { toSkiffError } from '../../../common/index.js';

const CATCH_UP_BATCH = 1000;

export interface WatcherHost {
  backend: LogBackend;
  /** Rows above this revision are committed but not yet acknowledged (their sync is in flight). */
  visibleRevision(): number;
  remove(w: LogWatcher): void;
}

export class LogWatcher implements Watch {
  private buf: WatchEvent[] = [];
  private head = 0;
  private waiter?: { resolve: (r: IteratorResult<WatchEvent>) => void; reject: (e: unknown) => void };
  private error?: Error;
  private closed = false;
  live = false;
  /** Every event with a revision ≤ lastRev under the prefix has been queued. */
  private lastRev: number;

  constructor(
    private readonly host: WatcherHost,
    readonly prefix: string,
    fromRev: number,
    readonly progressNotify: boolean,
    private readonly bufferLimit: number,
  ) {
    this.lastRev = fromRev;
  }

  /** Called by the store in the same synchronous step as registering the watcher. */
  startLive(): void {
    this.live = true;
  }

  /** Live events (already filtered by prefix), in revision order. */
  push(events: readonly WatchEvent[], revs: readonly number[]): void {
    if (!this.live || this.closed) return;
    for (let i = 0; i < events.length; i++) {
      if (revs[i] <= this.lastRev) continue;
      if (this.buf.length - this.head >= this.bufferLimit) {
        this.live = false;
        break;
      }
      this.buf.push(events[i]);
      this.lastRev = revs[i];
    }
    this.wake();
  }

  /** A bookmark: everything up to `revision` has been queued (only while live). */
  progress(revision: number): void {
    if (!this.live || this.closed || !this.progressNotify) return;
    if (revision > this.lastRev) this.lastRev = revision;
    this.buf.push({ type: 'PROGRESS', revision: this.lastRev });
    this.wake();
  }

  fail(err: Error): void {
    if (this.closed || this.error) return;
    this.error = err;
    this.live = false;
    this.host.remove(this);
    this.wake();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.live = false;
    this.buf = [];
    this.head = 0;
    this.host.remove(this);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    // The hot path of fan-out: hand the event straight to the waiting consumer.
    if (this.head < this.buf.length) w.resolve({ value: this.buf[this.head++], done: false });
    else this.next().then(w.resolve, w.reject);
  }

  /** Reads the next batch from the log; goes live when it reaches the end. Synchronous. */
  private catchUp(): void {
    const b = this.host.backend;
    try {
      const compactRev = b.compactRevision();
      if (this.lastRev < compactRev) {
        this.fail(compacted(this.lastRev, compactRev));
        return;
      }
      const visible = this.host.visibleRevision();
      const read: EventRow[] = b.eventsAfter(this.prefix, this.lastRev, CATCH_UP_BATCH);
      // Rows of a group still being synced come later, pushed live when it is acknowledged.
      const rows = read.length && read[read.length - 1].rev > visible ? read.filter((r) => r.rev <= visible) : read;
      for (const r of rows) this.buf.push(rowToEvent(r));
      if (rows.length) this.lastRev = rows[rows.length - 1].rev;
      if (rows.length < CATCH_UP_BATCH) {
        if (visible > this.lastRev) this.lastRev = visible;
        this.live = true;
      }
    } catch (e) {
      this.fail(toSkiffError(e));
    }
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    for (;;) {
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
        this.closed = true;
        this.error = undefined;
        return Promise.reject(e);
      }
      if (this.closed) return Promise.resolve({ value: undefined, done: true });
      if (this.live) break;
      this.catchUp();
    }
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
