// Cgroup mode detection: unified (v2) when the mount root itself is a cgroup2 file system (it has
// cgroup.controllers), otherwise v1/hybrid with one hierarchy per controller.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type CgroupMode = 'unified' | 'hybrid' | 'legacy';

export function detectCgroupMode(mountRoot = '/sys/fs/cgroup'): CgroupMode {
  if (existsSync(join(mountRoot, 'cgroup.controllers'))) return 'unified';
  return existsSync(join(mountRoot, 'unified', 'cgroup.controllers')) ? 'hybrid' : 'legacy';
}
