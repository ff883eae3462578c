// Conversions between the OCI (cgroup v1 shaped) resource values and cgroup v2 files, done the
// way runc does them so that the same config.json gives the same kernel settings under Skiff.
import { invalidArgument } from '../../common/index.js';

/** cpu.shares [2..262144] → cpu.weight [1..10000]: weight = 1 + ((shares-2)*9999)/262142. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

/** blkio.weight [10..1000] → io.weight [1..10000]. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return Math.floor(1 + ((weight - 10) * 9999) / 990);
}

/**
 * OCI `memory.swap` is memory+swap (the v1 memsw limit); v2's memory.swap.max is swap alone.
 * Returns the v2 value: -1 = "max", 0 = leave unset, otherwise swap - limit.
 */
export function memorySwapToV2(swap: number | undefined, limit: number | undefined): number {
  const s = swap ?? 0;
  const m = limit ?? 0;
  if (m === -1 && s === 0) return -1; // memory unlimited, swap not given: both unlimited (as on v1)
  if (s === -1 || s === 0) return s;
  if (m === 0 || m === -1)
    throw invalidArgument('linux.resources.memory.swap: a swap limit needs a memory limit', {
      field: 'linux.resources.memory.swap',
    });
  if (m < 0)
    throw invalidArgument(`linux.resources.memory.limit: invalid value ${m}`, {
      field: 'linux.resources.memory.limit',
    });
  if (s < m)
    throw invalidArgument(
      `linux.resources.memory.swap (${s}) must be >= memory.limit (${m}): OCI swap is memory+swap`,
      { field: 'linux.resources.memory.swap' },
    );
  return s - m;
}

/** Checks a cgroups path (`/skiff/abc` or `skiff/abc`) and returns it normalized with a leading slash. */
export function normalizeCgroupPath(path: string): string {
  if (typeof path !== 'string' || path.trim() === '')
    throw invalidArgument('cgroupsPath must be a non-empty path', { field: 'linux.cgroupsPath' });
  if (/^[^/]*:[^/]*:/.test(path)) {
    throw invalidArgument(
      `cgroupsPath "${path}" is in systemd "slice:prefix:name" form; only cgroupfs paths are supported`,
      { field: 'linux.cgroupsPath' },
    );
  }
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..' || p.includes('\0')))
    throw invalidArgument(`cgroupsPath "${path}" must not contain ".."`, { field: 'linux.cgroupsPath' });
  if (parts.length === 0)
    throw invalidArgument('cgroupsPath must not be the root cgroup', { field: 'linux.cgroupsPath' });
  return '/' + parts.join('/');
}

/** "major:minor" with -1/undefined as "*" (devices rules). */
export const devNum = (n: number | undefined): string => (n === undefined || n < 0 ? '*' : String(n));
