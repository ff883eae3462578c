// A new, empty volume takes the image's content at its mount point, as dockerd does (its
// "copy-up"): `docker run -v data:/etc busybox ls /etc` lists busybox's /etc. Not for binds, not
// with `nocopy`, never over a volume that already has content.
import { execFile } from 'node:child_process';
import { readdir, lstat, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MountPoint } from './record.js';

const run = promisify(execFile);

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch {
    return false;
  }
}

/** `rootfs` is the container's mounted root (its image content plus its own changes). */
export async function copyUpVolumes(rootfs: string, mounts: MountPoint[]): Promise<void> {
  for (const m of mounts) {
    if (m.Type !== 'volume' || !m.Source) continue;
    if (m.VolumeOptions?.NoCopy || m.Mode.split(',').includes('nocopy')) continue;
    // Only a real directory inside the rootfs is copied: a path through a symlink that leaves the
    // rootfs (resolved on the host) is skipped rather than followed.
    const src = await realpath(join(rootfs, m.Destination)).catch(() => '');
    if (!src.startsWith(`${rootfs}/`)) continue;
    const st = await lstat(src).catch(() => undefined); // a missing image path has nothing to copy up
    if (!st?.isDirectory() || (await isEmptyDir(src)) || !(await isEmptyDir(m.Source))) continue;
    // cp -a keeps owners, modes, times, links and special files, as dockerd's copy does.
    await run('cp', ['-a', '--', `${src}/.`, m.Source]);
  }
}
