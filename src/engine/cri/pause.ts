// Starting and stopping native/skiff-pause, the process that holds a sandbox's namespaces, and the
// pod's shared /dev/shm (a tmpfs per sandbox, bind-mounted into each of its containers, so POSIX
// shared memory is shared the way the ipc namespace shares SysV IPC).
import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { internal, invalidArgument, runCommand, sleep } from '../../common/index.js';
import { isAlive, nativeDir } from '../../runtime/index.js';

export interface PauseOptions {
  net: boolean;
  ipc: boolean;
  uts: boolean;
  pid: boolean;
  hostname?: string;
  sysctls: Record<string, string>;
  /** cgroup.procs files the holder joins. */
  cgroupProcs: string[];
  /** A new user namespace with these mappings, made before the other namespaces (which it owns). */
  userns?: { uids: IdMapLine[]; gids: IdMapLine[] };
}

interface IdMapLine {
  containerID: number;
  hostID: number;
  size: number;
}

export function pauseBinary(): string {
  const p = process.env.SKIFF_PAUSE ?? join(nativeDir(), 'skiff-pause');
  if (!existsSync(p)) throw internal(`skiff-pause not found at ${p}: run \`npm run build\``);
  return p;
}

export function startTimeOf(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

/** Starts the holder; resolves with its host pid once its namespaces exist and it handles signals. */
export async function startPause(o: PauseOptions): Promise<{ pid: number; startTime?: number }> {
  const args: string[] = [];
  if (o.net) args.push('--net');
  if (o.ipc) args.push('--ipc');
  if (o.uts) args.push('--uts');
  if (o.pid) args.push('--pid');
  if (o.hostname && o.uts) args.push('--hostname', o.hostname);
  for (const [k, v] of Object.entries(o.sysctls)) {
    if (!/^[a-zA-Z0-9_]+([./][a-zA-Z0-9_-]+)+$/.test(k) || k.includes('..'))
      throw invalidArgument(`linux.sysctls: invalid sysctl name ${JSON.stringify(k)}`, { field: 'linux.sysctls' });
    args.push('--sysctl', `${k.replace(/\//g, '.')}=${v}`);
  }
  for (const f of o.cgroupProcs) args.push('--cgroup-procs', f);
  const line = (m: IdMapLine) => `${m.containerID}:${m.hostID}:${m.size}`;
  for (const m of o.userns?.uids ?? []) args.push('--uid-map', line(m));
  for (const m of o.userns?.gids ?? []) args.push('--gid-map', line(m));
  // through the command runner (skiff-spawn in a daemon: no fork of Node per sandbox)
  const { code, stdout: out, stderr: err } = await runCommand(pauseBinary(), args);
  const pid = Number(out.trim());
  if (code !== 0 || !Number.isInteger(pid) || pid <= 0) {
    const msg = err.trim() || `exit status ${code}`;
    if (/sysctl|\/proc\/sys/.test(msg)) throw invalidArgument(`linux.sysctls: ${msg}`, { field: 'linux.sysctls' });
    throw internal(`starting the sandbox's pause process failed: ${msg}`);
  }
  return { pid, startTime: startTimeOf(pid) };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the holder is gone. */
export async function stopPause(pid: number, startTime: number | undefined, graceMs = 2000): Promise<void> {
  if (!isAlive(pid, startTime)) return;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  kill('SIGTERM');
  const until = Date.now() + graceMs;
  while (isAlive(pid, startTime) && Date.now() < until) await sleep(10);
  if (isAlive(pid, startTime)) kill('SIGKILL');
  for (let i = 0; i < 500 && isAlive(pid, startTime); i++) await sleep(10);
}

/** Whether something is mounted at `dir`. A device other than its parent's says so at the cost of
 *  two stats (tmpfs and overlay mounts have one of their own); otherwise (nothing mounted, or a
 *  bind mount) the mount ids of `dir` and its parent tell (the `mnt_id` of an open descriptor in
 *  /proc/self/fdinfo: a few hundred bytes, where the mount table grows with every mount on the
 *  host and reading it takes the kernel's mount lock that every mount and umount also takes —
 *  in a burst of pods this check was most of the /dev/shm and rootfs mount time). The mount table
 *  is read only when the ids cannot be had. */
export async function isMounted(dir: string): Promise<boolean> {
  try {
    if (statSync(dir).dev !== statSync(dirname(dir)).dev) return true;
  } catch {
    return false;
  }
  const own = mountId(dir);
  const parent = mountId(dirname(dir));
  if (own !== undefined && parent !== undefined) return own !== parent;
  try {
    return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === dir);
  } catch {
    return false;
  }
}

/** The id of the mount `path` is on (as /proc/self/mountinfo numbers them), or undefined. */
function mountId(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    return undefined;
  }
  try {
    const m = /^mnt_id:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The pod's /dev/shm: a 64 MiB tmpfs (Docker's and containerd's default size). */
export async function mountShm(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (await isMounted(dir)) return;
  const r = await runCommand('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,mode=1777,size=65536k', 'shm', dir]);
  if (r.code !== 0) throw internal(`mount shm at ${dir} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
}

export async function unmountShm(dir: string): Promise<void> {
  // isMounted said yes, but a racing teardown may have unmounted it first
  if (await isMounted(dir)) await runCommand('umount', ['-l', dir]).catch(() => undefined);
}
