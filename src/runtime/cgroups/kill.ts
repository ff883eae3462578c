// killAll for both versions: freeze so nothing forks while we enumerate, signal every pid, thaw
// so the signal can be delivered (a frozen task does not die until thawed).
import type { CgroupManager } from './types.js';

export async function killAllWith(m: CgroupManager, signal: NodeJS.Signals | number): Promise<void> {
  let frozen = false;
  try {
    await m.freeze();
    frozen = true;
  } catch {
    // No freezer (or it timed out): signal anyway, best effort.
  }
  try {
    for (const pid of await m.pids()) {
      try {
        process.kill(pid, signal);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
  } finally {
    if (frozen) await m.thaw();
  }
}
