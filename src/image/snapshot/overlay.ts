// The overlay snapshotter: each snapshot is an upper dir (`fs`) plus a `work` dir; committed
// snapshots are shared read-only as lowerdirs of their children. Layers are applied straight into
// the upper dir with overlay-style whiteouts, so unpacking needs no mount.
// The kernel takes at most one page of mount options: mountAll (mount.ts) shortens longer lowerdir
// lists to paths relative to the snapshots directory.
import { existsSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition } from '../../common/index.js';
import type { WhiteoutMode } from '../unpack/apply.js';
import { BaseSnapshotter, bootId } from './base.js';
import { overlayChanges } from './diff.js';
import type { Record_ } from './metastore.js';
import type { Mount, SnapshotKind } from './types.js';

export interface OverlayOptions {
  /**
   * Directories of active snapshots kept made ahead (default 0): `prepare` then takes one and
   * records it, and the next is made in the background. Under pod churn the two `mkdir`s of a
   * container's writable layer waited hundreds of ms behind the file system's journal; made ahead,
   * they are off the path of a container's creation. Spare directories have no record: the next
   * open removes them like any other directory without one.
   */
  spares?: number;
}

export class OverlaySnapshotter extends BaseSnapshotter {
  readonly name = 'overlayfs';
  private readonly ready: number[] = [];
  private making = 0;

  constructor(
    root: string,
    private readonly opts: OverlayOptions = {},
  ) {
    super(root);
  }

  protected override takeReady(kind: SnapshotKind): number | undefined {
    if (kind !== 'active' || !this.opts.spares) return undefined;
    const id = this.ready.shift();
    this.refill();
    return id;
  }

  /** Makes the missing spares, all at once: under churn each waits on the file system's journal
   *  commit, and made one after another they fell behind 10 prepares a second. */
  private refill(): void {
    for (let n = (this.opts.spares ?? 0) - this.ready.length - this.making; n > 0; n--) {
      const id = this.meta.reserveId();
      this.making++;
      this.create(id, 'active', undefined).then(
        () => {
          this.making--;
          this.ready.push(id);
        },
        () => {
          // made on demand instead (what is half made has no record: removed at the next open)
          this.making--;
        },
      );
    }
  }

  protected fs(id: number): string {
    return join(this.dir(id), 'fs');
  }
  private work(id: number): string {
    return join(this.dir(id), 'work');
  }

  protected async create(id: number, kind: SnapshotKind, _parent: string | undefined): Promise<void> {
    await mkdir(this.fs(id), { recursive: true, mode: 0o755 });
    if (kind === 'active') await mkdir(this.work(id), { mode: 0o711 });
  }

  protected mountsFor(key: string, rec: Record_): Mount[] {
    const lowers = this.meta.chain(key).map((k) => this.fsOf(k));
    if (rec.kind === 'active') {
      if (lowers.length === 0) return [{ type: 'bind', source: this.fs(rec.id), options: ['rbind', 'rw'] }];
      const options = [`lowerdir=${lowers.join(':')}`, `upperdir=${this.fs(rec.id)}`, `workdir=${this.work(rec.id)}`];
      if (rec.volatileBoot) options.push(...this.volatile(key, rec));
      return [{ type: 'overlay', source: 'overlay', options }];
    }
    if (lowers.length === 0) return [{ type: 'bind', source: this.fs(rec.id), options: ['rbind', 'ro'] }];
    if (lowers.length === 1) return [{ type: 'bind', source: lowers[0], options: ['rbind', 'ro'] }];
    return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }];
  }

  /**
   * The `volatile` option (the kernel's overlayfs documentation, "Volatile mount"). The kernel
   * leaves `work/incompat/volatile` in the workdir and refuses a later mount while it is there: the
   * upper may have lost writes in a crash. Within the boot the snapshot was prepared in, no kernel
   * crash can have happened, so the marker is removed. A layer of an earlier boot is refused by its
   * boot id alone, not by the marker: the marker of a layer still mounted may already be gone (this
   * is called again for a mounted layer), and its writes may not have reached the disk.
   */
  private volatile(key: string, rec: { id: number; volatileBoot?: string }): string[] {
    if (rec.volatileBoot !== bootId())
      throw failedPrecondition(
        `snapshot ${JSON.stringify(key)} was mounted volatile before the host restarted: its writable layer may be incomplete; remove it`,
        { field: 'key' },
      );
    const marker = join(this.work(rec.id), 'work', 'incompat', 'volatile');
    if (existsSync(marker)) rmSync(marker, { recursive: true, force: true });
    return ['volatile'];
  }

  protected override lowersFor(key: string): string[] {
    return this.meta.chain(key).map((k) => this.fsOf(k));
  }

  protected whiteoutMode(key: string): WhiteoutMode {
    return this.meta.get(key).parent ? 'overlay' : 'plain';
  }

  protected diffEntries(key: string, rec: Record_) {
    return overlayChanges(
      this.fs(rec.id),
      this.meta.chain(key).map((k) => this.fsOf(k)),
    );
  }
}
