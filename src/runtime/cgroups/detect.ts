// Cgroup mode detection: unified (v2) when the mount root itself is a cgroup2 file system (it has
// cgroup.controllers), otherwise v1/hybrid with one hierarchy per controller.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type CgroupMode = 'unified' | 'hybrid' | 'legacy';

export function detectCgroupMode(mountRoot = '/sys/fs/cgroup'): CgroupMode {
  if (existsSync(join(mountRoot, 'cgroup.controllers'))) return 'unified';
  return existsSync(join(mountRoot, 'unified', 'cgroup.controllers')) ? 'hybrid' : 'legacy';
}

/** This process's cgroup in each hierarchy (/proc/self/cgroup), keyed as CgroupManagerOptions.parents
 *  wants: each controller of a v1 line, `systemd` for name=systemd, `unified` for the v2 line. */
export function ownCgroups(file = '/proc/self/cgroup'): Record<string, string> {
  const out: Record<string, string> = {};
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '') out.unified = m[2];
    else for (const c of m[1].split(',')) out[c.replace(/^name=/, '')] = m[2];
  }
  return out;
}

/**
 * Starts, without waiting, a no-op cgroup migration (this process into its own cgroup, written
 * through the thread pool). Any write to cgroup.procs takes the kernel's global cgroup threadgroup
 * lock for writing, whose first writer waits one RCU grace period (~10 ms here; it was the largest
 * single cost of creating a container); writers within the following grace period do not wait.
 * Called as a container's create begins, that wait overlaps the spawn of skiff-init instead of
 * delaying the join of the container's process. Best effort: errors (a read-only or delegated
 * cgroup tree) are ignored.
 */
export function primeCgroupMigration(mountRoot = '/sys/fs/cgroup'): void {
  const own = ownCgroups();
  let file: string | undefined;
  if (existsSync(join(mountRoot, 'cgroup.controllers'))) file = join(mountRoot, own.unified ?? '/', 'cgroup.procs');
  else {
    const h = ['pids', 'memory', 'cpu', 'freezer'].find((c) => own[c] !== undefined && existsSync(join(mountRoot, c)));
    if (h) file = join(mountRoot, h, own[h], 'cgroup.procs');
  }
  // priming only: when the move is refused, the first real cgroup write reports it
  if (file) writeFile(file, String(process.pid)).catch(() => undefined);
}
