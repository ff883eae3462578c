// Public face of the cgroup managers (re-exported by src/runtime/index.ts).
import type { CgroupManager, CgroupManagerOptions } from './types.js';
import { CgroupV1Manager } from './v1/manager.js';
import { CgroupV2Manager } from './v2/manager.js';
import { detectCgroupMode } from './detect.js';
import { normalizeCgroupPath } from './convert.js';

export type { CgroupManager, CgroupManagerOptions, CgroupResources, CgroupStats, FreezerState } from './types.js';
export { detectCgroupMode, ownCgroups, type CgroupMode } from './detect.js';
export { sharesToWeight, blkioWeightToIoWeight, memorySwapToV2, normalizeCgroupPath } from './convert.js';
export { CgroupV1Manager, CgroupV2Manager };

/** A manager for `path` (e.g. `/skiff/<id>`, relative to each hierarchy root), v1 or v2 by detection. */
export function createCgroupManager(path: string, opts: CgroupManagerOptions = {}): CgroupManager {
  const p = normalizeCgroupPath(path);
  const version = opts.version ?? (detectCgroupMode(opts.mountRoot) === 'unified' ? 2 : 1);
  return version === 2 ? new CgroupV2Manager(p, opts) : new CgroupV1Manager(p, opts);
}
