// cgroup v1 cpuset: cpus/mems. A new v1 cpuset cgroup starts with empty cpus/mems and refuses
// tasks until they are set, so create() copies them down from the parent (see ensureCpusetV1).
import { join } from 'node:path';
import type { Controller } from '../controller.js';
import { readCgroupFile, writeCgroupFile } from '../fs.js';

export const cpusetV1: Controller = {
  name: 'cpuset',
  async set(dir, r) {
    const c = r.cpu;
    if (!c) return;
    if (c.cpus) await writeCgroupFile(dir, 'cpuset.cpus', c.cpus);
    if (c.mems) await writeCgroupFile(dir, 'cpuset.mems', c.mems);
  },
};

/** For each level from the hierarchy root down to `path`, fills empty cpuset.cpus/mems from the parent. */
export async function ensureCpusetV1(root: string, path: string): Promise<void> {
  let parent = root;
  for (const part of path.split('/').filter(Boolean)) {
    const dir = join(parent, part);
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      const cur = await readCgroupFile(dir, f);
      if (cur === undefined || cur.trim()) continue;
      const fromParent = (await readCgroupFile(parent, f))?.trim();
      if (fromParent) await writeCgroupFile(dir, f, fromParent);
    }
    parent = dir;
  }
}
