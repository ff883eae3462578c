// Store over a synchronous revision log (memory or SQLite): reads go straight to the log; writes
// are queued and committed in groups (one transaction per turn of the event loop, "group
// commit"), each checked against the key's latest row inside the transaction (compare-and-swap).
// A durable backend (SQLite by default) has a `sync()` barrier (an fsync off the event loop): a
// committed group is acknowledged, published to watchers and made visible to reads only once its
// sync resolves; writes arriving meanwhile queue up and form the next group, so one fsync covers
// every write that arrived during the previous one. Without `sync()` (memory, SQLite `sync=normal`)
// a group is acknowledged and published in the same synchronous step as its commit.
import type { KeyValue, ListOptions, ListResult, Store, Watch, WatchEvent } from '../types.js';
import type { EventRow, LogBackend, Row } from './backend.js';
import { LogWatcher, type WatcherHost } from './watcher.js';
import { rowToEvent, rowToKv } from './events.js';
import { decodeContinue, encodeContinue, keyAfter } from '../continue.js';
import {
  checkKey,
  checkRevision,
  compacted,
  futureRevision,
  keyExists,
  keyNotFound,
  revisionConflict,
} from '../errors.js';
import { invalidArgument, toSkiffError, unavailable, type Logger } from '../../../common/index.js';
import { Compactor, type CompactorOptions } from '../compactor.js';

export interface LogStoreOptions extends CompactorOptions {
  logger?: Logger;
  /** Commit queued writes together once per event-loop turn (default true); false = one transaction per write, at once. */
  groupCommit?: boolean;
  /** Interval of PROGRESS events for watches that asked for them (default 10 s). */
  progressIntervalMs?: number;
  /** Events a live watcher may hold unread before it falls back to reading the log (default 10 000). */
  watchBufferLimit?: number;
}

const COMPACT_STEP_MS = 4;
const LIST_CHUNK = 500;

type Op =
  | { kind: 'create'; key: string; value: Uint8Array }
  | { kind: 'update'; key: string; value: Uint8Array; expected: number }
  | { kind: 'delete'; key: string; expected: number };

/** Syncs of committed groups that may run at once: a group commits while the previous one's
 *  fsync is running and starts its own, so a write waits for about one fsync, not two. */
const MAX_SYNCS_IN_FLIGHT = 2;

interface Group {
  batch: Pending[];
  results: (EventRow | Error)[];
  /** The log's revision after this group's transaction. */
  rev: number;
}

interface Pending {
  op: Op;
  resolve: (kv: KeyValue) => void;
  reject: (e: unknown) => void;
}

export class LogStore implements Store, WatcherHost {
  private queue: Pending[] = [];
  private flushScheduled = false;
  private closed = false;
  /** Newest revision that reads, watches and acknowledgements may expose (durable when the backend syncs). */
  private visible: number;
  /** Syncs in flight (at most MAX_SYNCS_IN_FLIGHT) and the committed groups waiting for one. */
  private syncing: Promise<void>[] = [];
  private unsynced: Group[] = [];
  private durableRev = 0;
  private durableWaiters: (() => void)[] = [];
  /** Set when a sync failed: the log's durability is unknown, so the store refuses everything after. */
  private failed?: Error;
  /** Live and catching-up watchers, grouped by prefix (few distinct prefixes, many watchers). */
  private watchers = new Map<string, Set<LogWatcher>>();
  private progressTimer?: NodeJS.Timeout;
  private readonly groupCommit: boolean;
  private readonly bufferLimit: number;
  private readonly compactor: Compactor;
  private compactStep = 100;

  constructor(
    readonly backend: LogBackend,
    opts: LogStoreOptions = {},
  ) {
    this.groupCommit = opts.groupCommit ?? true;
    this.visible = backend.currentRevision();
    this.durableRev = this.visible;
    this.bufferLimit = opts.watchBufferLimit ?? 10_000;
    const every = opts.progressIntervalMs ?? 10_000;
    this.progressTimer = setInterval(() => this.sendProgress(), every);
    this.progressTimer.unref();
    this.compactor = new Compactor(this, opts, (e) =>
      opts.logger?.warn('storage: automatic compaction failed', { error: String(e) }),
    );
  }

