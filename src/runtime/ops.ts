// Operations on an existing container: exec, ps, pause, resume, update, list.
import { spawn, execFileSync, type StdioOptions } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomSuffix, invalidArgument, internal } from '../common/index.js';
import type { Process, LinuxResources } from '../oci/index.js';
import type { CgroupResources } from './cgroups/index.js';
import { normalizeStdio, type Runtime, type ContainerState } from './runtime.js';
import { compileExecSpec } from './init-spec.js';
import { nativeBinary } from './native.js';
import { canExec, canPause, canResume } from './status.js';

export interface ExecOptions {
  detach?: boolean;
  pidFile?: string;
  consoleSocket?: string;
  /** runc's --preserve-fds (see CreateOptions). */
  preserveFds?: number;
  stdio?: StdioOptions;
  signal?: AbortSignal;
  /** Called with the exec'd process's host pid (non-detached). */
  onStart?: (pid: number) => void;
}

/** Validates an exec process (runc's --process file). */
export async function parseProcess(value: unknown): Promise<Process> {
  const { ProcessSchema, parseOrThrow } = await import('../oci/index.js'); // zod, loaded when needed
  return parseOrThrow(ProcessSchema, value, 'process', 'process');
}

/** Runs a process in a running container. Detached: resolves with its pid once it executed.
 *  Otherwise resolves with its exit status too. */
export async function execProcess(
  rt: Runtime,
  id: string,
  p: Process,
  o: ExecOptions = {},
): Promise<{ pid: number; exitCode?: number }> {
  const s = rt.store.load(id);
  canExec(id, rt.status(s));
  if (p.terminal && !o.consoleSocket && o.detach)
    throw invalidArgument('a detached tty exec needs --console-socket', { field: 'console-socket' });
  const dir = rt.store.dir(id);
  const tag = randomSuffix();
  const files = {
    spec: join(dir, `exec-${tag}.spec`),
    pidFile: join(dir, `exec-${tag}.pid`),
    errFile: join(dir, `exec-${tag}.err`),
  };
  const cg = rt.cgroup(s);
  writeFileSync(
    files.spec,
    compileExecSpec(s.config, p, {
      pid: s.pid,
      cgroupDirs: cg.dirs(),
      seccompCacheDir: rt.store.seccompCacheDir(),
      pidFile: files.pidFile,
      errFile: files.errFile,
      consoleSocket: o.consoleSocket,
      detach: o.detach,
      readyFd: o.detach ? undefined : 3 + (o.preserveFds ?? 0),
      preserveFds: o.preserveFds,
    }),
  );
  try {
    const stdio = normalizeStdio(o.stdio ?? 'inherit', !o.detach, o.preserveFds);
    const child = spawn(nativeBinary('skiff-init'), ['exec', files.spec], { stdio, signal: o.signal });
    let started = 0;
    if (!o.detach) {
      (child.stdio[child.stdio.length - 1] as NodeJS.ReadableStream).on('data', (b: Buffer) => {
        const m = /^(\d+)\n/.exec(b.toString());
        if (m && !started) {
          started = Number(m[1]);
          o.onStart?.(started);
        }
      });
    }
    const code = await new Promise<number>((res, rej) => {
      child.once('error', rej);
      child.once('exit', (c, sig) => res(c ?? (sig ? 128 + 9 : 1)));
    });
    let err = '';
    try {
      err = readFileSync(files.errFile, 'utf8').trim();
    } catch {
      /* none */
    }
    if (err)
      throw /executable file not found|exec: "/.test(err)
        ? invalidArgument(err, { field: 'process.args' })
        : internal(err);
    let pid = started;
    try {
      pid = Number(readFileSync(files.pidFile, 'utf8'));
    } catch {
      /* not written */
    }
    if (o.detach && code !== 0) throw internal(`exec in container ${id} failed with status ${code}`);
    if (o.pidFile && pid) {
      const f = resolve(o.pidFile);
      writeFileSync(`${f}.tmp`, String(pid));
      renameSync(`${f}.tmp`, f);
    }
    return o.detach ? { pid } : { pid, exitCode: code };
  } finally {
    for (const f of Object.values(files)) rmSync(f, { force: true });
  }
}

export async function pids(rt: Runtime, id: string): Promise<number[]> {
  const s = rt.store.load(id);
  return (
    await rt
      .cgroup(s)
      .pids()
      .catch(() => [])
  ).sort((a, b) => a - b);
}

/** runc's `ps` table: the host's `ps -ef` lines of the container's processes. */
export async function psTable(rt: Runtime, id: string, psArgs: string[] = ['-ef']): Promise<string> {
  const want = new Set(await pids(rt, id));
  const out = execFileSync('ps', psArgs, { encoding: 'utf8' }).split('\n');
  const header = out[0] ?? '';
  const pidCol = header.trim().split(/\s+/).indexOf('PID');
  if (pidCol < 0) throw invalidArgument('ps output has no PID column', { field: 'ps-args' });
  return (
    [header, ...out.slice(1).filter((l) => l && want.has(Number(l.trim().split(/\s+/)[pidCol])))].join('\n') + '\n'
  );
}

export async function pause(rt: Runtime, id: string): Promise<void> {
  await rt.store.withLock(id, async () => {
    const s = rt.store.load(id);
    canPause(id, rt.status(s));
    await rt.cgroup(s).freeze();
    s.status = 'paused';
    rt.store.save(s);
  });
}

export async function resume(rt: Runtime, id: string): Promise<void> {
  await rt.store.withLock(id, async () => {
    const s = rt.store.load(id);
    canResume(id, rt.status(s));
    await rt.cgroup(s).thaw();
    s.status = 'running';
    rt.store.save(s);
  });
}

/** Applies new resource limits (runc's `update --resources`). */
export async function update(rt: Runtime, id: string, resources: unknown): Promise<void> {
  const { ResourcesSchema, parseOrThrow } = await import('../oci/index.js');
  const r: LinuxResources = parseOrThrow(ResourcesSchema, resources, 'resources', 'resources');
  const s = rt.store.load(id);
  if (rt.status(s) === 'stopped') throw invalidArgument(`container ${id} is stopped`, { field: 'id' });
  await rt.cgroup(s).set(r as CgroupResources);
  s.config.linux = { ...(s.config.linux ?? {}), resources: { ...(s.config.linux?.resources ?? {}), ...r } };
  rt.store.save(s);
}

export function list(rt: Runtime): ContainerState[] {
  const out: ContainerState[] = [];
  for (const id of rt.store.ids()) {
    try {
      out.push(rt.state(id));
    } catch {
      /* being created or removed */
    }
  }
  return out;
}
