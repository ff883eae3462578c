// What the overlay and copy snapshotters share: metadata handling, the life cycle checks and
// crash-safe ordering (directories are created before their record is persisted and removed
// after it is dropped; directories without a record are cleaned up on open).
// A removed snapshot's directory is renamed into `trash/` once its record is gone and deleted
// there in the background, one at a time: a container's removal does not wait for its files to be
// unlinked, and removals under pod churn do not all compete for the disk at once. What a crash
// leaves in `trash/` is deleted on the next open, also in the background.
import { mkdir, readdir, rm, rename } from 'node:fs/promises';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  randomSuffix,
  traceMark,
  traceNow,
} from '../../common/index.js';
import type { WhiteoutMode } from '../unpack/apply.js';
import { MetaStore, checkKey, type Record_ } from './metastore.js';
import { diffTar, toChanges, type DiffEntry } from './diff.js';
import type { Change, Mount, SnapshotInfo, SnapshotKind, Snapshotter, Usage } from './types.js';

export abstract class BaseSnapshotter implements Snapshotter {
  abstract readonly name: string;
  protected meta!: MetaStore;
  /** The background deletion of `trash/` (one directory at a time). */
  private trashing: Promise<void> = Promise.resolve();

  constructor(readonly root: string) {}

  async init(): Promise<this> {
    await mkdir(join(this.root, 'snapshots'), { recursive: true });
    await mkdir(join(this.root, 'trash'), { recursive: true });
    this.meta = await new MetaStore(join(this.root, 'metadata.journal')).load();
    const ids = this.meta.ids();
    for (const n of await readdir(join(this.root, 'snapshots'))) {
      if (!ids.has(Number(n))) await this.toTrash(join(this.root, 'snapshots', n));
    }
    for (const n of await readdir(join(this.root, 'trash'))) this.deleteLater(join(this.root, 'trash', n));
    return this;
  }

  /** Moves a directory out of `snapshots/` and deletes it in the background. */
  private async toTrash(dir: string): Promise<void> {
    const gone = join(this.root, 'trash', randomSuffix());
    try {
      await rename(dir, gone);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // gone already
      throw e;
    }
    this.deleteLater(gone);
  }

  private deleteLater(dir: string): void {
    this.trashing = this.trashing.then(() =>
      // what cannot be deleted now stays in trash/ and is tried again at the next open
      rm(dir, { recursive: true, force: true }).catch(() => undefined),
    );
  }

  /** Resolves once the directories removed so far are deleted from disk. */
  async settled(): Promise<void> {
    let t: Promise<void>;
    do {
      t = this.trashing;
      await t;
    } while (t !== this.trashing);
  }

  protected dir(id: number): string {
    return join(this.root, 'snapshots', String(id));
  }
  /** The snapshot's own file tree (overlay: the upper dir). */
  protected abstract fs(id: number): string;
  /** Creates the directories of a new snapshot (parentKey: committed parent, if any). */
  protected abstract create(id: number, kind: SnapshotKind, parentKey: string | undefined): Promise<void>;
  protected abstract mountsFor(key: string, rec: Record_): Mount[];
  /** An id whose directories for a new snapshot of `kind` are made already, if the snapshotter
   *  keeps some ready (overlay does); undefined: `create` them. */
  protected takeReady(_kind: SnapshotKind): number | undefined {
    return undefined;
  }
  protected abstract whiteoutMode(key: string): WhiteoutMode;
  protected abstract diffEntries(
    key: string,
    rec: Record_,
  ): Promise<{ entries: DiffEntry[]; xattrs: Map<string, Map<string, Buffer>> }>;

  prepare(key: string, parent?: string, opts?: { labels?: Record<string, string> }): Promise<Mount[]> {
    return this.createSnapshot('active', key, parent, opts?.labels);
  }

  view(key: string, parent?: string, opts?: { labels?: Record<string, string> }): Promise<Mount[]> {
    return this.createSnapshot('view', key, parent, opts?.labels);
  }

  private async createSnapshot(
    kind: SnapshotKind,
    key: string,
    parent: string | undefined,
    labels?: Record<string, string>,
  ): Promise<Mount[]> {
    checkKey(key);
    if (parent !== undefined) checkKey(parent, 'parent');
    if (this.meta.has(key)) throw alreadyExists(`snapshot ${JSON.stringify(key)} already exists`, { field: 'key' });
    if (parent !== undefined) {
      const p = this.meta.get(parent);
      if (p.kind !== 'committed')
        throw failedPrecondition(`parent snapshot ${JSON.stringify(parent)} is ${p.kind}, not committed`, {
          field: 'parent',
        });
    }
    // Reserve an id, build the directories (a copy may take long), then record.
    const ready = this.takeReady(kind);
    const id = ready ?? this.meta.reserveId();
    const volatile = kind === 'active' && labels?.[VOLATILE_LABEL] === 'true' ? bootId() : undefined;
    try {
      let t0 = traceNow();
      if (ready === undefined) await this.create(id, kind, parent);
      traceMark('-snapshot', 'snap.mkdir', t0);
      t0 = traceNow();
      await this.meta.mutate((tx) => {
        const r = MetaStore.add(tx, key, kind, parent, labels, id);
        if (volatile) r.volatileBoot = volatile;
      });
      traceMark('-snapshot', 'snap.meta', t0);
    } catch (e) {
      await rm(this.dir(id), { recursive: true, force: true });
      throw e;
    }
    return this.mounts(key);
  }

