// The copy ("native") snapshotter for file systems without overlay support: `prepare` copies the
// parent's whole tree with `cp -a` (Node's fs.cp keeps neither owners, hard links, device nodes
// nor xattrs; coreutils keeps all of them and reflinks where the file system can); views bind the
// committed parent read-only, as it cannot change while it has children.
import { mkdir } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { internal } from '../../common/index.js';
import type { WhiteoutMode } from '../unpack/apply.js';
import { BaseSnapshotter } from './base.js';
import { dirChanges } from './diff.js';
import type { Record_ } from './metastore.js';
import type { Mount, SnapshotKind } from './types.js';

const run = promisify(execFile);

export class NativeSnapshotter extends BaseSnapshotter {
  readonly name = 'native';

  protected fs(id: number): string {
    return this.dir(id);
  }

  protected async create(id: number, kind: SnapshotKind, parent: string | undefined): Promise<void> {
    await mkdir(this.fs(id), { mode: 0o755 });
    if (kind === 'active' && parent !== undefined) {
      try {
        await run('cp', ['-a', '--reflink=auto', '--', `${this.fsOf(parent)}/.`, `${this.fs(id)}/`], {
          maxBuffer: 1 << 20,
        });
      } catch (e) {
        throw internal(
          `copying snapshot ${JSON.stringify(parent)}: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`,
          { cause: e },
        );
      }
    }
  }

  protected mountsFor(key: string, rec: Record_): Mount[] {
    if (rec.kind === 'view' && rec.parent)
      return [{ type: 'bind', source: this.fsOf(rec.parent), options: ['rbind', 'ro'] }];
    return [{ type: 'bind', source: this.fs(rec.id), options: ['rbind', rec.kind === 'view' ? 'ro' : 'rw'] }];
  }

  protected whiteoutMode(_key: string): WhiteoutMode {
    return 'plain';
  }

  protected diffEntries(key: string, rec: Record_) {
    return dirChanges(this.fs(rec.id), rec.parent ? this.fsOf(rec.parent) : undefined);
  }
}
