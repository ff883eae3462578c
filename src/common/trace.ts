// Phase timing for profiling (`SKIFF_TRACE=FILE`): each traced phase appends one JSON line
// `{"k": key, "p": phase, "t": startMs, "ms": durationMs}` to FILE, `t` in milliseconds since the
// epoch with sub-millisecond precision, so a client on the same machine (bench/pods.ts) can put the
// server's phases on its own clock. Off (no cost besides one check) without the variable. Lines are
// buffered and appended every 200 ms and at exit: a synchronous write per phase would itself show
// up in the profile under load.
import { appendFile, appendFileSync } from 'node:fs';

const file = process.env.SKIFF_TRACE || '';
let buf: string[] = [];
let timer: NodeJS.Timeout | undefined;

const now = () => performance.timeOrigin + performance.now();

function flush(): void {
  timer = undefined;
  if (!buf.length) return;
  const text = buf.join('');
  buf = [];
  appendFile(file, text, () => undefined);
}

if (file)
  process.on('exit', () => {
    if (buf.length) appendFileSync(file, buf.join(''));
  });

export function traceOn(): boolean {
  return file !== '';
}

/** Records that phase `p` of `key` ran from `t0` (a `traceNow()`) until now. */
export function traceMark(key: string, p: string, t0: number): void {
  if (!file) return;
  buf.push(`${JSON.stringify({ k: key, p, t: t0, ms: now() - t0 })}\n`);
  timer ??= setTimeout(flush, 200).unref();
}

export function traceNow(): number {
  return file ? now() : 0;
}

/** Runs `fn` as phase `p` of `key` (recorded whether it succeeds or throws). */
export async function traced<T>(key: string, p: string, fn: () => Promise<T>): Promise<T> {
  if (!file) return fn();
  const t0 = now();
  try {
    return await fn();
  } finally {
    traceMark(key, p, t0);
  }
}
