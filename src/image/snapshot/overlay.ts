// The overlay snapshotter: each snapshot is an upper dir (`fs`) plus a `work` dir; committed
// snapshots are shared read-only as lowerdirs of their children. Layers are applied straight into
// the upper dir with overlay-style whiteouts, so unpacking needs no mount.
// The kernel takes at most one page of mount options: mountAll (mount.ts) shortens longer lowerdir
// lists to paths relative to the snapshots directory.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { WhiteoutMode } from '../unpack/apply.js';
import { BaseSnapshotter } from './base.js';
import { overlayChanges } from './diff.js';
import type { Record_ } from './metastore.js';
import type { Mount, SnapshotKind } from './types.js';

export class OverlaySnapshotter extends BaseSnapshotter {
  readonly name = 'overlayfs';

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
      return [
        {
          type: 'overlay',
          source: 'overlay',
          options: [`lowerdir=${lowers.join(':')}`, `upperdir=${this.fs(rec.id)}`, `workdir=${this.work(rec.id)}`],
        },
      ];
    }
    if (lowers.length === 0) return [{ type: 'bind', source: this.fs(rec.id), options: ['rbind', 'ro'] }];
    if (lowers.length === 1) return [{ type: 'bind', source: lowers[0], options: ['rbind', 'ro'] }];
    return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }];
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
