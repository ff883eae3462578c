// cgroup v1 freezer: write FROZEN and poll freezer.state until the kernel reports FROZEN
// (it passes through FREEZING while tasks are being stopped).
import type { FreezerState } from '../types.js';
import { readCgroupFile, writeCgroupFile } from '../fs.js';
import { unavailable, sleep } from '../../../common/index.js';

export async function freezeV1(dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    // Re-writing FROZEN now and then kicks tasks that raced with the first request (runc does the same).
    if (i % 25 === 0) await writeCgroupFile(dir, 'freezer.state', 'FROZEN');
    const state = (await readCgroupFile(dir, 'freezer.state'))?.trim();
    if (state === 'FROZEN') return;
    if (Date.now() > deadline) {
      // undoing a freeze that timed out; the timeout error below is the one to report
      await writeCgroupFile(dir, 'freezer.state', 'THAWED').catch(() => undefined);
      throw unavailable(`cgroup: ${dir}/freezer.state did not reach FROZEN within ${timeoutMs} ms (state ${state})`, {
        field: 'freezer.state',
      });
    }
    await sleep(i < 10 ? 1 : 10);
  }
}

export async function thawV1(dir: string): Promise<void> {
  await writeCgroupFile(dir, 'freezer.state', 'THAWED');
}

export async function freezerStateV1(dir: string): Promise<FreezerState> {
  const s = (await readCgroupFile(dir, 'freezer.state'))?.trim();
  return s === 'FROZEN' || s === 'FREEZING' ? 'FROZEN' : 'THAWED';
}
