// Running native/skiff-init: as the container's foreground parent (it stays, forwards signals and
// reports the exit status), detached (runc's `create`: it leaves once the init is set up), or as the
// command of a skiff-monitor. Also the translation of its error file into typed errors.
import { spawn, type StdioOptions } from 'node:child_process';
import { mkdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { failedPrecondition, internal, invalidArgument, notFound, type SkiffError } from '../common/index.js';
import { nativeBinary } from './native.js';
import { spawnMonitor } from './monitor/spawn.js';
import { readExitFile } from './monitor/exit-file.js';
import type { FdSpec, Spawner } from './spawner.js';
import { SIGNALS } from './linux-consts.js';

/** What a foreground skiff-init reports on its ready descriptor: the init's pid once it is set up,
 *  then its raw wait status when it ends. */
export interface ForegroundInit {
  /** Kills skiff-init itself (not the container). */
  kill(): void;
  /** The host pid of the container's process; 0 when it failed before. */
  ready: Promise<number>;
  /** The raw wait(2) status (exit code << 8, or the signal number). */
  status: Promise<number>;
  /** skiff-init itself has ended (after the status: it held the container's mount namespace, which
   *  the kernel tears down as it ends). */
  ended: Promise<void>;
}

/** skiff-init's descriptors: stdio, this process's 3 … 3+preserveFds−1 (runc's --preserve-fds), then
 *  the ready pipe of a foreground one (its number is 3 + preserveFds). */
export function initStdio(stdio: StdioOptions, foreground: boolean, preserveFds = 0): StdioOptions {
  const base = typeof stdio === 'string' ? [stdio, stdio, stdio] : [...stdio].slice(0, 3);
  const kept = Array.from({ length: preserveFds }, (_, i) => 3 + i);
  return foreground ? [...base, ...kept, 'pipe'] : [...base, ...kept];
}

/** A wait status from an exit code or a signal name, as child_process reports them. */
const statusOf = (code: number | null, sig: NodeJS.Signals | null): number =>
  code !== null ? code << 8 : SIGNALS[(sig ?? '').replace(/^SIG/, '')] || 9;

/** The stdio of a skiff-init as skiff-spawn descriptors, or undefined when one of them cannot be
 *  handed over by number (a Node stream) or there are more than skiff-spawn takes. The last `extra` entries ('pipe') become `kinds`. */
function spawnerFds(stdio: StdioOptions, kinds: FdSpec[]): Record<number, FdSpec> | undefined {
  const list = stdio as unknown[];
  const out: Record<number, FdSpec> = {};
  const n = list.length - kinds.length;
  for (let i = 0; i < n; i++) {
    const v = list[i];
    if (v === 'ignore') out[i] = { kind: 'null' };
    else if (v === 'inherit' && i < 3) out[i] = { kind: 'parent', fd: i };
    else if (typeof v === 'number') out[i] = { kind: 'parent', fd: v };
    else return undefined;
  }
  kinds.forEach((k, j) => (out[n + j] = k));
  return list.length <= 16 ? out : undefined; // skiff-spawn's limit (descriptors 0–15 here)
}

/** Parses the ready descriptor's lines: the pid, then "x STATUS". */
function readyParser(onReady: (pid: number) => void, onStatus: (st: number) => void) {
  return (line: string) => {
    if (line.startsWith('x ')) onStatus(Number(line.slice(2)));
    else onReady(Number(line));
  };
}

/** Spawns skiff-init in the foreground; its spec text goes through a pipe after the ready one
 *  (no file to write and remove). `stdio` is initStdio(…, true, …). Through skiff-spawn when
 *  given one (no fork of this process), else with child_process. */
export function spawnForeground(
  mode: 'create' | 'exec',
  specText: string,
  stdio: StdioOptions,
  signal?: AbortSignal,
  spawner?: Spawner,
): ForegroundInit {
  const fds = [...(stdio as unknown[]), 'pipe'] as StdioOptions;
  const specFd = (fds as unknown[]).length - 1;
  const argv = [nativeBinary('skiff-init'), mode, `fd:${specFd}`];
  let onReady!: (pid: number) => void;
  let onStatus!: (st: number) => void;
  const ready = new Promise<number>((r) => (onReady = r));
  const status = new Promise<number>((r) => (onStatus = r));
  let onEnded!: () => void;
  const gone = new Promise<void>((r) => (onEnded = r));
  const line = readyParser(onReady, onStatus);
  // Without a status line (skiff-init failed, or was killed) its own exit stands in for it.
  const ended = (st: number) => {
    onReady(0);
    onStatus(st);
    onEnded();
  };
  const viaSpawner = spawner && spawnerFds(fds, [{ kind: 'relay' }, { kind: 'spec' }]);
  if (spawner && viaSpawner) {
    let pid = 0;
    let killed = false;
    const started = spawner.spawn(argv, viaSpawner, {
      payload: specText,
      onLine: (fd, l) => fd === specFd - 1 && line(l),
    });
    const kill = () => {
      killed = true;
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    };
    signal?.addEventListener(
      'abort',
      () => {
        try {
          if (pid) process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      },
      { once: true },
    );
    started.then(
      (p) => {
        pid = p.pid;
        if (killed) kill();
        p.status.then((st) => {
          pid = 0; // reaped: the number may be reused
          ended(st);
        });
      },
      () => ended(255 << 8),
    );
    return { kill, ready, status, ended: gone };
  }
  const child = spawn(argv[0], argv.slice(1), { stdio: fds, signal });
  const specPipe = child.stdio[specFd] as NodeJS.WritableStream | null;
  specPipe?.on('error', () => undefined); // skiff-init failed before reading it: its exit says why
  specPipe?.end(specText);
  let buf = '';
  child.stdio[specFd - 1]?.on('data', (b: Buffer) => {
    buf += b.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      line(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  // 'close', not 'exit': the status line may still be in the pipe when the process is reaped.
  child.once('close', (code, sig) => ended(statusOf(code, sig)));
  child.once('error', () => ended(255 << 8));
  return { kill: () => child.exitCode === null && child.kill('SIGKILL'), ready, status, ended: gone };
}

/** Runs skiff-init to completion (detached create, detached exec); resolves with its exit code. */
export async function runToCompletion(
  mode: 'create' | 'exec',
  specFile: string,
  stdio: StdioOptions,
  signal?: AbortSignal,
  spawner?: Spawner,
): Promise<number> {
  const argv = [nativeBinary('skiff-init'), mode, specFile];
  const viaSpawner = spawner && spawnerFds(stdio, []);
  if (spawner && viaSpawner) {
    const p = await spawner.spawn(argv, viaSpawner);
    let alive = true;
    const abort = () => alive && process.kill(p.pid, 'SIGTERM');
    signal?.addEventListener('abort', abort, { once: true });
    const st = await p.status;
    alive = false;
    signal?.removeEventListener('abort', abort);
    return decodeStatus(st).exitCode;
  }
  const child = spawn(argv[0], argv.slice(1), { stdio, signal });
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code, sig) => res(decodeStatus(statusOf(code, sig)).exitCode));
  });
}

export interface MonitoredInit {
  stateDir: string;
  specFile: string;
  pidFile: string;
  errFile: string;
  logFile?: string;
  logMaxSize?: number;
  logMaxFiles?: number;
  stdin?: boolean;
  tty: boolean;
  oomFile?: string;
  mode: 'create' | 'exec';
}

/** Starts skiff-init under skiff-monitor and waits until the process is set up (its pid file
 *  filled) or failed (the monitor's exit file says so). */
export async function spawnUnderMonitor(
  m: MonitoredInit,
  mark?: (phase: string) => void,
  spawner?: Spawner,
): Promise<number> {
  mkdirSync(m.stateDir, { recursive: true });
  const up = spawnMonitor(
    {
      stateDir: m.stateDir,
      containerPidFile: m.pidFile,
      logFile: m.logFile,
      logMaxSize: m.logMaxSize,
      logMaxFiles: m.logMaxFiles,
      stdin: m.stdin,
      tty: m.tty,
      oomFile: m.oomFile,
      cmd: [nativeBinary('skiff-init'), m.mode, m.specFile],
    },
    spawner,
  );
  // The pid file is filled once the process is set up; the monitor's exit file appears instead if
  // skiff-init failed. Both are watched (inotify), with a slow poll behind, while the monitor's
  // invoking process is still on its way out (a failure to start the monitor ends the wait).
  const ac = new AbortController();
  const failed = up.then(
    () => new Promise<never>(() => undefined),
    (e) => {
      ac.abort();
      throw e;
    },
  );
  const pid = waitFor(
    async () => {
      const pid = readPid(m.pidFile);
      if (pid) return pid;
      const ex = await readExitFile(m.stateDir).catch(() => undefined);
      if (ex) throw initError(m.errFile, ex.exitCode);
      return undefined;
    },
    [dirname(m.pidFile), m.stateDir],
    30_000,
    'the container process did not come up under skiff-monitor within 30 s',
    ac.signal,
  );
  const v = await Promise.race([pid, failed]);
  mark?.('monitor-up');
  return v;
}

/** Resolves with check()'s first value that is not undefined, checking again on every change in
 *  `dirs` (fs.watch) and every 50 ms; rejects with check()'s error, or after `timeoutMs`. */
export function waitFor<T>(
  check: () => Promise<T | undefined>,
  dirs: string[],
  timeoutMs: number,
  timeoutMessage: string,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let running = false;
    let again = false;
    const watchers: FSWatcher[] = [];
    const finish = (err: unknown, v?: T) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      for (const w of watchers) w.close();
      if (err) reject(err);
      else resolve(v as T);
    };
    const run = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          const v = await check();
          if (v !== undefined) return finish(undefined, v);
        } while (again && !done);
      } catch (e) {
        finish(e);
      } finally {
        running = false;
      }
    };
    const poll = setInterval(run, 50);
    signal?.addEventListener('abort', () => finish(signal.reason), { once: true });
    const timer = setTimeout(() => finish(internal(timeoutMessage)), timeoutMs);
    for (const d of dirs) {
      try {
        const w = watch(d, () => void run());
        w.on('error', () => undefined);
        watchers.push(w);
      } catch {
        /* the poll covers it */
      }
    }
    void run();
  });
}

