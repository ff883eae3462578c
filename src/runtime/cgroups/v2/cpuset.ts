// cgroup v2 cpuset: cpus/mems (an empty v2 cpuset inherits the parent's effective set, so no copying).
import type { Controller } from '../controller.js';
import { writeCgroupFile } from '../fs.js';

export const cpusetV2: Controller = {
  name: 'cpuset',
  async set(dir, r) {
    const c = r.cpu;
    if (!c) return;
    if (c.cpus) await writeCgroupFile(dir, 'cpuset.cpus', c.cpus);
    if (c.mems) await writeCgroupFile(dir, 'cpuset.mems', c.mems);
  },
};
