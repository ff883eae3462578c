// Container log rotation (kubelet's container log manager, containerLogMaxSize 10 MiB and
// containerLogMaxFiles 5): a running container's log over the size is renamed to
// `<path>.<YYYYMMDD-hhmmss>` and the runtime is told to reopen it; rotated files other than the
// newest are gzipped, and only the newest ones are kept so at most 5 files exist per container.
import { createReadStream, createWriteStream, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { ContainerRuntime } from '../../../cri/index.js';

export interface RotationPolicy {
  maxBytes: number;
  maxFiles: number;
}

export const DEFAULT_ROTATION: RotationPolicy = { maxBytes: 10 * 1024 * 1024, maxFiles: 5 };

const stamp = (d = new Date()) => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
};

const exists = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

/** Rotated files of a log, newest first. */
export function rotatedFiles(logPath: string): string[] {
  const dir = dirname(logPath);
  const base = basename(logPath);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(`${base}.`) && /^\d{8}-\d{6}(\.gz)?$/.test(n.slice(base.length + 1)))
    .sort((a, b) => (a.replace(/\.gz$/, '') < b.replace(/\.gz$/, '') ? 1 : -1))
    .map((n) => join(dir, n));
}

async function compress(path: string): Promise<void> {
  await pipeline(createReadStream(path), createGzip(), createWriteStream(`${path}.gz`));
  rmSync(path, { force: true });
}

/** Rotates one container's log when it is over the size; trims and compresses old rotations. */
export async function rotateIfNeeded(
  rt: Pick<ContainerRuntime, 'reopenContainerLog'>,
  containerId: string,
  logPath: string,
  policy: RotationPolicy = DEFAULT_ROTATION,
): Promise<boolean> {
  let size = 0;
  try {
    size = statSync(logPath).size;
  } catch {
    return false;
  }
  let rotated = false;
  if (size >= policy.maxBytes) {
    // One name per second; a second rotation within the same second takes the next free one.
    let t = Date.now();
    let target = `${logPath}.${stamp(new Date(t))}`;
    while (exists(target) || exists(`${target}.gz`)) {
      t += 1000;
      target = `${logPath}.${stamp(new Date(t))}`;
    }
    renameSync(logPath, target);
    try {
      await rt.reopenContainerLog({ containerId });
    } catch (e) {
      // The runtime could not reopen: put the file back so logs are not lost.
      renameSync(target, logPath);
      throw e;
    }
    rotated = true;
  }
  const old = rotatedFiles(logPath);
  for (const f of old.slice(Math.max(policy.maxFiles - 1, 0))) rmSync(f, { force: true });
  for (const f of old.slice(1, Math.max(policy.maxFiles - 1, 1))) if (!f.endsWith('.gz')) await compress(f);
  return rotated;
}
