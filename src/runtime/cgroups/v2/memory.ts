// cgroup v2 memory controller: memory.max, memory.low (reservation), memory.swap.max (converted:
// OCI swap is memory+swap, v2 wants swap alone). Swappiness, kmem and the OOM-killer switch have
// no v2 files and are ignored, as runc does.
import type { Controller } from '../controller.js';
import { memorySwapToV2 } from '../convert.js';
import { maxOr, readFlatKeyed, readNumber, writeCgroupFile } from '../fs.js';

export const memoryV2: Controller = {
  name: 'memory',
  async set(dir, r) {
    const m = r.memory;
    if (!m) return;
    const swap = memorySwapToV2(m.swap, m.limit);
    // Swap first: lowering memory.max below current usage with swap.max still at 0 would OOM.
    if (swap !== 0) await writeCgroupFile(dir, 'memory.swap.max', maxOr(swap));
    if (m.limit !== undefined && m.limit !== 0) await writeCgroupFile(dir, 'memory.max', maxOr(m.limit));
    if (m.reservation !== undefined && m.reservation !== 0)
      await writeCgroupFile(dir, 'memory.low', maxOr(m.reservation));
  },
  async stats(dir, s) {
    const stat = await readFlatKeyed(dir, 'memory.stat');
    const events = await readFlatKeyed(dir, 'memory.events');
    s.memory = {
      usage: (await readNumber(dir, 'memory.current')) ?? 0,
      maxUsage: await readNumber(dir, 'memory.peak'),
      limit: (await readNumber(dir, 'memory.max')) ?? -1,
      cache: stat.file ?? 0,
      rss: stat.anon ?? 0,
      swapUsage: await readNumber(dir, 'memory.swap.current'),
      oomEvents: events.oom ?? 0,
      oomKillEvents: events.oom_kill ?? 0,
      raw: stat,
    };
  },
};

export async function oomKillCountV2(dir: string): Promise<number> {
  return (await readFlatKeyed(dir, 'memory.events')).oom_kill ?? 0;
}
