// Reader for the CRI log files skiff-monitor writes (`<RFC3339Nano> <stdout|stderr> <F|P> <content>`),
// including the rotated ones (F.N … F.2, F.1, then F), with tail / since / until and follow.
// Hand-written: the format is one line per record and no maintained npm package reads CRI logs.
import { open, stat, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { invalidArgument, sleep } from '../../common/index.js';
import { isMonitorAlive } from './exit-file.js';

export interface CriLogRecord {
  /** The timestamp as written (RFC3339Nano, UTC). */
  time: string;
  /** Nanoseconds since the epoch (exact, for since/until and ordering). */
  timeNs: bigint;
  stream: 'stdout' | 'stderr';
  /** P: the line continues in the next record (split at 16 KiB, or no newline at exit). */
  partial: boolean;
  /** Content without the trailing newline, as bytes and decoded as UTF-8. */
  bytes: Buffer;
  line: string;
}

export type TimeArg = Date | string | number | bigint;

export interface ReadCriLogOptions {
  /** Keep reading as the file grows (and across rotations) until aborted or `stateDir` has an exit file. */
  follow?: boolean;
  /** With follow: stop once this monitor state dir has exit.json and the log is read to its end. */
  stateDir?: string;
  /** Only records at or after this time (Date, RFC3339 string, ms number, or ns bigint). */
  since?: TimeArg;
  /** Only records before or at this time. */
  until?: TimeArg;
  /** Only the last N records present when reading starts (then new ones when following). */
  tail?: number;
  signal?: AbortSignal;
  /** Poll interval while following (ms). */
  pollMs?: number;
}

/** RFC3339(Nano) → ns since epoch; undefined when malformed. */
export function parseTimeNs(t: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(t);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

function toNs(v: TimeArg | undefined, field: string): bigint | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.floor(v * 1e6));
  if (v instanceof Date) return BigInt(v.getTime()) * 1_000_000n;
  const ns = parseTimeNs(v) ?? (Number.isNaN(Date.parse(v)) ? undefined : BigInt(Date.parse(v)) * 1_000_000n);
  if (ns === undefined) throw invalidArgument(`${field}: not a timestamp: "${v}"`, { field });
  return ns;
}

/** Parses one record line (without its newline); undefined for lines that are not CRI records. */
export function parseCriLine(raw: Buffer): CriLogRecord | undefined {
  const s1 = raw.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : raw.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const s3 = raw.indexOf(0x20, s2 + 1);
  const time = raw.subarray(0, s1).toString('latin1');
  const stream = raw.subarray(s1 + 1, s2).toString('latin1');
  const tag = raw.subarray(s2 + 1, s3 < 0 ? raw.length : s3).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const timeNs = parseTimeNs(time);
  if (timeNs === undefined) return undefined;
  const bytes = s3 < 0 ? Buffer.alloc(0) : raw.subarray(s3 + 1);
  return { time, timeNs, stream, partial: tag.split(':')[0] === 'P', bytes, line: bytes.toString('utf8') };
}

/** The rotated files of `file`, oldest first (F.N … F.1). */
export async function rotatedFiles(file: string): Promise<string[]> {
  const base = basename(file);
  const names = await readdir(dirname(file)).catch(() => [] as string[]);
  const nums = names
    .map((n) => (n.startsWith(base + '.') ? Number(n.slice(base.length + 1)) : NaN))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => b - a);
  return nums.map((n) => `${file}.${n}`);
}

/** Reads records from an open file handle starting at `pos`; returns the new position (after the last full line). */
async function* readFrom(
  fh: import('node:fs/promises').FileHandle,
  pos: { off: number; carry: Buffer },
): AsyncGenerator<CriLogRecord> {
  const chunk = Buffer.alloc(65536);
  for (;;) {
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos.off);
    if (bytesRead === 0) return;
    pos.off += bytesRead;
    let data = pos.carry.length
      ? Buffer.concat([pos.carry, chunk.subarray(0, bytesRead)])
      : Buffer.from(chunk.subarray(0, bytesRead));
    let nl: number;
    while ((nl = data.indexOf(0x0a)) >= 0) {
      const rec = parseCriLine(data.subarray(0, nl));
      data = data.subarray(nl + 1);
      if (rec) yield rec;
    }
    pos.carry = Buffer.from(data);
  }
}

export async function* readCriLog(file: string, opts: ReadCriLogOptions = {}): AsyncGenerator<CriLogRecord> {
  const since = toNs(opts.since, 'since');
  const until = toNs(opts.until, 'until');
  if (opts.tail !== undefined && (!Number.isInteger(opts.tail) || opts.tail < 0))
    throw invalidArgument('tail must be a non-negative integer', { field: 'tail' });
  const keep = (r: CriLogRecord) =>
    (since === undefined || r.timeNs >= since) && (until === undefined || r.timeNs <= until);
  const signal = opts.signal;

  // 1. What exists now: rotated files oldest first, then the live file (kept open for follow).
  const ring: CriLogRecord[] = [];
  const emitOrBuffer = function* (r: CriLogRecord): Generator<CriLogRecord> {
    if (!keep(r)) return;
    if (opts.tail === undefined) {
      yield r;
      return;
    }
    ring.push(r);
    if (ring.length > opts.tail) ring.shift();
  };
  for (const f of await rotatedFiles(file)) {
    const fh = await open(f, 'r').catch(() => undefined); // rotated away meanwhile
    if (!fh) continue;
    try {
      for await (const r of readFrom(fh, { off: 0, carry: Buffer.alloc(0) })) yield* emitOrBuffer(r);
    } finally {
      await fh.close();
    }
    if (signal?.aborted) return;
  }
  let fh = await open(file, 'r').catch((e) => {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && opts.follow) return undefined;
    throw e;
  });
  let pos = { off: 0, carry: Buffer.alloc(0) };
  try {
    if (fh) for await (const r of readFrom(fh, pos)) yield* emitOrBuffer(r);
    yield* ring.splice(0);
    if (!opts.follow) return;

    // 2. Follow: poll for growth; on rotation (the path names a new inode) finish the old file, then switch.
    let ino = fh ? (await fh.stat()).ino : -1;
    for (let round = 0; ; round++) {
      if (signal?.aborted) return;
      // Stop after the exit file appears — or, checked about once a second, when the monitor
      // died without writing one (nothing will be appended any more).
      const exited = opts.stateDir
        ? existsSync(join(opts.stateDir, 'exit.json')) ||
          (round % 10 === 9 && !(await isMonitorAlive(opts.stateDir)) && !existsSync(join(opts.stateDir, 'exit.json')))
        : false;
      if (fh) for await (const r of readFrom(fh, pos)) if (keep(r)) yield r;
      // the file may be rotated away between reads: the next round looks again
      const cur = await stat(file).catch(() => undefined);
      if (cur && cur.ino !== ino) {
        if (fh) {
          for await (const r of readFrom(fh, pos)) if (keep(r)) yield r;
          await fh.close();
        }
        // rotation: the new file may not exist yet (the next round opens it)
        fh = await open(file, 'r').catch(() => undefined);
        pos = { off: 0, carry: Buffer.alloc(0) };
        ino = fh ? (await fh.stat()).ino : -1;
        continue;
      }
      if (exited) return; // the exit file is written after the log is complete
      if (until !== undefined && BigInt(Date.now()) * 1_000_000n > until) return;
      await sleep(opts.pollMs ?? 100, signal);
    }
  } finally {
    await fh?.close();
  }
}
