// `start`: open the exec fifo for reading, which releases the container init blocked in opening it
// for writing, and read its one byte. Non-blocking, so a dead init cannot hang us.
import { openSync, readSync, closeSync, constants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { failedPrecondition } from '../common/index.js';
import { isAlive, procStat } from './proc.js';

export async function releaseExecFifo(
  fifo: string,
  id: string,
  pid: number,
  startTime: number | undefined,
  timeoutMs = 10_000,
): Promise<void> {
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(8);
  const until = Date.now() + timeoutMs;
  try {
    for (let spins = 0; ; spins++) {
      if (tryRead(fd, buf) > 0) return;
      // Check liveness, then read once more: a short-lived init may write, exec and exit between.
      if (!isAlive(pid, startTime)) {
        const again = tryRead(fd, buf);
        if (again > 0) return;
        const st = procStat(pid);
        throw failedPrecondition(
          `cannot start container ${id}: its init process exited (${st ? `state ${st.state}` : 'gone'}, read ${again})`,
        );
      }
      if (Date.now() > until)
        throw failedPrecondition(`cannot start container ${id}: its init did not open the exec fifo`);
      if (spins > 20) await sleep(1);
      else await new Promise((r) => setImmediate(r));
    }
  } finally {
    closeSync(fd);
  }
}

function tryRead(fd: number, buf: Buffer): number {
  try {
    return readSync(fd, buf, 0, buf.length, null);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    return -1;
  }
}
