// exec: a process run by skiff-init in a running container's namespaces and cgroups. Three ways:
// in the foreground (this process waits; skiff-init reports the pid, then the exit status), detached
// (resolves once the process exec'd; runc's `exec -d`), or under its own skiff-monitor (like a
// monitored container: output, stdin and the pty held by the monitor, attach and waitExit by exec
// id), where the process is set up and then waits on a fifo until `beforeStart` has run.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StdioOptions } from 'node:child_process';
import { checkSafeId, internal, invalidArgument, randomSuffix } from '../common/index.js';
import type { Process, Spec } from '../oci/index.js';
import type { ContainerStatus } from './status.js';
import { canExec } from './status.js';
import { compileExecSpec } from './init-spec.js';
import { releaseExecFifo } from './fifo.js';
import { procStat } from './proc.js';
import type { Spawner } from './spawner.js';
import {
  decodeStatus,
  initError,
  initStdio,
  readPid,
  runToCompletion,
  spawnForeground,
  spawnUnderMonitor,
} from './init-process.js';

export interface ExecOptions {
  /** Resolve once the process runs, without waiting for it (runc's `exec --detach`). */
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  /** runc's --preserve-fds (see CreateOptions). */
  preserveFds?: number;
  /** The process's stdio (default: inherited); not with `monitor`. */
  stdio?: StdioOptions;
  signal?: AbortSignal;
  /** Called with the process's host pid once it runs (foreground). */
  onStart?: (pid: number) => void;
  /** Run under skiff-monitor, known by `execId` to attach(), waitExit() and delete(). Resolves
   *  once the process runs. */
  monitor?: { execId: string; stdin?: boolean };
  /** Monitored: called once the monitor is up (attach now to miss no output), before the process
   *  is released. */
  beforeStart?: () => Promise<void> | void;
}

export interface ExecResult {
  pid: number;
  /** Foreground only: the exit status (128+signal for a signal death). */
  exitCode?: number;
}

/** What exec needs to know about the container. */
export interface ExecTarget {
  id: string;
  dir: string;
  pid: number;
  status: ContainerStatus;
  spec: Spec;
  cgroupDirs: Record<string, string>;
  seccompCacheDir: string;
  spawner?: Spawner;
}

export function execDir(containerDir: string, execId: string): string {
  return join(containerDir, `exec-${checkSafeId(execId, 'exec id')}`);
}

export async function execIn(t: ExecTarget, p: Process, o: ExecOptions): Promise<ExecResult> {
  canExec(t.id, t.status);
  if (o.monitor) return execMonitored(t, p, o, o.monitor);
  if (p.terminal && !o.consoleSocket && o.detach)
    throw invalidArgument('a detached tty exec needs --console-socket', { field: 'console-socket' });
  const tag = randomSuffix();
  const files = {
    spec: join(t.dir, `exec-${tag}.spec`),
    pidFile: join(t.dir, `exec-${tag}.pid`),
    errFile: join(t.dir, `exec-${tag}.err`),
  };
  const foreground = !o.detach;
  const text = compileExecSpec(t.spec, p, {
    pid: t.pid,
    cgroupDirs: t.cgroupDirs,
    seccompCacheDir: t.seccompCacheDir,
    pidFile: foreground ? undefined : files.pidFile,
    errFile: files.errFile,
    consoleSocket: o.consoleSocket,
    detach: o.detach,
    readyFd: foreground ? 3 + (o.preserveFds ?? 0) : undefined,
    preserveFds: o.preserveFds,
  });
  // in the foreground the spec goes through a pipe, and skiff-init reports the pid
  if (!foreground) writeFileSync(files.spec, text);
  try {
    const stdio = initStdio(o.stdio ?? 'inherit', foreground, o.preserveFds);
    let pid: number;
    let exitCode: number | undefined;
    if (foreground) {
      const fg = spawnForeground('exec', text, stdio, o.signal, t.spawner);
      pid = await fg.ready;
      if (pid) o.onStart?.(pid);
      const st = decodeStatus(await fg.status);
      if (!pid) throw errorOf(files.errFile, st.exitCode);
      exitCode = st.exitCode;
    } else {
      const code = await runToCompletion('exec', files.spec, stdio, o.signal, t.spawner);
      if (code !== 0) throw errorOf(files.errFile, code);
      pid = readPid(files.pidFile);
    }
    if (o.pidFile && pid) writePidFile(o.pidFile, pid);
    return foreground ? { pid, exitCode } : { pid };
  } finally {
    for (const f of Object.values(files)) rmSync(f, { force: true });
  }
}

async function execMonitored(
  t: ExecTarget,
  p: Process,
  o: ExecOptions,
  m: { execId: string; stdin?: boolean },
): Promise<ExecResult> {
  const dir = execDir(t.dir, m.execId);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = { specFile: join(dir, 'exec.spec'), pidFile: join(dir, 'exec.pid'), errFile: join(dir, 'exec.err') };
  const fifo = join(dir, 'exec.fifo');
  writeFileSync(
    files.specFile,
    compileExecSpec(t.spec, p, {
      pid: t.pid,
      cgroupDirs: t.cgroupDirs,
      seccompCacheDir: t.seccompCacheDir,
      pidFile: files.pidFile,
      errFile: files.errFile,
      consoleSocket: p.terminal ? join(dir, 'console.sock') : undefined,
      detach: true,
      fifo,
    }),
  );
  const pid = await spawnUnderMonitor(
    { ...files, stateDir: dir, stdin: m.stdin, tty: !!p.terminal, mode: 'exec' },
    undefined,
    t.spawner,
  );
  await o.beforeStart?.();
  await releaseExecFifo(fifo, `${t.id} (exec ${m.execId})`, pid, procStat(pid)?.startTime);
  rmSync(fifo, { force: true });
  if (o.pidFile) writePidFile(o.pidFile, pid);
  return { pid };
}

function errorOf(errFile: string, code: number) {
  let msg = '';
  try {
    msg = readFileSync(errFile, 'utf8').trim();
  } catch {
    /* none */
  }
  if (!msg) return internal(`exec failed with status ${code}`);
  return initError(errFile, code);
}

function writePidFile(file: string, pid: number): void {
  const f = resolve(file);
  writeFileSync(`${f}.${process.pid}.tmp`, String(pid));
  renameSync(`${f}.${process.pid}.tmp`, f);
}
