// create: everything from a typed Spec to a container whose process waits for start (or, for
// `run`, runs at once): state, the cgroup, skiff-init's spec, skiff-init in the foreground,
// detached or under skiff-monitor, and the createRuntime/prestart hooks. A failed create leaves no
// process, cgroup or state behind.
import { statSync, writeFileSync, renameSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { invalidArgument } from '../common/index.js';
import type { Spec } from '../oci/index.js';
import { CgroupV1Manager, ownCgroups, type CgroupManager, type CgroupResources } from './cgroups/index.js';
import type { StoredState } from './store.js';
import { compileCreateSpec } from './init-spec.js';
import { procStat, waitExit as waitPidExit } from './proc.js';
import { runHooks } from './hooks.js';
import { monitorPid, type ExitStatus } from './monitor/exit-file.js';
import {
  decodeStatus,
  initError,
  initStdio,
  readPid,
  runToCompletion,
  spawnForeground,
  spawnUnderMonitor,
  stateFiles,
} from './init-process.js';
import { withDefaultDevices } from './devices.js';
import type { Core, Held } from './core.js';
import type { CreateOptions } from './runtime.js';

export async function prepare(c: Core, id: string, spec: Spec, o: CreateOptions, split: boolean): Promise<StoredState> {
  const trace = c.trace;
  trace?.mark('begin');
  const dir = c.store.dir(id); // checks the id before anything is derived from it
  if (!spec.process) throw invalidArgument('process: required to create a container', { field: 'process' });
  if (o.monitor && o.detach) throw invalidArgument('detach and monitor exclude each other', { field: 'monitor' });
  const bundle = o.bundle ? resolve(o.bundle) : '';
  const rootfs = rootfsOf(spec, bundle, o.rootfs);
  const s: StoredState = {
    id,
    bundle,
    rootfs,
    pid: 0,
    created: new Date().toISOString(),
    owner: safeUser(),
    status: 'creating',
    annotations: spec.annotations,
    ...cgroupPathOf(id, spec),
    ...(o.detach ? { detached: true } : {}),
  };
  const terminal = spec.process.terminal === true;
  const consoleSocket = o.monitor && terminal ? join(dir, 'monitor', 'console.sock') : o.consoleSocket;
  if (terminal && !consoleSocket && (o.detach || o.monitor))
    throw invalidArgument('process.terminal: a detached container with a terminal needs --console-socket', {
      field: 'console-socket',
    });
  c.store.reserve(id);
  let cg: CgroupManager | undefined;
  let cgReady: Promise<void> | undefined;
  let held: Held | undefined;
  try {
    cg = c.cgroup(s);
    const manager = cg;
    // The cgroup is made while the init spec is compiled and written (dirs() needs no I/O).
    cgReady = manager.create().then(() => manager.set(withDefaultDevices(spec) as CgroupResources));
    cgReady.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
    const files = stateFiles(dir);
    const foreground = !o.monitor && !o.detach;
    const text = compileCreateSpec(spec, {
      id,
      bundle,
      rootfs,
      cgroupDirs: cg.dirs(),
      cgroupVersion: cg.version,
      cgroupLayout: cg instanceof CgroupV1Manager ? cg.layout() : undefined,
      fifo: split ? join(dir, 'exec.fifo') : undefined,
      pidFile: foreground ? undefined : files.pidFile,
      errFile: files.errFile,
      consoleSocket,
      noPivot: o.noPivot,
      noNewKeyring: o.noNewKeyring,
      preserveFds: o.preserveFds,
      foreground,
      seccompCacheDir: c.store.seccompCacheDir(),
      readyFd: foreground ? 3 + (o.preserveFds ?? 0) : undefined,
      trace: trace?.initFile,
    });
    // in the foreground the spec goes through a pipe; a monitor's or a detached skiff-init reads a file
    if (!foreground) writeFileSync(files.specFile, text);
    trace?.mark('init-spec-written');
    await cgReady;
    trace?.mark('cgroup-ready');
    if (o.monitor) {
      s.monitorDir = join(dir, 'monitor');
      s.pid = await spawnUnderMonitor(
        {
          ...files,
          ...o.monitor,
          stateDir: s.monitorDir,
          tty: terminal,
          oomFile: cg.oomFile(),
          mode: 'create',
        },
        trace?.mark,
        c.spawner(),
      );
    } else if (foreground) {
      const fg = spawnForeground(
        'create',
        text,
        initStdio(o.stdio ?? 'inherit', true, o.preserveFds),
        o.signal,
        c.spawner(),
      );
      held = { ...fg, exit: fg.status.then((st) => exitRecord(s, manager, st)) };
      held.exit.catch(() => undefined);
      c.held.set(id, held);
      trace?.mark('init-spawned');
      s.pid = await fg.ready;
      if (!s.pid) throw initError(files.errFile, decodeStatus(await fg.status).exitCode);
    } else {
      const code = await runToCompletion(
        'create',
        files.specFile,
        initStdio(o.stdio ?? 'inherit', false, o.preserveFds),
        o.signal,
        c.spawner(),
      );
      if (code !== 0) throw initError(files.errFile, code);
      s.pid = readPid(files.pidFile);
    }
    trace?.mark('init-ready');
    s.pidStartTime = procStat(s.pid)?.startTime;
    s.status = 'created';
    c.store.save(s, spec); // the only write of state.json in a container's normal life
    trace?.mark('created');
    const st = c.ociState(s);
    await runHooks('createRuntime', spec.hooks?.createRuntime, st);
    await runHooks('prestart', spec.hooks?.prestart, st);
    if (o.pidFile) writeAtomic(resolve(o.pidFile), String(s.pid));
    return s;
  } catch (e) {
    if (s.pid) {
      try {
        process.kill(s.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await waitPidExit(s.pid, undefined, 2000);
    }
    held?.kill();
    c.held.delete(id);
    if (o.monitor) await stopMonitor(join(dir, 'monitor'));
    await cgReady?.catch(() => undefined); // never destroy while the cgroup is still being made
    if (cg) {
      await cg.killAll('SIGKILL').catch(() => undefined);
      await cg.destroy().catch(() => undefined);
    }
    c.store.remove(id);
    throw e;
  }
}

/** How a foreground container ended, as the monitor's exit file would say it. */
async function exitRecord(s: StoredState, cg: CgroupManager, st: number): Promise<ExitStatus> {
  const finishedAt = new Date().toISOString();
  const oomKilled = (await cg.oomKillCount().catch(() => 0)) > 0; // the cgroup is the container's own
  return { pid: s.pid, ...decodeStatus(st), oomKilled, startedAt: s.created, finishedAt };
}

function rootfsOf(spec: Spec, bundle: string, given?: string): string {
  const p = given ?? spec.root.path;
  if (!isAbsolute(p) && !bundle)
    throw invalidArgument(`root.path: ${p} is relative and no bundle was given`, { field: 'root.path' });
  const rootfs = isAbsolute(p) ? p : join(bundle, p);
  let dir = false;
  try {
    dir = statSync(rootfs).isDirectory();
  } catch {
    /* missing */
  }
  if (!dir)
    throw invalidArgument(`root.path: rootfs ${rootfs} does not exist or is not a directory`, { field: 'root.path' });
  return rootfs;
}

/** The cgroup as runc places it: an absolute linux.cgroupsPath from each hierarchy's root; a
 *  relative one, or none (then the container id), under this process's own cgroups. */
function cgroupPathOf(id: string, spec: Spec): Pick<StoredState, 'cgroupPath' | 'cgroupParents'> {
  const p = spec.linux?.cgroupsPath || id;
  if (p.includes(':'))
    throw invalidArgument(
      `linux.cgroupsPath: systemd-style path ${p} needs --systemd-cgroup, which skiff does not support`,
      { field: 'linux.cgroupsPath' },
    );
  if (p.split('/').includes('..'))
    throw invalidArgument(`linux.cgroupsPath: ${p} must not contain ..`, { field: 'linux.cgroupsPath' });
  if (p.startsWith('/')) return { cgroupPath: p };
  return { cgroupPath: `/${p}`, cgroupParents: ownCgroups() };
}

async function stopMonitor(mdir: string): Promise<void> {
  const pid = await monitorPid(mdir).catch(() => undefined);
  if (pid) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

let owner: string | undefined;
function safeUser(): string {
  if (owner === undefined) {
    try {
      owner = userInfo().username;
    } catch {
      owner = '';
    }
  }
  return owner;
}

export function writeAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
