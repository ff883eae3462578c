// cgroup v2 pids controller.
import type { Controller } from '../controller.js';
import { readNumber, writeCgroupFile } from '../fs.js';

export const pidsV2: Controller = {
  name: 'pids',
  async set(dir, r) {
    if (!r.pids) return;
    await writeCgroupFile(dir, 'pids.max', r.pids.limit > 0 ? r.pids.limit : 'max');
  },
  async stats(dir, s) {
    s.pids = { current: (await readNumber(dir, 'pids.current')) ?? 0, limit: await readNumber(dir, 'pids.max') };
  },
};
