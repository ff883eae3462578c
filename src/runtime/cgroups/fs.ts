// Small file helpers shared by the v1 and v2 managers. Control files are opened write-only without
// O_CREAT: on cgroupfs a missing file means "controller not available", and creating a regular
// file instead (possible on a test's fake root) would hide that. Every error names the file and
// the value so a failed `set` is diagnosable from the message alone.
// The system calls are synchronous: a cgroupfs write or rmdir takes microseconds, while a round trip
// through libuv's thread pool per open/write/close made creating and removing a container's cgroups
// (dozens of files over 9 v1 hierarchies) cost milliseconds of latency. The API stays async.
import {
  openSync,
  writeSync,
  closeSync,
  readFileSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statfsSync,
  constants,
} from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, internal, notFound, unavailable, SkiffError, sleep } from '../../common/index.js';

export async function writeCgroupFile(dir: string, file: string, value: string | number): Promise<void> {
  const path = join(dir, file);
  const text = String(value);
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
    writeSync(fd, text);
  } catch (e) {
    throw cgroupWriteError(path, file, text, e);
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* nothing to flush on cgroupfs */
      }
    }
  }
}

function cgroupWriteError(path: string, file: string, value: string, e: unknown): SkiffError {
  const code = (e as NodeJS.ErrnoException).code;
  const msg = `cgroup: cannot write "${value}" to ${path}: ${code ?? (e as Error).message}`;
  if (code === 'ENOENT')
    return notFound(`${msg} (controller file ${file} not available on this kernel or not enabled for this cgroup)`, {
      cause: e,
      field: file,
    });
  if (code === 'EINVAL' || code === 'ERANGE') return invalidArgument(msg, { cause: e, field: file });
  if (code === 'EBUSY' || code === 'EAGAIN') return unavailable(msg, { cause: e, field: file });
  return internal(msg, { cause: e, field: file });
}

/** Reads a control file; undefined when it does not exist. */
export async function readCgroupFile(dir: string, file: string): Promise<string | undefined> {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'EOPNOTSUPP') return undefined;
    throw internal(`cgroup: cannot read ${join(dir, file)}: ${code}`, { cause: e, field: file });
  }
}

export async function readNumber(dir: string, file: string): Promise<number | undefined> {
  const t = await readCgroupFile(dir, file);
  if (t === undefined) return undefined;
  const s = t.trim();
  if (s === 'max') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** Parses "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control). */
export function parseFlatKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

export async function readFlatKeyed(dir: string, file: string): Promise<Record<string, number>> {
  return parseFlatKeyed(await readCgroupFile(dir, file));
}

/** Pids listed in cgroup.procs of `dir` and every descendant cgroup. */
export async function readProcsRecursive(dir: string): Promise<number[]> {
  const out: number[] = [];
  const text = await readCgroupFile(dir, 'cgroup.procs');
  if (text === undefined) return out;
  for (const l of text.split('\n')) if (l.trim()) out.push(Number(l.trim()));
  for (const e of readdirOrEmpty(dir)) {
    if (e.isDirectory()) out.push(...(await readProcsRecursive(join(dir, e.name))));
  }
  return out;
}

const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Removes a cgroup directory and its child cgroups (deepest first), retrying while processes
 *  exit (EBUSY) for up to `timeoutMs`. Missing directories are fine (idempotent). On a directory
 *  that is not on cgroupfs (a test's fake root) the tree is removed recursively instead. */
export async function removeCgroupDir(dir: string, timeoutMs = 2000): Promise<void> {
  let fsType: number;
  try {
    fsType = Number(statfsSync(dir).type);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (fsType !== CGROUP_SUPER_MAGIC && fsType !== CGROUP2_SUPER_MAGIC) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const e of readdirOrEmpty(dir)) {
    if (e.isDirectory()) await removeCgroupDir(join(dir, e.name), timeoutMs);
  }
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) {
        throw unavailable(`cgroup: cannot remove ${dir}: ${code} (processes still in it?)`, { cause: e });
      }
      await sleep(delay);
    }
  }
}

function readdirOrEmpty(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** "max" for unlimited (-1 or undefined), the number otherwise. */
export const maxOr = (n: number | undefined): string => (n === undefined || n < 0 ? 'max' : String(n));
