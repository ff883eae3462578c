// cgroup v1 cpu controller (shares, CFS quota/period, RT, idle) and cpuacct (usage stats).
import type { Controller } from '../controller.js';
import { isSkiffError } from '../../../common/index.js';
import { readCgroupFile, readFlatKeyed, readNumber, writeCgroupFile } from '../fs.js';

const USER_HZ = 100; // cpuacct.stat reports USER_HZ ticks

export const cpuV1: Controller = {
  name: 'cpu',
  async set(dir, r) {
    const c = r.cpu;
    if (!c) return;
    if (c.shares !== undefined && c.shares !== 0) await writeCgroupFile(dir, 'cpu.shares', c.shares);
    if (c.period !== undefined && c.period !== 0) {
      // The kernel rejects a period that would make the current quota invalid; runc retries the
      // period after writing the quota, and so do we.
      try {
        await writeCgroupFile(dir, 'cpu.cfs_period_us', c.period);
      } catch (e) {
        if (!isSkiffError(e, 'InvalidArgument') || c.quota === undefined) throw e;
        await writeCgroupFile(dir, 'cpu.cfs_quota_us', c.quota);
        await writeCgroupFile(dir, 'cpu.cfs_period_us', c.period);
      }
    }
    if (c.quota !== undefined && c.quota !== 0) await writeCgroupFile(dir, 'cpu.cfs_quota_us', c.quota);
    if (c.realtimePeriod) await writeCgroupFile(dir, 'cpu.rt_period_us', c.realtimePeriod);
    if (c.realtimeRuntime) await writeCgroupFile(dir, 'cpu.rt_runtime_us', c.realtimeRuntime);
    if (c.idle !== undefined) await writeCgroupFile(dir, 'cpu.idle', c.idle);
  },
  async stats(dir, s) {
    const st = await readFlatKeyed(dir, 'cpu.stat');
    s.cpu.periods = st.nr_periods ?? 0;
    s.cpu.throttledPeriods = st.nr_throttled ?? 0;
    s.cpu.throttledTimeNs = st.throttled_time ?? 0;
  },
};

export const cpuacctV1: Controller = {
  name: 'cpuacct',
  async stats(dir, s) {
    s.cpu.usageNs = (await readNumber(dir, 'cpuacct.usage')) ?? 0;
    const st = await readFlatKeyed(dir, 'cpuacct.stat');
    s.cpu.userNs = ((st.user ?? 0) * 1e9) / USER_HZ;
    s.cpu.systemNs = ((st.system ?? 0) * 1e9) / USER_HZ;
    const per = await readCgroupFile(dir, 'cpuacct.usage_percpu');
    if (per !== undefined) s.cpu.perCpuNs = per.trim().split(/\s+/).filter(Boolean).map(Number);
  },
};
