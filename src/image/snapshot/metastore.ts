// Snapshot metadata (kinds, parent chains, labels), one JSON document replaced atomically on each
// change. Directories are named by a numeric id so committing (a rename of the key) never moves
// data. Snapshots number in the hundreds, so rewriting the document is cheap.
import { invalidArgument, notFound, alreadyExists, failedPrecondition } from '../../common/index.js';
import { KeyedMutex, readJsonFile, writeFileAtomic } from '../atomic-file.js';
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
  private doc: Doc = { nextId: 1, snapshots: {} };
  private readonly lock = new KeyedMutex();
  constructor(private readonly file: string) {}

  async load(): Promise<this> {
    this.doc = (await readJsonFile<Doc>(this.file)) ?? { nextId: 1, snapshots: {} };
    return this;
  }

  /** Runs a mutation under the lock, persisting the document if `fn` changed it. */
  async mutate<T>(fn: (doc: Doc) => T | Promise<T>): Promise<T> {
    return this.lock.run('meta', async () => {
      const copy: Doc = JSON.parse(JSON.stringify(this.doc));
      const r = await fn(copy);
      await writeFileAtomic(this.file, JSON.stringify(copy));
      this.doc = copy;
      return r;
    });
  }

  get(key: string): Record_ {
    const r = this.doc.snapshots[key];
    if (!r) throw notFound(`snapshot ${JSON.stringify(key)} does not exist`, { field: 'key' });
    return r;
  }

  has(key: string): boolean {
    return key in this.doc.snapshots;
  }

  all(): [string, Record_][] {
    return Object.entries(this.doc.snapshots);
  }

  ids(): Set<number> {
    return new Set(Object.values(this.doc.snapshots).map((r) => r.id));
  }

  /** Keys from `key`'s parent up to the base (nearest first). */
  chain(key: string): string[] {
    const out: string[] = [];
    for (let p = this.get(key).parent; p; p = this.get(p).parent) out.push(p);
    return out;
  }

  children(key: string): string[] {
    return Object.entries(this.doc.snapshots)
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