export function readPid(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

/** skiff-init's error file as a typed error. */
export function initError(errFile: string, code: number): SkiffError {
  let msg = '';
  try {
    msg = readFileSync(errFile, 'utf8').trim();
  } catch {
    /* none */
  }
  if (!msg) return internal(`skiff-init failed with status ${code}`);
  if (/executable file not found|exec: "/.test(msg)) return invalidArgument(msg, { field: 'process.args' });
  if (/cwd/.test(msg)) return invalidArgument(msg, { field: 'process.cwd' });
  if (/No such file|not a directory/i.test(msg)) return notFound(msg);
  return failedPrecondition(msg);
}

export function stateFiles(dir: string, prefix = 'init') {
  return {
    specFile: join(dir, `${prefix}.spec`),
    pidFile: join(dir, `${prefix}.pid`),
    errFile: join(dir, `${prefix}.err`),
  };
}

/** A wait status as the shell reports it (128+signal), and the signal's name. */
export function decodeStatus(st: number): { exitCode: number; signal: string | null } {
  const sig = st & 0x7f;
  if (sig === 0) return { exitCode: (st >> 8) & 0xff, signal: null };
  const name = Object.entries(SIGNALS).find(([, n]) => n === sig)?.[0];
  return { exitCode: 128 + sig, signal: name ? `SIG${name}` : null };
}
