// `start`: open the exec fifo for reading, which releases the container's process blocked in
// opening it for writing, and read the one byte it writes. The fifo is opened non-blocking (a dead
// process cannot hang us: its end closes and the read sees EOF) and read through the event loop
// (libuv's epoll on the descriptor): no polling, no spinning that would take the CPU the released
// process needs.
import { openSync, closeSync, constants } from 'node:fs';
import { Socket } from 'node:net';
import { failedPrecondition } from '../common/index.js';
import { procStat } from './proc.js';

export async function releaseExecFifo(
  fifo: string,
  id: string,
  pid: number,
  _startTime: number | undefined,
  timeoutMs = 10_000,
): Promise<void> {
  // A writer blocked in open(2) already counts as one, so this read end sees EAGAIN, not EOF,
  // until the byte comes or the process is gone.
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  let sock: Socket;
  try {
    sock = new Socket({ fd, readable: true, writable: false });
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(failedPrecondition(`cannot start container ${id}: its process did not open the exec fifo`)),
        timeoutMs,
      );
      const done = (err?: Error) => {
        clearTimeout(timer);
        sock.removeAllListeners('data');
        if (err) reject(err);
        else resolve();
      };
      sock.once('data', () => done());
      sock.once('end', () => {
        const st = procStat(pid);
        done(
          failedPrecondition(`cannot start container ${id}: its process exited (${st ? `state ${st.state}` : 'gone'})`),
        );
      });
      sock.once('error', (e) => done(e));
    });
  } finally {
    sock.destroy();
  }
}
