// cgroup v2 cpu controller: cpu.weight (from OCI shares, runc's formula), cpu.max
// ("$quota $period", "max" when unlimited), cpu.idle; stats from cpu.stat (microseconds).
import type { Controller } from '../controller.js';
import { sharesToWeight } from '../convert.js';
import { readFlatKeyed, writeCgroupFile } from '../fs.js';

export const cpuV2: Controller = {
  name: 'cpu',
  async set(dir, r) {
    const c = r.cpu;
    if (!c) return;
    if (c.shares !== undefined && c.shares !== 0) await writeCgroupFile(dir, 'cpu.weight', sharesToWeight(c.shares));
    const quota = c.quota ?? 0;
    const period = c.period ?? 0;
    if (quota !== 0 || period !== 0) {
      let v = quota > 0 ? String(quota) : 'max';
      if (period !== 0) v += ` ${period}`;
      await writeCgroupFile(dir, 'cpu.max', v);
    }
    if (c.idle !== undefined) await writeCgroupFile(dir, 'cpu.idle', c.idle);
  },
  async stats(dir, s) {
    // cpu.stat exists even without the cpu controller enabled (usage only).
    const st = await readFlatKeyed(dir, 'cpu.stat');
    s.cpu.usageNs = (st.usage_usec ?? 0) * 1000;
    s.cpu.userNs = (st.user_usec ?? 0) * 1000;
    s.cpu.systemNs = (st.system_usec ?? 0) * 1000;
    s.cpu.periods = st.nr_periods ?? 0;
    s.cpu.throttledPeriods = st.nr_throttled ?? 0;
    s.cpu.throttledTimeNs = (st.throttled_usec ?? 0) * 1000;
  },
};
