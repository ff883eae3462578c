// Cgroup mode detection: unified (v2) when the mount root itself is a cgroup2 file system (it has
// cgroup.controllers), otherwise v1/hybrid with one hierarchy per controller.
import { existsSync, readFileSync } from 'node:fs';
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
