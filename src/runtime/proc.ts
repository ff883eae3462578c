// Facts about host processes read from /proc: liveness (zombies count as dead), start time (so a
// recycled pid is not mistaken for the container), waiting for a non-child to exit.
import { readFileSync } from 'node:fs';
import { sleep } from '../common/index.js';

interface ProcStat {
  state: string;
  ppid: number;
  startTime: number;
}

export function procStat(pid: number): ProcStat | undefined {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]), startTime: Number(f[19]) };
}

/** True when `pid` runs (not a zombie) and, if given, started at `startTime`. */
export function isAlive(pid: number, startTime?: number): boolean {
  if (!pid) return false;
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

/** Polls until the process is gone; false on timeout or abort. */
export async function waitExit(
  pid: number,
  startTime: number | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  let delay = 1;
  while (isAlive(pid, startTime)) {
    if (Date.now() > until || signal?.aborted) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
  return true;
}
