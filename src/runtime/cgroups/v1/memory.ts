// cgroup v1 memory controller: limit, soft limit (reservation), memsw (OCI swap = memory+swap),
// swappiness, OOM killer switch; stats from memory.stat / usage / oom_control.
import type { Controller } from '../controller.js';
import { readCgroupFile, readFlatKeyed, readNumber, writeCgroupFile } from '../fs.js';

const UNLIMITED_V1 = 0x7ffffffffffff000; // what the kernel reports for "no limit" (PAGE_COUNTER_MAX * page)

export const memoryV1: Controller = {
  name: 'memory',
  async set(dir, r) {
    const m = r.memory;
    if (!m) return;
    const limit = m.limit;
    const swap = m.swap;
    if (limit !== undefined && limit !== 0 && swap !== undefined && swap !== 0) {
      // memsw must stay >= limit at every step: raise memsw first when growing, else memory first.
      const curMemsw = await readNumber(dir, 'memory.memsw.limit_in_bytes');
      const growing = swap === -1 || (curMemsw !== undefined && swap > curMemsw);
      if (growing) {
        await writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', swap);
        await writeCgroupFile(dir, 'memory.limit_in_bytes', limit);
      } else {
        await writeCgroupFile(dir, 'memory.limit_in_bytes', limit);
        await writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', swap);
      }
    } else {
      if (limit !== undefined && limit !== 0) await writeCgroupFile(dir, 'memory.limit_in_bytes', limit);
      if (swap !== undefined && swap !== 0) await writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', swap);
    }
    if (m.reservation !== undefined && m.reservation !== 0)
      await writeCgroupFile(dir, 'memory.soft_limit_in_bytes', m.reservation);
    if (m.swappiness !== undefined && m.swappiness >= 0 && m.swappiness <= 100)
      await writeCgroupFile(dir, 'memory.swappiness', m.swappiness);
    if (m.disableOOMKiller) await writeCgroupFile(dir, 'memory.oom_control', 1);
    // m.kernel (kmem) is deprecated and ignored by the kernel since 5.16; runc ignores it too.
  },
  async stats(dir, s) {
    const stat = await readFlatKeyed(dir, 'memory.stat');
    const oom = await readFlatKeyed(dir, 'memory.oom_control');
    const usage = (await readNumber(dir, 'memory.usage_in_bytes')) ?? 0;
    const memswUsage = await readNumber(dir, 'memory.memsw.usage_in_bytes');
    const limit = (await readNumber(dir, 'memory.limit_in_bytes')) ?? 0;
    s.memory = {
      usage,
      maxUsage: await readNumber(dir, 'memory.max_usage_in_bytes'),
      limit: limit >= UNLIMITED_V1 ? -1 : limit,
      cache: stat.total_cache ?? stat.cache ?? 0,
      rss: stat.total_rss ?? stat.rss ?? 0,
      swapUsage: memswUsage === undefined ? undefined : Math.max(0, memswUsage - usage),
      oomEvents: oom.oom_kill ?? 0,
      oomKillEvents: oom.oom_kill ?? 0,
      raw: stat,
    };
  },
};

export async function oomKillCountV1(dir: string): Promise<number> {
  const text = await readCgroupFile(dir, 'memory.oom_control');
  const m = /oom_kill (\d+)/.exec(text ?? '');
  return m ? Number(m[1]) : 0;
}
