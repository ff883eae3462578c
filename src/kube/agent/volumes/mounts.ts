// The few host mounts the agent makes itself: tmpfs for memory-backed emptyDirs and for secret and
// projected volumes (secrets never touch the disk, as upstream), and their removal. Uses the
// system's mount(8)/umount(8) through the process's command runner (src/common/commands.ts: in
// `skiff start` a small native process forks them, not Node); a mount table read tells what is
// mounted under a pod's directory.
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { runCommand, internal, unavailable } from '../../../common/index.js';

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await runCommand(cmd, args);
  if (r.code !== 0) throw internal(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
}

/** Mount points at or under `dir` (deepest first), from /proc/self/mountinfo (read asynchronously:
 *  it grows with every mount on the host). */
export async function mountsUnder(dir: string): Promise<string[]> {
  let text = '';
  try {
    text = await readFile('/proc/self/mountinfo', 'utf8');
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

/** Whether a file system of its own (a tmpfs) is mounted at `dir`: its device differs from its
 *  parent's (two stats instead of reading the mount table). */
export function isMountPoint(dir: string): boolean {
  try {
    return statSync(dir).dev !== statSync(dirname(dir)).dev;
  } catch {
    return false;
  }
}

export async function mountTmpfs(dir: string, sizeBytes?: number, mode = '1777'): Promise<void> {
  if (isMountPoint(dir)) return;
  const opts = [`mode=${mode}`, 'nosuid', 'nodev'];
  if (sizeBytes && sizeBytes > 0) opts.push(`size=${sizeBytes}`);
  await run('mount', ['-t', 'tmpfs', '-o', opts.join(','), 'tmpfs', dir]);
}

/** Unmounts everything at or under `dir`; throws when something stays mounted. */
export async function unmountAll(dir: string): Promise<void> {
  for (const mp of await mountsUnder(dir)) {
    try {
      await run('umount', [mp]);
    } catch {
      await run('umount', ['-l', mp]);
    }
  }
  const left = await mountsUnder(dir);
  if (left.length) throw unavailable(`still mounted under ${dir}: ${left.join(', ')}`);
}
