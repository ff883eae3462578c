// cgroup v1 devices controller: the OCI rules in order, after denying everything when the list
// starts with a deny-all (which is what runtimes and Docker always send).
import type { Controller } from '../controller.js';
import { devNum } from '../convert.js';
import { writeCgroupFile } from '../fs.js';

export const devicesV1: Controller = {
  name: 'devices',
  async set(dir, r) {
    if (!r.devices || r.devices.length === 0) return;
    for (const d of r.devices) {
      const type = d.type ?? 'a';
      const rule =
        type === 'a' && d.major === undefined && d.minor === undefined && (d.access ?? 'rwm') === 'rwm'
          ? 'a'
          : `${type} ${devNum(d.major)}:${devNum(d.minor)} ${d.access ?? 'rwm'}`;
      await writeCgroupFile(dir, d.allow ? 'devices.allow' : 'devices.deny', rule);
    }
  },
};