  async mounts(key: string): Promise<Mount[]> {
    const rec = this.meta.get(checkKey(key));
    if (rec.kind === 'committed')
      throw failedPrecondition(`snapshot ${JSON.stringify(key)} is committed: prepare or view a child to mount it`, {
        field: 'key',
      });
    return this.mountsFor(key, rec);
  }

  async commit(name: string, key: string, opts?: { labels?: Record<string, string> }): Promise<void> {
    checkKey(name, 'name');
    await this.meta.mutate((tx) => {
      const rec = tx.find(key);
      if (rec.kind !== 'active')
        throw failedPrecondition(`cannot commit snapshot ${JSON.stringify(key)}: it is ${rec.kind}, not active`, {
          field: 'key',
        });
      if (tx.get(name)) throw alreadyExists(`snapshot ${JSON.stringify(name)} already exists`, { field: 'name' });
      tx.delete(key);
      const { volatileBoot: _, ...rest } = rec; // a committed layer is read-only: never volatile
      tx.put(name, {
        ...rest,
        kind: 'committed',
        updated: new Date().toISOString(),
        labels: { ...rec.labels, ...(opts?.labels ?? {}) },
      });
    });
  }

  async remove(key: string): Promise<void> {
    const id = await this.meta.mutate((tx) => {
      const rec = tx.find(checkKey(key));
      const children = tx.children(key);
      if (children.length)
        throw failedPrecondition(
          `cannot remove snapshot ${JSON.stringify(key)}: it is the parent of ${children.map((c) => JSON.stringify(c)).join(', ')}`,
          { field: 'key' },
        );
      tx.delete(key);
      return rec.id;
    });
    await this.toTrash(this.dir(id));
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return this.meta.info(checkKey(key));
  }

  async update(key: string, labels: Record<string, string>): Promise<SnapshotInfo> {
    for (const [k, v] of Object.entries(labels)) {
      if (typeof v !== 'string') throw invalidArgument(`label ${k} must be a string`, { field: `labels.${k}` });
    }
    await this.meta.mutate((tx) => {
      const rec = tx.find(checkKey(key));
      const next = { ...rec.labels };
      for (const [k, v] of Object.entries(labels)) {
        if (v === '') delete next[k];
        else next[k] = v;
      }
      tx.put(key, { ...rec, labels: next, updated: new Date().toISOString() });
    });
    return this.stat(key);
  }

  async *walk(): AsyncIterable<SnapshotInfo> {
    for (const [k] of this.meta.all()) yield this.meta.info(k);
  }

  async usage(key: string): Promise<Usage> {
    const rec = this.meta.get(checkKey(key));
    return duUsage(this.fs(rec.id));
  }

  /** Lower dirs a layer applied to `key` is laid over (overlay only). */
  protected lowersFor(_key: string): string[] {
    return [];
  }

  async applyTarget(key: string): Promise<{ dir: string; whiteouts: WhiteoutMode; lowers?: string[] }> {
    const rec = this.meta.get(checkKey(key));
    if (rec.kind !== 'active')
      throw failedPrecondition(
        `cannot apply a layer to snapshot ${JSON.stringify(key)}: it is ${rec.kind}, not active`,
        { field: 'key' },
      );
    return { dir: this.fs(rec.id), whiteouts: this.whiteoutMode(key), lowers: this.lowersFor(key) };
  }

  async diff(key: string, opts?: { signal?: AbortSignal }): Promise<Readable> {
    const rec = this.meta.get(checkKey(key));
    if (rec.kind !== 'active')
      throw failedPrecondition(`cannot diff snapshot ${JSON.stringify(key)}: it is ${rec.kind}, not active`, {
        field: 'key',
      });
    const { entries, xattrs } = await this.diffEntries(key, rec);
    return diffTar(entries, xattrs, opts?.signal);
  }

  async changes(key: string): Promise<Change[]> {
    const rec = this.meta.get(checkKey(key));
    if (rec.kind === 'committed')
      throw failedPrecondition(`cannot list changes of committed snapshot ${JSON.stringify(key)}`, { field: 'key' });
    return toChanges((await this.diffEntries(key, rec)).entries);
  }

  /** Committed file tree of a snapshot key (for diffs and lookups). */
  protected fsOf(key: string): string {
    return this.fs(this.meta.get(key).id);
  }
}

/** Label of an active snapshot whose overlay upper is mounted with `volatile` (no sync of the whole
 *  file system when it is unmounted): for writable layers nobody needs after a host crash, such as
 *  a CRI container's (kubelet never restarts a container: it creates a new one). */
export const VOLATILE_LABEL = 'org.skiff.snapshot/volatile';

let boot: string | undefined;
/** This boot of the kernel (a volatile upper mounted in an earlier boot may have lost data). */
export function bootId(): string {
  boot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return boot;
}

/** du-like usage of a tree: allocated bytes and inodes, hard links counted once. */
export function duUsage(dir: string): Usage {
  const seen = new Set<string>();
  let size = 0;
  let inodes = 0;
  const walk = (p: string) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      inodes++;
      size += st.blocks * 512;
    }
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  return { size, inodes };
}
