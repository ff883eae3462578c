// Snapshot metadata (kinds, parent chains, labels), one JSON document replaced atomically; changes
// that arrive together share one write (group commit) and each is acknowledged once it is on disk.
// Directories are named by a numeric id so committing (a rename of the key) never moves data.
// Snapshots number in the hundreds, so rewriting the document is cheap.
import { invalidArgument, notFound, alreadyExists, failedPrecondition } from '../../common/index.js';
import { readJsonFile, writeFileAtomic } from '../atomic-file.js';
import type { SnapshotInfo, SnapshotKind } from './types.js';

export interface Record_ {
  id: number;
  kind: SnapshotKind;
  parent?: string;
  created: string;
  updated: string;
  labels: Record<string, string>;
}

interface Doc {
  nextId: number;
  snapshots: Record<string, Record_>;
}

const KEY_RE = /^[^\0/][^\0]{0,1023}$/;

export function checkKey(key: string, field = 'key'): string {
  if (typeof key !== 'string' || !KEY_RE.test(key))
    throw invalidArgument(`invalid snapshot ${field} ${JSON.stringify(key)}`, { field });
  return key;
}

export class MetaStore {
  /** What is on disk: what readers see. */
  private durable: Doc = { nextId: 1, snapshots: {} };
  /** `durable` plus the mutations applied since, waiting for the next write. */
  private working: Doc = this.durable;
  private applied = 0;
  private written = 0;
  private writing = false;
  private waiters: { seq: number; done: () => void; fail: (e: unknown) => void }[] = [];
  constructor(
    private readonly file: string,
    /** How the document reaches the disk (tests count and fail writes). */
    private readonly write: (path: string, data: string) => Promise<void> = writeFileAtomic,
  ) {}

  async load(): Promise<this> {
    this.durable = (await readJsonFile<Doc>(this.file)) ?? { nextId: 1, snapshots: {} };
    this.working = this.durable;
    return this;
  }

  /**
   * Applies `fn` to a copy of the newest document (nothing changes if it throws) and resolves once
   * a write that includes it is on disk. Group commit: mutations that arrive while a write is in
   * flight share the next one (one fsync for the batch, not one per mutation — under a burst of
   * container creations the per-mutation fsync serialised every prepare behind all others).
   */
  mutate<T>(fn: (doc: Doc) => T): Promise<T> {
    const copy: Doc = JSON.parse(JSON.stringify(this.working));
    let r: T;
    try {
      r = fn(copy);
    } catch (e) {
      return Promise.reject(e);
    }
    this.working = copy;
    const seq = ++this.applied;
    return new Promise<T>((resolve, reject) => {
      this.waiters.push({ seq, done: () => resolve(r), fail: reject });
      if (!this.writing) void this.writeLoop();
    });
  }

  /** A fresh snapshot id, unique in this process; persisted with the next write. It need not be
   *  durable by itself: a directory without a record is removed on the next open. */
  reserveId(): number {
    if (this.working === this.durable) this.working = { ...this.durable };
    return this.working.nextId++;
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.written < this.applied) {
        const doc = this.working;
        const upto = this.applied;
        let error: unknown;
        try {
          await this.write(this.file, JSON.stringify(doc));
          this.durable = doc;
          this.written = upto;
        } catch (e) {
          // Mutations applied during the failed write were built on it: all of them fail, and the
          // newest document is the one on disk again.
          error = e;
          this.working = this.durable;
          this.written = this.applied;
        }
        const settled = this.waiters.filter((w) => w.seq <= this.written);
        this.waiters = this.waiters.filter((w) => w.seq > this.written);
        for (const w of settled) error === undefined ? w.done() : w.fail(error);
      }
    } finally {
      this.writing = false;
    }
  }

  /** The record of `key` in a document being mutated (not found: the typed error). */
  static find(doc: Doc, key: string): Record_ {
    const r = doc.snapshots[key];
    if (!r) throw notFound(`snapshot ${JSON.stringify(key)} does not exist`, { field: 'key' });
    return r;
  }

  get(key: string): Record_ {
    const r = this.durable.snapshots[key];
    if (!r) throw notFound(`snapshot ${JSON.stringify(key)} does not exist`, { field: 'key' });
    return r;
  }

  has(key: string): boolean {
    return key in this.durable.snapshots;
  }

  all(): [string, Record_][] {
    return Object.entries(this.durable.snapshots);
  }

  ids(): Set<number> {
    return new Set(Object.values(this.durable.snapshots).map((r) => r.id));
  }

  /** Keys from `key`'s parent up to the base (nearest first). */
  chain(key: string): string[] {
    const out: string[] = [];
    for (let p = this.get(key).parent; p; p = this.get(p).parent) out.push(p);
    return out;
  }

  children(key: string): string[] {
    return Object.entries(this.durable.snapshots)
      .filter(([, r]) => r.parent === key)
      .map(([k]) => k);
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

  /** Adds a new active/view snapshot record (checks key and parent). */
  static add(
    doc: Doc,
    key: string,
    kind: SnapshotKind,
    parent: string | undefined,
    labels: Record<string, string> = {},
  ): Record_ {
    checkKey(key);
    if (doc.snapshots[key]) throw alreadyExists(`snapshot ${JSON.stringify(key)} already exists`, { field: 'key' });
    if (parent !== undefined) {
      const p = doc.snapshots[parent];
      if (!p) throw notFound(`parent snapshot ${JSON.stringify(parent)} does not exist`, { field: 'parent' });
      if (p.kind !== 'committed')
        throw failedPrecondition(`parent snapshot ${JSON.stringify(parent)} is ${p.kind}, not committed`, {
          field: 'parent',
        });
    }
    const now = new Date().toISOString();
    const r: Record_ = { id: doc.nextId++, kind, parent, created: now, updated: now, labels: { ...labels } };
    doc.snapshots[key] = r;
    return r;
  }
}
