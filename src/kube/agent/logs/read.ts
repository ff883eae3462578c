// Reading CRI container log files (`<RFC3339Nano> <stdout|stderr> <F|P> <content>` per line) as
// kubelet does for `kubectl logs`: tailLines, sinceTime, timestamps, limitBytes, and follow —
// which keeps reading as the runtime appends, reopens the file when it is rotated, and ends once
// the container has stopped and the file is read to its end. Only the current file is read (as
// upstream); rotated files are not.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch } from 'node:fs';

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  /** Only lines at or after this time (ms since the epoch). */
  sinceMs?: number;
  timestamps?: boolean;
  limitBytes?: number;
  /** Which stream to include (default both). */
  stream?: 'stdout' | 'stderr' | 'all';
}

export interface LogLine {
  time: string;
  stream: string;
  partial: boolean;
  content: Buffer;
}

/** One CRI log line, or undefined when it is not in the format. */
export function parseCriLine(line: Buffer): LogLine | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 <= 0) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const stream = line.subarray(s1 + 1, s2).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  let tag = '';
  let rest = s2 + 1;
  const s3 = line.indexOf(0x20, s2 + 1);
  if (s3 >= 0 && s3 - s2 - 1 <= 8) {
    tag = line.subarray(s2 + 1, s3).toString('latin1');
    rest = s3 + 1;
  } else if (s3 < 0) {
    tag = line.subarray(s2 + 1).toString('latin1');
    rest = line.length;
  }
  return {
    time: line.subarray(0, s1).toString('latin1'),
    stream,
    partial: tag.split(':')[0] === 'P',
    content: line.subarray(Math.min(rest, line.length)),
  };
}

/** The last `n` lines of a CRI log as the user sees them (content only, for termination messages). */
export function tailLines(data: Buffer, n: number): string {
  const out: string[] = [];
  for (const raw of splitLines(data)) {
    const l = parseCriLine(raw);
    if (!l) continue;
    out.push(l.content.toString('utf8') + (l.partial ? '' : '\n'));
  }
  return out.slice(-n).join('');
}

function* splitLines(data: Buffer): Generator<Buffer> {
  let start = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, start);
    if (nl < 0) {
      if (start < data.length) yield data.subarray(start);
      return;
    }
    yield data.subarray(start, nl);
    start = nl + 1;
  }
}

/** Byte offset where the last `n` lines of the file begin (scanning backwards in chunks). */
async function tailOffset(fh: FileHandle, size: number, n: number): Promise<number> {
  if (n <= 0) return size;
  let pos = size;
  let seen = 0;
  const chunk = Buffer.alloc(64 * 1024);
  // A trailing newline ends the last line; it does not start another one.
  let skipFirst = true;
  while (pos > 0) {
    const len = Math.min(chunk.length, pos);
    pos -= len;
    await fh.read(chunk, 0, len, pos);
    for (let i = len - 1; i >= 0; i--) {
      if (chunk[i] !== 0x0a) {
        skipFirst = false;
        continue;
      }
      if (skipFirst) {
        skipFirst = false;
        continue;
      }
      if (++seen === n) return pos + i + 1;
    }
  }
  return 0;
}

export interface LogSink {
  write(b: Buffer): boolean | void;
}

/** Streams a container's log to `out`. `running()` says whether the container still runs (for
 *  follow). Resolves when done, when `limitBytes` is reached or when the signal aborts. */
export async function readContainerLog(
  path: string,
  opts: LogOptions,
  out: LogSink,
  running: () => Promise<boolean>,
  signal?: AbortSignal,
): Promise<void> {
  let fh = await open(path, 'r');
  let ino = (await fh.stat()).ino;
  let remaining = opts.limitBytes && opts.limitBytes > 0 ? opts.limitBytes : Number.POSITIVE_INFINITY;
  let pos = 0;
  if (opts.tailLines !== undefined && opts.tailLines >= 0)
    pos = await tailOffset(fh, (await fh.stat()).size, opts.tailLines);
  let pending = Buffer.alloc(0);
  const emit = (raw: Buffer): boolean => {
    const l = parseCriLine(raw);
    if (!l) return true;
    if (opts.stream && opts.stream !== 'all' && l.stream !== opts.stream) return true;
    if (opts.sinceMs !== undefined && Date.parse(l.time) < opts.sinceMs) return true;
    let b = l.partial ? l.content : Buffer.concat([l.content, Buffer.from('\n')]);
    if (opts.timestamps) b = Buffer.concat([Buffer.from(`${l.time} `), b]);
    if (b.length >= remaining) {
      out.write(b.subarray(0, remaining));
      remaining = 0;
      return false;
    }
    remaining -= b.length;
    out.write(b);
    return true;
  };
  const drain = async (): Promise<boolean> => {
    const buf = Buffer.alloc(256 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return true;
      pos += bytesRead;
      pending = Buffer.concat([pending, buf.subarray(0, bytesRead)]);
      let start = 0;
      for (let nl = pending.indexOf(0x0a); nl >= 0; nl = pending.indexOf(0x0a, start)) {
        if (!emit(pending.subarray(start, nl))) return false;
        start = nl + 1;
      }
      pending = pending.subarray(start);
    }
  };
  try {
    if (!(await drain())) return;
    if (!opts.follow) {
      if (pending.length) emit(pending);
      return;
    }
    while (!signal?.aborted) {
      await waitForChange(path, 1000, signal);
      if (!(await drain())) return;
      // the file may be rotated away between the change and the stat: next round looks again
      const cur = await stat(path).catch(() => undefined);
      if (cur && cur.ino !== ino) {
        // Rotated: the old file is complete; continue with the new one from its start.
        await fh.close();
        fh = await open(path, 'r');
        ino = (await fh.stat()).ino;
        pos = 0;
        pending = Buffer.alloc(0);
        if (!(await drain())) return;
        continue;
      }
      if (!(await running())) {
        if (!(await drain())) return;
        if (pending.length) emit(pending);
        return;
      }
    }
  } finally {
    // the follow is over; a close error has nobody to report to
    await fh.close().catch(() => undefined);
  }
}

function waitForChange(path: string, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let w: ReturnType<typeof watch> | undefined;
    const done = () => {
      clearTimeout(t);
      w?.close();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    try {
      w = watch(path, done);
      w.on('error', done);
    } catch {
      /* the file is gone (rotation in progress): the timeout re-checks */
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
