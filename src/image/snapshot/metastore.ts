// Snapshot metadata (kinds, parent chains, labels) as an append-only journal: each change is one
// small checksummed line appended to `metadata.journal`, and the changes that arrive together share
// one append and one fdatasync (group commit); each is acknowledged once it is on disk. This
// replaced rewriting the whole document (temp file, fsync, rename) per batch: under pod churn that
// rewrite cost a file creation and a rename — journalled metadata operations, which waited behind
// the file system's commits for hundreds of ms — and grew with the number of snapshots.
// The journal is rewritten (compacted) from the live records when it holds many dead lines, at
// open and while running; a compaction writes a temporary file and renames it over the journal, so
// a crash leaves the old journal or the new one. A torn tail (a crash mid-append) fails its
// checksum and is dropped at open: it was never acknowledged. Directories are named by a numeric
// id so committing (a rename of the key) never moves data.
import {
  invalidArgument,
  notFound,
  alreadyExists,
  failedPrecondition,
  traceMark,
  traceNow,
} from '../../common/index.js';
import { readJsonFile } from '../atomic-file.js';
import { Journal } from './journal.js';
import type { SnapshotInfo, SnapshotKind } from './types.js';

export interface Record_ {
  id: number;
  kind: SnapshotKind;
  parent?: string;
  created: string;
  updated: string;
  labels: Record<string, string>;
  /** Overlay upper mounted with `volatile` (no sync at unmount): the boot it was prepared in. */
  volatileBoot?: string;
}

/** One change: a record put (added or replaced) or deleted. */
type Change = { put: string; rec: Record_ } | { del: string } | { nextId: number };

const KEY_RE = /^[^\0/][^\0]{0,1023}$/;

export function checkKey(key: string, field = 'key'): string {
  if (typeof key !== 'string' || !KEY_RE.test(key))
    throw invalidArgument(`invalid snapshot ${field} ${JSON.stringify(key)}`, { field });
  return key;
}

/** A mutation's view: reads see the newest state plus its own changes; nothing is kept if it throws.
 *  Records are never changed in place: `put` a new object. */
export class Tx {
  readonly changes = new Map<string, Record_ | null>();
  constructor(
    private readonly base: Map<string, Record_>,
    public nextId: number,
  ) {}
  get(key: string): Record_ | undefined {
    const c = this.changes.get(key);
    return c === null ? undefined : (c ?? this.base.get(key));
  }
  /** The record of `key` (not found: the typed error). */
  find(key: string): Record_ {
    const r = this.get(key);
    if (!r) throw notFound(`snapshot ${JSON.stringify(key)} does not exist`, { field: 'key' });
    return r;
  }
  put(key: string, rec: Record_): void {
    this.changes.set(key, rec);
  }
  delete(key: string): void {
    this.changes.set(key, null);
  }
  /** Keys whose parent is `key`. */
  children(key: string): string[] {
    const out: string[] = [];
    for (const [k, r] of this.base) if (r.parent === key && this.get(k)) out.push(k);
    for (const [k, r] of this.changes) if (r?.parent === key && !this.base.has(k)) out.push(k);
    return out;
  }
}

interface Pending {
  changes: Map<string, Record_ | null>;
  nextId: number;
  done: () => void;
  fail: (e: unknown) => void;
}

export class MetaStore {
  /** What is on disk: what readers see. */
  private durable = new Map<string, Record_>();
  /** `durable` plus the mutations applied since, waiting for the next append. */
  private working = new Map<string, Record_>();
  private nextId = 1;
  private pending: Pending[] = [];
  private writing = false;
  constructor(
    /** The journal file (`metadata.journal`); a `metadata.json` beside it (the older format) is
     *  taken over at open. */
    private readonly file: string,
    /** Compact when the journal holds more lines than this and 4 × the live records. */
    private readonly compactAt = 8192,
    /** Where the changes go (tests fail appends). */
    private readonly journal = new Journal(file),
  ) {}

  async load(): Promise<this> {
    const legacy = this.file.replace(/\.journal$/, '.json');
    const lines = await this.journal.open();
    let nextId = 1;
    if (lines === undefined) {
      // no journal yet: the older whole-document format, if any, becomes its first content
      const doc = await readJsonFile<{ nextId: number; snapshots: Record<string, Record_> }>(legacy);
      for (const [k, r] of Object.entries(doc?.snapshots ?? {})) this.durable.set(k, r);
      nextId = doc?.nextId ?? 1;
    } else {
      for (const c of lines as Change[]) {
        if ('put' in c) this.durable.set(c.put, c.rec);
        else if ('del' in c) this.durable.delete(c.del);
        else nextId = Math.max(nextId, c.nextId);
      }
    }
    for (const r of this.durable.values()) nextId = Math.max(nextId, r.id + 1);
    this.nextId = nextId;
    this.working = new Map(this.durable);
    if (lines === undefined || this.journal.torn || this.journal.lines > 2 * this.durable.size + 1024)
      await this.journal.rewrite(this.snapshotLines(this.durable, nextId));
    if (legacy !== this.file) await this.journal.removeFile(legacy);
    return this;
  }

