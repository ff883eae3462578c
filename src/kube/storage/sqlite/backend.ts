// The revision log in SQLite (better-sqlite3, synchronous, prepared statements). This process is
// the only writer: it holds an exclusive lock on PATH.lock (a tiny SQLite file in EXCLUSIVE locking
// mode; the kernel drops the lock when the process dies), so a second server gets "in use"
// instead of writing events that this one's watchers would never see. The main database stays in
// normal (shared) WAL mode so that a worker thread can checkpoint it (see checkpointer.ts).
import { openSync, closeSync, fsyncSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { EventRow, LogBackend, NewRow, Row } from '../log/backend.js';
import { prefixEnd } from '../continue.js';
import { SCHEMA, SCHEMA_VERSION, SQL } from './schema.js';
import { failedPrecondition, unavailable } from '../../../common/index.js';
import { Checkpointer } from './checkpointer.js';

/** Keys whose latest row stays in memory (a row holds its value: ~10 MB of pods). */
const LATEST_ROWS = 8192;

/** Upper bound for the prefix '' (every key): the largest code point twice. */
const MAX_KEY = '\u{10FFFF}\u{10FFFF}';

interface DbRow {
  rev: number;
  key: string;
  createRev: number;
  prevRev: number;
  deleted: number;
  value: Buffer;
}
interface DbEventRow extends DbRow {
  pRev: number | null;
  pCreateRev: number | null;
  pValue: Buffer | null;
}

function toRow(r: DbRow): Row {
  return {
    rev: r.rev,
    key: r.key,
    value: r.value,
    createRev: r.createRev,
    prevRev: r.prevRev,
    deleted: r.deleted === 1,
  };
}

export interface SqliteBackendOptions {
  /** `FULL` (default): every acknowledged write is on stable storage (see `sync`). `NORMAL`: the
   *  opt-in fast mode, which survives a process crash but may lose the last writes on power loss. */
  synchronous?: 'NORMAL' | 'FULL';
  checkpointIntervalMs?: number;
  onError?: (msg: string) => void;
}

export class SqliteBackend implements LogBackend {
  private readonly db: Database.Database;
  private rev: number;
  private compactRev: number;
  private readonly st: { [K in keyof typeof SQL]: Database.Statement };
  private readonly tx: (fn: () => unknown) => unknown;

  private readonly lock: Database.Database;
  private checkpointer?: Checkpointer;
  private wal?: Promise<FileHandle>;
  /** Present in durable mode (the default): fsyncs the WAL; see the class comment on sync. */
  readonly sync?: () => Promise<void>;

  constructor(
    readonly path: string,
    opts: SqliteBackendOptions = {},
  ) {
    this.lock = SqliteBackend.takeLock(path);
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 5000 });
    } catch (e) {
      this.lock.close();
      throw e;
    }
    try {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal')
        throw failedPrecondition(`sqlite: cannot switch ${path} to WAL mode (got ${mode})`);
      // Durable mode is SQLite's FULL (the WAL fsynced at every commit) with the fsync moved off
      // the event loop: the connection runs NORMAL (which still syncs at checkpoints and when the
      // WAL restarts) and the store calls sync() — an fdatasync of the WAL on libuv's thread pool —
      // before it acknowledges a group of writes. better-sqlite3 would otherwise block the whole
      // server for each fsync (several ms here, tens under load).
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -16000');
      db.pragma('temp_store = MEMORY');
      db.pragma('journal_size_limit = 67108864');
      db.exec(SCHEMA);
      // checkpointIntervalMs 0: no worker; SQLite's automatic checkpoints on this connection.
      if (opts.checkpointIntervalMs !== 0)
        try {
          this.checkpointer = new Checkpointer(path, opts.checkpointIntervalMs ?? 1000, (msg) =>
            opts.onError?.(`sqlite checkpoint: ${msg}`),
          );
          db.pragma('wal_autocheckpoint = 0');
        } catch (e) {
          opts.onError?.(`sqlite: checkpoints stay on the main thread: ${String(e)}`);
        }
    } catch (e) {
      db.close();
      this.lock.close();
      throw e;
    }
    this.db = db;
    this.st = Object.fromEntries(Object.entries(SQL).map(([k, v]) => [k, db.prepare(v)])) as SqliteBackend['st'];
    const version = (this.st.getMeta.get('schema_version') as { value: number } | undefined)?.value;
    if (version === undefined) this.st.setMeta.run('schema_version', SCHEMA_VERSION);
    else if (version > SCHEMA_VERSION) {
      void this.close();
      throw failedPrecondition(
        `sqlite: ${path} has schema version ${version}, newer than this Skiff (${SCHEMA_VERSION})`,
      );
    }
    this.rev = (this.st.maxRev.get() as { n: number | null }).n ?? 0;
    this.compactRev = (this.st.getMeta.get('compact_rev') as { value: number } | undefined)?.value ?? 0;
    const t = db.transaction((fn: () => unknown) => fn());
    this.tx = (fn) => t.immediate(fn);
    if ((opts.synchronous ?? 'FULL') === 'FULL') this.sync = () => this.syncWal();
  }

  /** fdatasync of the WAL file, which holds every committed transaction not yet checkpointed (the
   *  checkpointer syncs the database file itself before the WAL is reused). fsync acts on the
   *  file, not the descriptor, so a descriptor of our own covers SQLite's writes. The WAL exists
   *  from the first commit on and keeps its inode while the database is open. */
  private async syncWal(): Promise<void> {
    this.wal ??= openFile(`${this.path}-wal`, 'r').then((fh) => {
      // Once: the WAL's directory entry itself must be durable.
      const dir = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
      return fh;
    });
    let fh: FileHandle;
    try {
      fh = await this.wal;
    } catch (e) {
      this.wal = undefined;
      throw e;
    }
    await fh.datasync();
  }

  /** One server per database: an EXCLUSIVE-mode write on PATH.lock holds the lock until close or death. */
  private static takeLock(path: string): Database.Database {
    const lock = new Database(`${path}.lock`, { timeout: 200 });
    try {
      lock.pragma('locking_mode = EXCLUSIVE');
      lock.exec('CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY, pid INTEGER, since TEXT)');
      lock
        .prepare('INSERT OR REPLACE INTO owner (id, pid, since) VALUES (1, ?, ?)')
        .run(process.pid, new Date().toISOString());
      return lock;
    } catch (e) {
      lock.close();
      if (e instanceof Error && /locked|busy/i.test(e.message)) {
        throw unavailable(`sqlite: ${path} is in use by another process (one server per database)`, {
          cause: e,
          reason: 'DatastoreLocked',
        });
      }
      throw e;
    }
  }

  currentRevision(): number {
    return this.rev;
  }
  compactRevision(): number {
    return this.compactRev;
  }

  /** The latest row of recently read or written keys, kept in step by append(): this process is the
   *  only writer. A read outside a transaction costs SQLite a read transaction of its own (the
   *  binding's read of its pod took 3 times the write's lookup in a profile). Cleared when a
   *  transaction rolls back and on compaction (which drops tombstones). */
  private latestRows = new Map<string, Row>();

  latest(key: string): Row | undefined {
    const hit = this.latestRows.get(key);
    if (hit) return hit;
    const r = this.st.latest.get(key) as DbRow | undefined;
    if (!r) return undefined;
    const row = toRow(r);
    this.keepLatest(row);
    return row;
  }

  private keepLatest(row: Row): void {
    this.latestRows.delete(row.key);
    this.latestRows.set(row.key, row);
    if (this.latestRows.size > LATEST_ROWS) this.latestRows.delete(this.latestRows.keys().next().value!);
  }

  listAt(prefix: string, startKey: string, rev: number, limit: number): Row[] {
    const rows = this.st.listAt.all({
      start: startKey,
      end: prefixEnd(prefix) ?? MAX_KEY,
      rev,
      limit: limit || -1,
    }) as DbRow[];
    return rows.map(toRow);
  }

  countAt(prefix: string, startKey: string, rev: number): number {
    return (this.st.countAt.get({ start: startKey, end: prefixEnd(prefix) ?? MAX_KEY, rev }) as { n: number }).n;
  }

  eventsAfter(prefix: string, afterRev: number, limit: number): EventRow[] {
    const rows = this.st.eventsAfter.all({
      after: afterRev,
      start: prefix,
      end: prefixEnd(prefix) ?? MAX_KEY,
      limit,
    }) as DbEventRow[];
    return rows.map((r) => {
      const row: EventRow = toRow(r);
      if (r.pRev !== null)
        row.prev = { rev: r.pRev, key: r.key, value: r.pValue!, createRev: r.pCreateRev!, prevRev: 0, deleted: false };
      return row;
    });
  }

  append(n: NewRow): Row {
    const rev = this.rev + 1;
    const createRev = n.createRev || rev;
    this.st.insert.run(rev, n.key, createRev, n.prevRev, n.deleted ? 1 : 0, n.value);
    this.rev = rev;
    this.checkpointer?.written();
    const row = { rev, key: n.key, value: n.value, createRev, prevRev: n.prevRev, deleted: n.deleted };
    this.keepLatest(row);
    return row;
  }

  transaction<T>(fn: () => T): T {
    const mark = this.rev;
    try {
      return this.tx(fn) as T;
    } catch (e) {
      this.rev = mark; // the rows were rolled back with the transaction
      this.latestRows.clear();
      throw e;
    }
  }

  /** Compacts (compactRev, rev] in one transaction; the store calls it in steps to keep each short. */
  compact(rev: number): number {
    if (rev <= this.compactRev) return 0;
    const lo = this.compactRev;
    const removed = this.tx(() => {
      const a = this.st.compactPrev.run(lo, rev).changes;
      const b = this.st.compactTombstones.run(lo, rev).changes;
      this.st.setMeta.run('compact_rev', rev);
      return a + b;
    }) as number;
    this.compactRev = rev;
    this.latestRows.clear();
    return removed;
  }

  /** Moves the WAL's content into the database file (PASSIVE: never blocks). */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(PASSIVE)');
  }

  async close(): Promise<void> {
    const wal = this.wal;
    this.wal = undefined;
    // closing: the WAL handle may never have opened (then there is nothing to close)
    await wal?.then((fh) => fh.close()).catch(() => undefined);
    await this.checkpointer?.close();
    this.checkpointer = undefined;
    if (this.db.open) this.db.close();
    if (this.lock.open) this.lock.close();
  }
}
