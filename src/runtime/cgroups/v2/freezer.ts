// cgroup v2 freezer: cgroup.freeze (1/0); frozen once cgroup.events says `frozen 1`.
import type { FreezerState } from '../types.js';
import { readCgroupFile, readFlatKeyed, writeCgroupFile } from '../fs.js';
import { unavailable, sleep } from '../../../common/index.js';

export async function freezeV2(dir: string, timeoutMs: number): Promise<void> {
  await writeCgroupFile(dir, 'cgroup.freeze', 1);
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    if ((await readFlatKeyed(dir, 'cgroup.events')).frozen === 1) return;
    if (Date.now() > deadline) {
      // undoing a freeze that timed out; the timeout error below is the one to report
      await writeCgroupFile(dir, 'cgroup.freeze', 0).catch(() => undefined);
      throw unavailable(`cgroup: ${dir}/cgroup.events did not report frozen within ${timeoutMs} ms`, {
        field: 'cgroup.freeze',
      });
    }
    await sleep(i < 10 ? 1 : 10);
  }
}

export async function thawV2(dir: string): Promise<void> {
  await writeCgroupFile(dir, 'cgroup.freeze', 0);
}

export async function freezerStateV2(dir: string): Promise<FreezerState> {
  // Frozen = asked to freeze (cgroup.freeze 1) and the kernel confirms (cgroup.events frozen 1).
  const ev = await readFlatKeyed(dir, 'cgroup.events');
  const wanted = (await readCgroupFile(dir, 'cgroup.freeze'))?.trim() === '1';
  return wanted && ev.frozen === 1 ? 'FROZEN' : 'THAWED';
}