  private snapshotLines(recs: Map<string, Record_>, nextId: number): Change[] {
    return [{ nextId }, ...[...recs].map(([put, rec]) => ({ put, rec }))];
  }

  /**
   * Applies `fn` to a view of the newest state (nothing changes if it throws) and resolves once an
   * append that includes it is on disk. Group commit: mutations that arrive while an append is in
   * flight share the next one (one fdatasync for the batch, not one per mutation).
   */
  mutate<T>(fn: (tx: Tx) => T): Promise<T> {
    const tx = new Tx(this.working, this.nextId);
    let r: T;
    try {
      r = fn(tx);
    } catch (e) {
      return Promise.reject(e);
    }
    for (const [k, v] of tx.changes) v ? this.working.set(k, v) : this.working.delete(k);
    this.nextId = Math.max(this.nextId, tx.nextId);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ changes: tx.changes, nextId: this.nextId, done: () => resolve(r), fail: reject });
      if (!this.writing) void this.writeLoop();
    });
  }

  /** A fresh snapshot id, unique in this process; persisted with the record that uses it. It need
   *  not be durable by itself: a directory without a record is removed on the next open. */
  reserveId(): number {
    return this.nextId++;
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0);
        const nextId = batch[batch.length - 1].nextId;
        let error: unknown;
        const t0 = traceNow();
        try {
          if (
            this.journal.failed ||
            this.journal.lines + batch.length > Math.max(this.compactAt, 4 * this.working.size)
          ) {
            // `working` is exactly `durable` plus this batch: nothing was applied since the cut
            await this.journal.rewrite(this.snapshotLines(this.working, nextId));
          } else {
            const lines: Change[] = [];
            for (const p of batch) for (const [k, v] of p.changes) lines.push(v ? { put: k, rec: v } : { del: k });
            await this.journal.append(lines);
          }
          for (const p of batch) for (const [k, v] of p.changes) v ? this.durable.set(k, v) : this.durable.delete(k);
        } catch (e) {
          // Mutations applied since were built on this batch: all of them fail, and the newest
          // state is the one on disk again (the journal drops what it may have half-appended).
          error = e;
          batch.push(...this.pending.splice(0));
          this.working = new Map(this.durable);
          this.nextId = Math.max(this.nextId, nextId);
        }
        traceMark('-snapshot', 'meta.write', t0);
        for (const p of batch) error === undefined ? p.done() : p.fail(error);
      }
    } finally {
      this.writing = false;
    }
  }

  /** Closes the journal (after the writes in flight). */
  async close(): Promise<void> {
    while (this.writing || this.pending.length) await new Promise((r) => setTimeout(r, 5));
    await this.journal.close();
  }

  get(key: string): Record_ {
    const r = this.durable.get(key);
    if (!r) throw notFound(`snapshot ${JSON.stringify(key)} does not exist`, { field: 'key' });
    return r;
  }

  has(key: string): boolean {
    return this.durable.has(key);
  }

  all(): [string, Record_][] {
    return [...this.durable];
  }

  ids(): Set<number> {
    return new Set([...this.durable.values()].map((r) => r.id));
  }

  /** Keys from `key`'s parent up to the base (nearest first). */
  chain(key: string): string[] {
    const out: string[] = [];
    for (let p = this.get(key).parent; p; p = this.get(p).parent) out.push(p);
    return out;
  }

  info(key: string): SnapshotInfo {
    const r = this.get(key);
    return {
      name: key,
      parent: r.parent,
      kind: r.kind,
      createdAt: new Date(r.created),
      updatedAt: new Date(r.updated),
      labels: { ...r.labels },
    };
  }

  /** Adds a new active/view snapshot record with id `id` (checks key and parent). */
  static add(
    tx: Tx,
    key: string,
    kind: SnapshotKind,
    parent: string | undefined,
    labels: Record<string, string> = {},
    id = tx.nextId++,
  ): Record_ {
    checkKey(key);
    if (tx.get(key)) throw alreadyExists(`snapshot ${JSON.stringify(key)} already exists`, { field: 'key' });
    if (parent !== undefined) {
      const p = tx.get(parent);
      if (!p) throw notFound(`parent snapshot ${JSON.stringify(parent)} does not exist`, { field: 'parent' });
      if (p.kind !== 'committed')
        throw failedPrecondition(`parent snapshot ${JSON.stringify(parent)} is ${p.kind}, not committed`, {
          field: 'parent',
        });
    }
    const now = new Date().toISOString();
    const r: Record_ = { id, kind, parent, created: now, updated: now, labels: { ...labels } };
    tx.put(key, r);
    return r;
  }
}
