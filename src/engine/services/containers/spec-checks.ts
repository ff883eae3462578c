// What dockerd takes at create and refuses only when the container starts (its getCPUResources,
// then runc's checks of the spec): CPU shares out of the kernel's range, an unknown ulimit or a soft
// limit above its hard one, a sysctl outside the namespaces the container has of its own, an unknown
// IPC mode. Refused
// at start here too, with the status dockerd gives (500) and runc's part of its message, so that a
// client sees the same phase: the create succeeds and the container stays, created, for inspection.
import { internal, invalidArgument, isSkiffError } from '../../../common/index.js';
import { NOT_A_DIRECTORY_HINT } from './exec-check.js';

/** Linux's RLIMIT_* numbers (runc names the type by number when setrlimit fails). */
const RLIMITS: Record<string, number> = {
  cpu: 0,
  fsize: 1,
  data: 2,
  stack: 3,
  core: 4,
  rss: 5,
  nproc: 6,
  nofile: 7,
  memlock: 8,
  as: 9,
  locks: 10,
  sigpending: 11,
  msgqueue: 12,
  nice: 13,
  rtprio: 14,
  rttime: 15,
};

const fail = (message: string, field: string): never => {
  throw internal(message, { field });
};

/** Throws Internal (500, as dockerd) for the first setting a start refuses. */
export function verifyAtStart(hc: { readonly [k: string]: unknown }): void {
  const shares = typeof hc.CpuShares === 'number' ? hc.CpuShares : 0;
  if (shares < 0) fail('shares: invalid argument', 'HostConfig.CpuShares');
  if (shares > 0 && shares < 2) fail('the minimum allowed cpu-shares is 2', 'HostConfig.CpuShares');
  if (shares > 262144) fail('the maximum allowed cpu-shares is 262144', 'HostConfig.CpuShares');
  const ipc = String(hc.IpcMode ?? '');
  if (!['', 'private', 'shareable', 'host', 'none'].includes(ipc) && !/^container:.+/.test(ipc))
    fail(`Invalid IPC mode: ${ipc}`, 'HostConfig.IpcMode');
  const sysctls = (hc.Sysctls as Record<string, string> | null | undefined) ?? {};
  for (const k of Object.keys(sysctls))
    if (k.startsWith('net.') && hc.NetworkMode === 'host')
      fail(`sysctl ${JSON.stringify(k)} not allowed in host network namespace`, 'HostConfig.Sysctls');
    else if (!namespacedSysctl(k, String(hc.NetworkMode ?? ''), String(hc.IpcMode ?? ''), String(hc.UTSMode ?? '')))
      fail(`sysctl ${JSON.stringify(k)} is not in a separate kernel namespace`, 'HostConfig.Sysctls');
  const ulimits = (hc.Ulimits as { Name?: string; Soft?: number; Hard?: number }[] | null | undefined) ?? [];
  for (const u of ulimits)
    if (!(String(u.Name).toLowerCase() in RLIMITS))
      fail(`wrong rlimit value: RLIMIT_${String(u.Name).toUpperCase()}`, 'HostConfig.Ulimits');
  for (const u of ulimits)
    if ((u.Soft ?? 0) > (u.Hard ?? 0))
      fail(
        `error setting rlimit type ${RLIMITS[String(u.Name).toLowerCase()]}: invalid argument`,
        'HostConfig.Ulimits',
      );
}

/** runc's rule: only sysctls of a namespace the container has of its own may be set. */
function namespacedSysctl(k: string, net: string, ipc: string, uts: string): boolean {
  if (/^(kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)|fs\.mqueue\..+)$/.test(k))
    return ipc !== 'host';
  if (k.startsWith('net.')) return net !== 'host';
  if (k === 'kernel.domainname' || k === 'kernel.hostname') return uts !== 'host';
  return false;
}

/** A failed start's error and exit code as dockerd gives them (moby's translateContainerdStartErr):
 *  a missing command (127), one that cannot be run (126) and a mount of a file onto a directory or
 *  the reverse (127, with dockerd's hint) are the caller's mistakes (400); whatever else the runtime
 *  refuses (capabilities the host lacks, a bad tmpfs option, …) is a 500 with exit code 128, as
 *  dockerd's `errdefs.Unknown`. `cmd` is the container's Path. */
export function startError(e: unknown, cmd: string): { error: Error; exitCode: number } {
  const msg = e instanceof Error ? e.message : String(e);
  const has = (s: string) => msg.toLowerCase().includes(s);
  const bad = (message: string, exitCode: number) => ({
    error: invalidArgument(message, { field: 'Config.Cmd', cause: e }),
    exitCode,
  });
  if (has(cmd.toLowerCase()) && (has('executable file not found') || has('no such file or directory')))
    return bad(msg, 127);
  if (has('permission denied')) return bad(msg, 126);
  if (has('not a directory')) return bad(`${msg}${NOT_A_DIRECTORY_HINT}`, 127);
  return { error: isSkiffError(e, 'Internal') ? e : internal(msg, { cause: e }), exitCode: 128 };
}

/** What building the spec refuses (an unknown user or group, …) fails the start as dockerd's
 *  createSpec does: `errdefs.System`, a 500, with the same message. */
export function specError(e: unknown): Error {
  if (isSkiffError(e, 'Internal') || isSkiffError(e, 'NotFound')) return e;
  return internal(e instanceof Error ? e.message : String(e), { cause: e });
}