  private open(): void {
    if (this.failed) throw this.failed;
    if (this.closed) throw unavailable('store is closed', { reason: 'StoreClosed' });
  }

  /** The newest revision reads may see (WatcherHost: catch-up reads stop there). */
  visibleRevision(): number {
    return this.visible;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.open();
    checkKey(key);
    const r = this.backend.latest(key);
    // Written by the group whose sync is in flight: answered once that group is durable.
    if (r && r.rev > this.visible) await this.durable(r.rev);
    return r && !r.deleted ? rowToKv(r) : undefined;
  }

  /** Resolves once `rev` is visible (its group synced); rejects when the sync failed. */
  private async durable(rev: number): Promise<void> {
    while (this.visible < rev) {
      if (this.failed) throw this.failed;
      await new Promise<void>((resolve) => this.durableWaiters.push(resolve));
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.open();
    if (typeof prefix !== 'string') throw invalidArgument('prefix must be a string', { field: 'prefix' });
    const limit = checkRevision('limit', opts.limit);
    let rev = checkRevision('revision', opts.revision);
    let start = prefix;
    let known: number | undefined;
    if (opts.continue) {
      const c = decodeContinue(opts.continue, prefix);
      if (rev !== 0 && rev !== c.revision) {
        throw invalidArgument(`revision ${rev} differs from the continue token's revision ${c.revision}`, {
          field: 'revision',
        });
      }
      rev = c.revision;
      start = c.startKey;
      known = c.remaining;
    }
    const cur = this.visible;
    if (rev === 0) rev = cur;
    if (rev > cur) throw futureRevision(rev, cur);
    this.checkCompacted(rev);
    // Read in chunks, yielding to the event loop between them, so a 10 000-key list does not
    // hold up writes and watch delivery for its whole duration. Every chunk reads at `rev`.
    const want = limit || Infinity;
    const rows: Row[] = [];
    let from = start;
    for (;;) {
      const n = Math.min(LIST_CHUNK, want + 1 - rows.length);
      const chunk = this.backend.listAt(prefix, from, rev, n);
      for (const r of chunk) rows.push(r);
      if (chunk.length < n || rows.length > want) break;
      from = keyAfter(chunk[chunk.length - 1].key);
      await new Promise((r) => setImmediate(r));
      this.open();
      this.checkCompacted(rev);
    }
    const result: ListResult = { items: [], revision: rev };
    if (limit && rows.length > limit) {
      rows.length = limit;
      const next = keyAfter(rows[limit - 1].key);
      // Counted once, on the first page; later pages subtract (the list is at one revision).
      const remaining = known !== undefined ? Math.max(0, known - limit) : this.backend.countAt(prefix, next, rev);
      result.continue = encodeContinue(rev, next, remaining);
      result.remaining = remaining;
    }
    result.items = rows.map(rowToKv);
    return result;
  }

  private checkCompacted(rev: number): void {
    const compactRev = this.backend.compactRevision();
    if (rev < compactRev) throw compacted(rev, compactRev);
  }

  async count(prefix: string): Promise<number> {
    this.open();
    return this.backend.countAt(prefix, prefix, this.visible);
  }

  create(key: string, value: Uint8Array): Promise<KeyValue> {
    return this.enqueue({ kind: 'create', key, value });
  }

  update(key: string, value: Uint8Array, expectedRevision: number): Promise<KeyValue> {
    return this.enqueue({ kind: 'update', key, value, expected: expectedRevision });
  }

  delete(key: string, expectedRevision: number): Promise<KeyValue> {
    return this.enqueue({ kind: 'delete', key, expected: expectedRevision });
  }

  private enqueue(op: Op): Promise<KeyValue> {
    try {
      this.open();
      checkKey(op.key);
      if (op.kind !== 'delete' && !(op.value instanceof Uint8Array))
        throw invalidArgument('value must be a Uint8Array', { field: 'value' });
      if (op.kind !== 'create') op.expected = checkRevision('expectedRevision', op.expected);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (!this.groupCommit) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Applies one op inside the transaction; returns the appended row, or an error that leaves the log unchanged. */
  private apply(op: Op): EventRow | Error {
    const b = this.backend;
    const cur = b.latest(op.key);
    const live = cur && !cur.deleted ? cur : undefined;
    if (op.kind === 'create') {
      if (live) return keyExists(op.key);
      return b.append({ key: op.key, value: op.value, createRev: 0, prevRev: 0, deleted: false });
    }
    if (!live) return keyNotFound(op.key);
    if (op.expected !== 0 && op.expected !== live.rev) return revisionConflict(op.key, op.expected, live.rev);
    const row: Row =
      op.kind === 'update'
        ? b.append({ key: op.key, value: op.value, createRev: live.createRev, prevRev: live.rev, deleted: false })
        : b.append({ key: op.key, value: live.value, createRev: live.createRev, prevRev: live.rev, deleted: true });
    return { ...row, prev: live };
  }

  private flush(): void {
    this.flushScheduled = false;
    // Enough groups are being synced: the queue forms the next group when one of them resolves.
    if (this.syncing.length >= MAX_SYNCS_IN_FLIGHT) return;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (this.failed) {
      for (const p of batch) p.reject(this.failed);
      return;
    }
    let results: (EventRow | Error)[];
    try {
      results = this.backend.transaction(() => batch.map((p) => this.apply(p.op)));
    } catch (e) {
      const err = toSkiffError(e);
      for (const p of batch) p.reject(err);
      return;
    }
    const group = { batch, results, rev: this.backend.currentRevision() };
    const sync = this.backend.sync;
    if (!sync) {
      this.settle(group);
      return;
    }
    // Acknowledged in commit order: a group waits for the groups committed before it.
    this.unsynced.push(group);
    if (results.every((r) => r instanceof Error)) {
      this.syncedUpTo(this.durableRev);
      return;
    }
    // fsync covers everything written to the file before it started, so a sync that completes
    // makes every group committed before it durable (also those whose own sync is still running).
    const p = sync.call(this.backend).then(
      () => {
        this.syncing.splice(this.syncing.indexOf(p), 1);
        this.syncedUpTo(group.rev);
        if (this.queue.length) this.flush();
      },
      (e: unknown) => {
        this.syncing.splice(this.syncing.indexOf(p), 1);
        // The transaction is in the log but may not be on disk, and a failed fsync cannot be
        // retried safely (the kernel may have dropped the dirty pages): refuse everything from now
        // on; a restart recovers what the disk holds.
        this.failed ??= unavailable(
          `storage: syncing the log to disk failed: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e, reason: 'SyncFailed' },
        );
        for (const g of this.unsynced.splice(0)) for (const x of g.batch) x.reject(this.failed);
        for (const x of this.queue.splice(0)) x.reject(this.failed);
        this.wakeDurable();
      },
    );
    this.syncing.push(p);
  }

  /** Everything up to `rev` is on disk: acknowledge the groups it covers, in order. */
  private syncedUpTo(rev: number): void {
    if (rev > this.durableRev) this.durableRev = rev;
    while (this.unsynced.length && this.unsynced[0].rev <= this.durableRev) this.settle(this.unsynced.shift()!);
    this.wakeDurable();
  }

  private wakeDurable(): void {
    const w = this.durableWaiters;
    this.durableWaiters = [];
    for (const f of w) f();
  }

  /** Acknowledges a committed (and, with a durable backend, synced) group and publishes its events. */
  private settle({ batch, results, rev }: Group): void {
    this.visible = rev;
    const committed: EventRow[] = [];
    for (let i = 0; i < batch.length; i++) {
      const r = results[i];
      if (r instanceof Error) batch[i].reject(r);
      else {
        committed.push(r);
        batch[i].resolve(rowToKv(r));
      }
    }
    if (committed.length) this.publish(committed);
  }

  private publish(rows: EventRow[]): void {
    // One event object per row, shared by every watcher (of every prefix) that gets it, so a
    // consumer can memoize per event (decoding, serialization) across watchers.
    const shared: (WatchEvent | undefined)[] = new Array(rows.length);
    for (const [prefix, set] of this.watchers) {
      if (set.size === 0) continue;
      const events: WatchEvent[] = [];
      const revs: number[] = [];
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        if (r.key.startsWith(prefix)) {
          events.push((shared[i] ??= rowToEvent(r)));
          revs.push(r.rev);
        }
      }
      if (events.length === 0) continue;
      for (const w of set) w.push(events, revs);
    }
  }

  private sendProgress(): void {
    if (this.closed) return;
    const cur = this.visible;
    for (const set of this.watchers.values()) for (const w of set) w.progress(cur);
  }

  watch(prefix: string, fromRevision: number, opts: { signal?: AbortSignal; progressNotify?: boolean } = {}): Watch {
    const w = new LogWatcher(this, prefix, 0, opts.progressNotify ?? false, this.bufferLimit);
    try {
      this.open();
      if (typeof prefix !== 'string') throw invalidArgument('prefix must be a string', { field: 'prefix' });
      const from = checkRevision('fromRevision', fromRevision);
      const w2 = new LogWatcher(
        this,
        prefix,
        from === 0 ? this.visible : from,
        opts.progressNotify ?? false,
        this.bufferLimit,
      );
      let set = this.watchers.get(prefix);
      if (!set) this.watchers.set(prefix, (set = new Set()));
      set.add(w2);
      // From now (or from the future): live at once. From the past: catch up from the log first.
      if (from === 0 || from >= this.visible) w2.startLive();
      else {
        const compactRev = this.backend.compactRevision();
        if (from < compactRev) w2.fail(compacted(from, compactRev));
      }
      if (opts.signal) {
        if (opts.signal.aborted) w2.close();
        else opts.signal.addEventListener('abort', () => w2.close(), { once: true });
      }
      return w2;
    } catch (e) {
      w.fail(toSkiffError(e));
      return w;
    }
  }

  remove(w: LogWatcher): void {
    const set = this.watchers.get(w.prefix);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.watchers.delete(w.prefix);
  }

  async currentRevision(): Promise<number> {
    this.open();
    return this.visible;
  }

  async compact(revision: number): Promise<void> {
    this.open();
    const rev = checkRevision('revision', revision);
    const cur = this.visible;
    if (rev > cur) throw futureRevision(rev, cur);
    // In short steps, yielding to the event loop between them, so that a large compaction never
    // holds up writes (compacting to r1 then to r2 equals compacting to r2). The step size adapts
    // so that each step takes about COMPACT_STEP_MS (deleting 1000 revisions took ~30 ms here).
    while (!this.closed && this.backend.compactRevision() < rev) {
      const t0 = performance.now();
      this.backend.compact(Math.min(rev, this.backend.compactRevision() + this.compactStep));
      const took = performance.now() - t0;
      if (took < COMPACT_STEP_MS / 2) this.compactStep = Math.min(this.compactStep * 2, 10_000);
      else if (took > COMPACT_STEP_MS * 2) this.compactStep = Math.max(Math.floor(this.compactStep / 2), 10);
      if (this.backend.compactRevision() < rev) await new Promise((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Every write queued before close is committed (and synced) before the backend closes.
    for (;;) {
      this.flush();
      if (this.syncing.length === 0) break;
      await Promise.allSettled(this.syncing);
    }
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.progressTimer);
    this.compactor.stop();
    for (const set of [...this.watchers.values()]) for (const w of [...set]) w.close();
    this.watchers.clear();
    await this.backend.close();
  }
}
