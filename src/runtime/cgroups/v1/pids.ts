// cgroup v1 pids controller.
import type { Controller } from '../controller.js';
import { maxOr, readNumber, writeCgroupFile } from '../fs.js';

export const pidsV1: Controller = {
  name: 'pids',
  async set(dir, r) {
    if (!r.pids) return;
    await writeCgroupFile(dir, 'pids.max', r.pids.limit > 0 ? r.pids.limit : maxOr(-1));
  },
  async stats(dir, s) {
    s.pids = { current: (await readNumber(dir, 'pids.current')) ?? 0, limit: await readNumber(dir, 'pids.max') };
  },
};
