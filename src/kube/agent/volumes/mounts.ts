// The few host mounts the agent makes itself: tmpfs for memory-backed emptyDirs and for secret and
// projected volumes (secrets never touch the disk, as upstream), and their removal. Uses the
// system's mount(8)/umount(8); a mount table read tells what is mounted under a pod's directory.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Mount points at or under `dir` (deepest first), from /proc/self/mountinfo. */
export function mountsUnder(dir: string): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const mp = f[4].replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (mp === dir || mp.startsWith(prefix)) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

export function isMountPoint(dir: string): boolean {
  return mountsUnder(dir).includes(dir);
}

export async function mountTmpfs(dir: string, sizeBytes?: number, mode = '1777'): Promise<void> {
  if (isMountPoint(dir)) return;
  const opts = [`mode=${mode}`, 'nosuid', 'nodev'];
  if (sizeBytes && sizeBytes > 0) opts.push(`size=${sizeBytes}`);
  await run('mount', ['-t', 'tmpfs', '-o', opts.join(','), 'tmpfs', dir]);
}

/** Unmounts everything at or under `dir`; throws when something stays mounted. */
export async function unmountAll(dir: string): Promise<void> {
  for (const mp of mountsUnder(dir)) {
    try {
      await run('umount', [mp]);
    } catch {
      await run('umount', ['-l', mp]);
    }
  }
  const left = mountsUnder(dir);
  if (left.length) throw new Error(`still mounted under ${dir}: ${left.join(', ')}`);
}
