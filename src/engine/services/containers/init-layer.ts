// A container's init layer, as dockerd makes one: a committed snapshot between the image and the
// container's own writable layer, holding what the engine puts into every container — the empty
// /.dockerenv that software uses to detect a container, and the mount points of what the runtime
// mounts (/proc, /sys, /dev/pts, /dev/shm, /dev/console, /etc/{hosts,hostname,resolv.conf}) where
// the image lacks them, plus /etc/mtab → /proc/mounts. Being below the writable layer, none of it
// shows in `docker diff` or enters `docker commit`; `docker export` and the container see it.
//
// Entries are written into the snapshot's own directory without mounting it (a mount and unmount
// through mount(8) cost ~100 ms under load): a path counts as present when the nearest layer that
// has anything there has a non-whiteout entry, as overlayfs resolves it.
import { chmodSync, chownSync, closeSync, lstatSync, mkdirSync, openSync, symlinkSync, utimesSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import type { Snapshotter } from '../../../image/index.js';
import { isSkiffError } from '../../../common/index.js';

/** dockerd's list (daemon/initlayer): a directory, an empty file, or a symlink target. */
const ENTRIES: [string, 'dir' | 'file' | { link: string }][] = [
  ['dev/pts', 'dir'],
  ['dev/shm', 'dir'],
  ['proc', 'dir'],
  ['sys', 'dir'],
  ['.dockerenv', 'file'],
  ['etc/resolv.conf', 'file'],
  ['etc/hosts', 'file'],
  ['etc/hostname', 'file'],
  ['dev/console', 'file'],
  ['etc/mtab', { link: '/proc/mounts' }],
];

export const initLayerKey = (containerSnapshotKey: string) => `${containerSnapshotKey}-init`;

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/** What the merged view has at `parts` ('absent' when no layer has it or a whiteout hides it). */
function lookup(layers: readonly string[], parts: readonly string[]): Stats | 'absent' {
  for (const d of layers) {
    for (let k = 1; k < parts.length; k++) {
      const anc = lstatOrUndefined(join(d, ...parts.slice(0, k)));
      if (anc && isWhiteout(anc)) return 'absent';
      if (anc && !anc.isDirectory()) return anc; // a file or symlink in the way: leave it to the runtime
    }
    const st = lstatOrUndefined(join(d, ...parts));
    if (st) return isWhiteout(st) ? 'absent' : st;
  }
  return 'absent';
}

/** Creates the missing parents of `parts` in `upper`, each with the owner, mode and times it has in
 *  the nearest lower layer (so the merged view keeps them), else root-owned 0755. */
function ensureParents(upper: string, lowers: readonly string[], parts: readonly string[]): void {
  for (let k = 1; k < parts.length; k++) {
    const rel = parts.slice(0, k);
    const p = join(upper, ...rel);
    if (lstatOrUndefined(p)) continue;
    mkdirSync(p, { mode: 0o755 });
    const st = lookup(lowers, rel);
    if (st !== 'absent' && st.isDirectory()) {
      chownSync(p, st.uid, st.gid);
      chmodSync(p, st.mode & 0o7777);
      utimesSync(p, st.atime, st.mtime);
    } else chmodSync(p, 0o755);
  }
}

/** Prepares, fills and commits the init layer of a container; returns its key (the parent of the
 *  container's own snapshot). On failure nothing is left behind. */
export async function createInitLayer(
  sn: Snapshotter,
  containerSnapshotKey: string,
  parent: string | undefined,
  labels: Record<string, string>,
): Promise<string> {
  const key = initLayerKey(containerSnapshotKey);
  const active = `${key}-prepare`;
  await sn.prepare(active, parent, { labels });
  try {
    const t = await sn.applyTarget(active);
    const lowers = t.lowers ?? [];
    for (const [path, kind] of ENTRIES) {
      const parts = path.split('/');
      if (lookup([t.dir, ...lowers], parts) !== 'absent') continue;
      ensureParents(t.dir, lowers, parts);
      const p = join(t.dir, ...parts);
      if (kind === 'dir') {
        mkdirSync(p, { mode: 0o755 });
        chmodSync(p, 0o755);
      } else if (kind === 'file') {
        closeSync(openSync(p, 'w', 0o755));
        chmodSync(p, 0o755);
      } else symlinkSync(kind.link, p);
    }
    await sn.commit(key, active, { labels });
    return key;
  } catch (e) {
    // the failure that matters is rethrown; a leftover active snapshot is removed with the container's
    await sn.remove(active).catch(() => undefined);
    throw e;
  }
}

/** Removes a container's snapshot, then its init layer (containers created before there was one
 *  have none). A snapshot already gone is fine. */
export async function removeContainerSnapshots(sn: Snapshotter, key: string): Promise<void> {
  for (const k of [key, initLayerKey(key)])
    await sn.remove(k).catch((e) => {
      if (!isSkiffError(e, 'NotFound')) throw e;
    });
}
