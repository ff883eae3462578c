// The OCI runtime as a library: create/start/run/state/kill/delete here; exec, ps, pause, resume,
// update, list in ops.ts. The CLI (src/cli/runtime-cli.ts) and the engine both call this.
import { spawn, type StdioOptions, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, renameSync, unlinkSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import {
  invalidArgument,
  internal,
  notFound,
  failedPrecondition,
  isSkiffError,
  type SkiffError,
} from '../common/index.js';
import type { Spec, OciState, ContainerStatus } from '../oci/index.js';
import { OCI_VERSION } from './linux-consts.js';
import { createCgroupManager, CgroupV1Manager, ownCgroups, type CgroupManager } from './cgroups/index.js';
import { StateStore, type StoredState } from './store.js';
import { compileCreateSpec } from './init-spec.js';
import { nativeBinary } from './native.js';
import { releaseExecFifo } from './fifo.js';
import { isAlive, procStat, waitExit } from './proc.js';
import { runHooks } from './hooks.js';
import { canStart, canKill, canDelete } from './status.js';
import { spawnMonitor } from './monitor/spawn.js';
import { readExitFile, monitorPid, type ExitStatus } from './monitor-lazy.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { SIGNALS } from './linux-consts.js';
import { CAPABILITIES } from './capabilities.js';

export interface RuntimeOptions {
  /** State root (runc's --root); default /run/skiff/runtime. */
  root?: string;
  /** Cgroup mount root, for tests. */
  cgroupMountRoot?: string;
}

export interface CreateOptions {
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** runc's --preserve-fds: this many descriptors after stdio (3, 4, …) stay open in the container. */
  preserveFds?: number;
  /** stdio of the container init (default: inherited). */
  stdio?: StdioOptions;
  signal?: AbortSignal;
  /** Run under skiff-monitor (create only; stdio and the console are then the monitor's). */
  monitor?: MonitorOptions;
}

/** Start the container under native/build/skiff-monitor (conmon-like: it holds the stdio, writes
 *  the CRI log and the exit file, serves attach, and outlives this process). */
export interface MonitorOptions {
  logFile?: string;
  logMaxSize?: number;
  logMaxFiles?: number;
  /** Keep stdin open for attach clients. */
  stdin?: boolean;
}

export interface RunOptions extends CreateOptions {
  /** Keep the container (stopped) after it exits instead of deleting it. */
  keep?: boolean;
  /** Called once the container runs, with its host pid. */
  onStart?: (pid: number) => void;
}

/** runc's `state` JSON. */
export interface ContainerState extends OciState {
  rootfs: string;
  created: string;
  owner: string;
}

export class Runtime {
  readonly store: StateStore;
  constructor(readonly opts: RuntimeOptions = {}) {
    this.store = new StateStore(opts.root);
  }

  cgroup(s: Pick<StoredState, 'cgroupPath' | 'cgroupParents'>): CgroupManager {
    return createCgroupManager(s.cgroupPath, { mountRoot: this.opts.cgroupMountRoot, parents: s.cgroupParents });
  }

  /** Live status: the recorded one corrected by what the kernel says. */
  status(s: StoredState): ContainerStatus {
    if (s.status === 'creating') return 'creating';
    if (!s.pid || !isAlive(s.pid, s.pidStartTime)) return 'stopped';
    if (s.status === 'paused') return 'paused';
    return existsSync(join(this.store.dir(s.id), 'exec.fifo')) ? 'created' : 'running';
  }

  ociState(s: StoredState): OciState {
    const status = this.status(s);
    return {
      ociVersion: OCI_VERSION,
      id: s.id,
      status,
      pid: status === 'stopped' ? 0 : s.pid,
      bundle: s.bundle,
      annotations: s.annotations ?? {},
    };
  }

  state(id: string): ContainerState {
    const s = this.store.load(id);
    return { ...this.ociState(s), rootfs: s.rootfs, created: s.created, owner: s.owner };
  }

  /** Reads and validates BUNDLE/config.json; checks the rootfs. */
  async loadBundle(bundle: string): Promise<{ spec: Spec; bundle: string; rootfs: string }> {
    const b = resolve(bundle);
    let text: string;
    try {
      text = readFileSync(join(b, 'config.json'), 'utf8');
    } catch (e) {
      throw invalidArgument(`bundle ${b}: cannot read config.json: ${(e as Error).message}`, {
        field: 'bundle',
        cause: e,
      });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw invalidArgument(`bundle ${b}: config.json is not valid JSON: ${(e as Error).message}`, {
        field: 'config.json',
        cause: e,
      });
    }
    const { parseSpec } = await import('../oci/index.js'); // zod: only where a config is read
    const spec = parseSpec(raw);
    const rootfs = isAbsolute(spec.root.path) ? spec.root.path : join(b, spec.root.path);
    let dir = false;
    try {
      dir = statSync(rootfs).isDirectory();
    } catch {
      /* missing */
    }
    if (!dir)
      throw invalidArgument(`root.path: rootfs ${rootfs} does not exist or is not a directory`, { field: 'root.path' });
    return { spec, bundle: b, rootfs };
  }

  /** The cgroup as runc places it: an absolute linux.cgroupsPath from each hierarchy's root; a
   *  relative one, or none (then the container id), under this process's own cgroups. */
  private cgroupPathOf(id: string, spec: Spec): Pick<StoredState, 'cgroupPath' | 'cgroupParents'> {
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

  /** Sets up the container and leaves its init waiting for start(). */
  async create(id: string, bundle: string, o: CreateOptions = {}): Promise<ContainerState> {
    await this.prepare(id, bundle, o, false);
    return this.state(id);
  }

  /** Shared by create and run: everything up to a created container. With `foreground`, returns
   *  the skiff-init process that stays the init's parent (its exit is the container's). */
  private async prepare(
    id: string,
    bundle: string,
    o: CreateOptions,
    foreground: boolean,
  ): Promise<{ s: StoredState; child?: ChildProcess; exit?: Promise<number> }> {
    this.store.dir(id); // checks the id before anything is derived from it
    const { spec, bundle: b, rootfs } = await this.loadBundle(bundle);
    const cgroupAt = this.cgroupPathOf(id, spec);
    const dir = this.store.reserve(id);
    const s: StoredState = {
      id,
      bundle: b,
      rootfs,
      pid: 0,
      created: new Date().toISOString(),
      owner: safeUser(),
      status: 'creating',
      annotations: spec.annotations,
      ...cgroupAt,
      config: spec,
    };
    let cg: CgroupManager | undefined;
    let child: ChildProcess | undefined;
    let cgReady: Promise<void> | undefined;
    try {
      this.store.save(s);
      cg = this.cgroup(s);
      // The cgroup is made while the init spec is compiled and written (dirs() needs no I/O).
      cgReady = cg.create().then(() => cg!.set(withDefaultDevices(spec) as Parameters<CgroupManager['set']>[0]));
      cgReady.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
      // `run` without createRuntime/prestart hooks needs no create/start split: the init execs as soon
      // as it is set up instead of waiting for this process to open the exec fifo.
      const split = !foreground || !!(spec.hooks?.createRuntime?.length || spec.hooks?.prestart?.length);
      const files = {
        fifo: split ? join(dir, 'exec.fifo') : undefined,
        pidFile: join(dir, 'init.pid'),
        errFile: join(dir, 'init.err'),
      };
      if (foreground && o.monitor)
        throw invalidArgument('run in the foreground cannot use a monitor: create, then start', { field: 'monitor' });
      const consoleSocket =
        o.monitor && spec.process?.terminal ? join(dir, 'monitor', 'console.sock') : o.consoleSocket;
      if (spec.process?.terminal && !consoleSocket && !foreground) {
        throw invalidArgument('process.terminal: a detached container with a terminal needs --console-socket', {
          field: 'console-socket',
        });
      }
      const text = compileCreateSpec(spec, {
        id,
        bundle: b,
        rootfs,
        cgroupDirs: cg.dirs(),
        cgroupVersion: cg.version,
        cgroupLayout: cg instanceof CgroupV1Manager ? cg.layout() : undefined,
        ...files,
        consoleSocket,
        noPivot: o.noPivot,
        noNewKeyring: o.noNewKeyring,
        preserveFds: o.preserveFds,
        foreground,
        seccompCacheDir: this.store.seccompCacheDir(),
        readyFd: foreground ? 3 + (o.preserveFds ?? 0) : undefined,
      });
      const specFile = join(dir, 'init.spec');
      writeFileSync(specFile, text);
      await cgReady;
      if (o.monitor) {
        s.monitorDir = await startUnderMonitor(
          dir,
          specFile,
          files,
          o.monitor,
          spec.process?.terminal === true,
          cg.oomFile(),
        );
        s.pid = Number(readFileSync(files.pidFile, 'utf8'));
        s.pidStartTime = procStat(s.pid)?.startTime;
        s.status = 'created';
        this.store.save(s);
        const st = this.ociState(s);
        await runHooks('createRuntime', spec.hooks?.createRuntime, st);
        await runHooks('prestart', spec.hooks?.prestart, st);
        if (o.pidFile) writeAtomic(resolve(o.pidFile), String(s.pid));
        return { s };
      }
      const stdio = normalizeStdio(o.stdio ?? 'inherit', foreground, o.preserveFds);
      child = spawn(nativeBinary('skiff-init'), ['create', specFile], { stdio, signal: o.signal });
      const exit = exitOf(child);
      if (foreground) {
        const pid = await readReady(child, exit);
        if (!pid) throw initError(dir, await exit);
        s.pid = pid;
      } else {
        const code = await exit;
        if (code !== 0) throw initError(dir, code);
        s.pid = Number(readFileSync(files.pidFile, 'utf8'));
      }
      s.pidStartTime = procStat(s.pid)?.startTime;
      s.status = 'created';
      this.store.save(s);
      const st = this.ociState(s);
      await runHooks('createRuntime', spec.hooks?.createRuntime, st);
      await runHooks('prestart', spec.hooks?.prestart, st);
      if (o.pidFile) writeAtomic(resolve(o.pidFile), String(s.pid));
      return foreground ? { s, child, exit } : { s };
    } catch (e) {
      if (s.pid) {
        try {
          process.kill(s.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await waitExit(s.pid, undefined, 2000);
      }
      if (child && child.exitCode === null) child.kill('SIGKILL');
      if (s.monitorDir || o.monitor) await stopMonitor(join(dir, 'monitor'));
      await cgReady?.catch(() => undefined); // never destroy while the cgroup is still being made
      if (cg) {
        try {
          await cg.killAll('SIGKILL');
        } catch {
          /* best effort */
        }
        try {
          await cg.destroy();
        } catch {
          /* best effort */
        }
      }
      this.store.remove(id);
      throw e;
    }
  }

  /** Releases the init blocked on the exec fifo. */
  async start(id: string): Promise<void> {
    await this.store.withLock(id, async () => {
      const s = this.store.load(id);
      canStart(id, this.status(s));
      const fifo = join(this.store.dir(id), 'exec.fifo');
      await releaseExecFifo(fifo, id, s.pid, s.pidStartTime);
      const st = { ...this.ociState(s), status: 'running' as const };
      s.status = 'running';
      this.store.save(s);
      try {
        unlinkSync(fifo);
      } catch {
        /* gone */
      }
      await runHooks('poststart', s.config.hooks?.poststart, st).catch(() => {
        /* poststart failures are only logged by runc */
      });
    });
  }

  /** create + start + wait (+ delete unless keep): runc's `run` without --detach. Resolves with the
   *  exit status (128+signal for a signal death). */
  async run(id: string, bundle: string, o: RunOptions = {}): Promise<number> {
    const { s, exit } = await this.prepare(id, bundle, o, true);
    let code: number;
    try {
      const fifo = join(this.store.dir(id), 'exec.fifo');
      const split = existsSync(fifo);
      if (split) await releaseExecFifo(fifo, id, s.pid, s.pidStartTime);
      s.status = 'running';
      this.store.save(s);
      if (split) {
        try {
          unlinkSync(fifo);
        } catch {
          /* gone */
        }
      }
      await runHooks('poststart', s.config.hooks?.poststart, this.ociState(s)).catch(() => undefined);
      o.onStart?.(s.pid);
      code = await exit!;
    } catch (e) {
      await this.delete(id, { force: true }).catch(() => undefined);
      throw e;
    }
    if (!o.keep) await this.delete(id, { force: true });
    return code;
  }

  async kill(id: string, signal: string | number = 'SIGTERM', o: { all?: boolean } = {}): Promise<void> {
    const sig = parseSignal(signal);
    const s = this.store.load(id);
    const status = this.status(s);
    if (o.all) {
      // Also after the init exited: containerd kills what is left in the cgroup this way.
      await this.cgroup(s)
        .killAll(sig)
        .catch((e) => {
          if (status !== 'stopped') throw e;
        });
      return;
    }
    canKill(id, status);
    try {
      process.kill(s.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  /** Removes a stopped (or, with force, any) container: processes, cgroup, state. */
  async delete(id: string, o: { force?: boolean } = {}): Promise<void> {
    let s: StoredState;
    try {
      s = this.store.load(id);
    } catch (e) {
      // A directory without state.json is the remains of a failed create: clean it with --force.
      // As runc: with --force a missing container is not an error.
      if (o.force && isSkiffError(e, 'NotFound')) {
        this.store.remove(id);
        return;
      }
      throw e;
    }
    await this.store.withLock(id, async () => {
      const status = this.status(s);
      canDelete(id, status, !!o.force);
      const cg = this.cgroup(s);
      // When the init of a container's own pid namespace is gone, the kernel has killed the rest.
      const ownPidNs = (s.config.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path);
      if (status !== 'stopped' || (!ownPidNs && (await cg.pids().catch(() => [])).length)) {
        if (status === 'paused') await cg.thaw().catch(() => undefined);
        if (s.pid && isAlive(s.pid, s.pidStartTime)) {
          try {
            process.kill(s.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        await cg.killAll('SIGKILL').catch(() => undefined);
        if (s.pid && !(await waitExit(s.pid, s.pidStartTime, 10_000)))
          throw internal(`container ${id}: init ${s.pid} did not die after SIGKILL`);
      }
      await cg.destroy();
      if (s.monitorDir) {
        // let the monitor write its exit file and leave before its dir goes
        const until = Date.now() + 5000;
        while ((await monitorPid(s.monitorDir).catch(() => undefined)) && Date.now() < until) await sleep(5);
      }
      await runHooks('poststop', s.config.hooks?.poststop, { ...this.ociState(s), status: 'stopped' }).catch(
        () => undefined,
      );
    });
    this.store.remove(id);
  }

  features(): Record<string, unknown> {
    return features();
  }

  /** The monitor's record of how the container ended (undefined while it runs, or without a monitor). */
  async exitStatus(id: string): Promise<ExitStatus | undefined> {
    const s = this.store.load(id);
    return s.monitorDir ? readExitFile(s.monitorDir) : undefined;
  }
}

/** Starts skiff-init under skiff-monitor and waits until the init is created (its pid file filled)
 *  or failed (the monitor's exit file says so). */
async function startUnderMonitor(
  dir: string,
  specFile: string,
  files: { pidFile: string; errFile: string },
  m: MonitorOptions,
  tty: boolean,
  oomFile: string | undefined,
): Promise<string> {
  const mdir = join(dir, 'monitor');
  mkdirSync(mdir, { recursive: true });
  await spawnMonitor({
    stateDir: mdir,
    containerPidFile: files.pidFile,
    logFile: m.logFile,
    logMaxSize: m.logMaxSize,
    logMaxFiles: m.logMaxFiles,
    stdin: m.stdin,
    tty,
    oomFile,
    cmd: [nativeBinary('skiff-init'), 'create', specFile],
  });
  const until = Date.now() + 30_000;
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    let pid = '';
    try {
      pid = readFileSync(files.pidFile, 'utf8').trim();
    } catch {
      /* not yet */
    }
    if (pid) return mdir;
    const ex = await readExitFile(mdir).catch(() => undefined);
    if (ex) throw initError(dir, ex.exitCode);
    if (Date.now() > until) throw internal('the container did not come up under skiff-monitor within 30 s');
    await sleep(delay);
  }
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

export function parseSignal(sig: string | number): number {
  if (typeof sig === 'number' || /^\d+$/.test(sig)) {
    const n = Number(sig);
    if (n > 0 && n < 65) return n;
    throw invalidArgument(`invalid signal ${sig}`, { field: 'signal' });
  }
  const name = sig.toUpperCase().replace(/^SIG/, '');
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(name);
  if (rt) return 34 + Number(rt[1] ?? 0);
  const n = SIGNALS[name];
  if (n === undefined) throw invalidArgument(`invalid signal ${JSON.stringify(sig)}`, { field: 'signal' });
  return n;
}

/** The device cgroup always lets the container use the nodes the runtime itself creates (as runc
 *  does): null, zero, full, random, urandom, tty, console, ptmx, pts, tun, and mknod of anything. */
const DEFAULT_ALLOWED_DEVICES = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  ...[
    [1, 3],
    [1, 5],
    [1, 7],
    [1, 8],
    [1, 9],
    [5, 0],
    [5, 1],
    [5, 2],
    [10, 200],
  ].map(([major, minor]) => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

function withDefaultDevices(spec: Spec): NonNullable<NonNullable<Spec['linux']>['resources']> {
  const r = spec.linux?.resources ?? {};
  const own = (spec.linux?.devices ?? [])
    .filter((d) => d.type !== 'p')
    .map((d) => ({ allow: true, type: d.type === 'u' ? 'c' : d.type, major: d.major, minor: d.minor, access: 'rwm' }));
  if (!r.devices) return r;
  return { ...r, devices: [...r.devices, ...DEFAULT_ALLOWED_DEVICES, ...own] };
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

function writeAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** skiff-init's descriptors: stdio, this process's 3 … 3+preserveFds−1 (runc's --preserve-fds), then
 *  the ready pipe of a foreground init. */
export function normalizeStdio(stdio: StdioOptions, foreground: boolean, preserveFds = 0): StdioOptions {
  const base = typeof stdio === 'string' ? [stdio, stdio, stdio] : [...stdio].slice(0, 3);
  const kept = Array.from({ length: preserveFds }, (_, i) => 3 + i);
  return foreground ? [...base, ...kept, 'pipe'] : [...base, ...kept];
}

function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code, sig) => res(code ?? 128 + (sig ? (SIGNALS[sig.replace(/^SIG/, '')] ?? 0) : 0)));
  });
}

/** The foreground skiff-init writes the init pid to fd 3 once the container is created. */
function readReady(child: ChildProcess, exit: Promise<number>): Promise<number> {
  return new Promise((res) => {
    let buf = '';
    const s = child.stdio[child.stdio.length - 1] as NodeJS.ReadableStream;
    s.on('data', (b: Buffer) => {
      buf += b.toString();
      const m = /^(\d+)\n/.exec(buf);
      if (m) res(Number(m[1]));
    });
    s.on('end', () => res(0));
    exit.then(
      () => res(0),
      () => res(0),
    );
  });
}

function initError(dir: string, code: number): SkiffError {
  let msg = '';
  try {
    msg = readFileSync(join(dir, 'init.err'), 'utf8').trim();
  } catch {
    /* none */
  }
  if (!msg) return internal(`skiff-init failed with status ${code}`);
  if (/executable file not found|exec: "/.test(msg)) return invalidArgument(msg, { field: 'process.args' });
  if (/cwd/.test(msg)) return invalidArgument(msg, { field: 'process.cwd' });
  if (/No such file|not a directory/i.test(msg)) return notFound(msg);
  return failedPrecondition(msg);
}

export function features(): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.1.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [
      'bind',
      'rbind',
      'ro',
      'rw',
      'nosuid',
      'suid',
      'nodev',
      'dev',
      'noexec',
      'exec',
      'sync',
      'async',
      'dirsync',
      'remount',
      'mand',
      'nomand',
      'atime',
      'noatime',
      'diratime',
      'nodiratime',
      'relatime',
      'norelatime',
      'strictatime',
      'nostrictatime',
      'nosymfollow',
      'private',
      'rprivate',
      'shared',
      'rshared',
      'slave',
      'rslave',
      'unbindable',
      'runbindable',
    ],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'],
      capabilities: CAPS_FOR_FEATURES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: [
          'SCMP_ACT_ALLOW',
          'SCMP_ACT_ERRNO',
          'SCMP_ACT_KILL',
          'SCMP_ACT_KILL_PROCESS',
          'SCMP_ACT_KILL_THREAD',
          'SCMP_ACT_LOG',
          'SCMP_ACT_TRACE',
          'SCMP_ACT_TRAP',
        ],
        operators: [
          'SCMP_CMP_EQ',
          'SCMP_CMP_GE',
          'SCMP_CMP_GT',
          'SCMP_CMP_LE',
          'SCMP_CMP_LT',
          'SCMP_CMP_MASKED_EQ',
          'SCMP_CMP_NE',
        ],
        archs: ['SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { 'org.skiff.runtime': 'skiff-runtime' },
  };
}

const CAPS_FOR_FEATURES = [...CAPABILITIES];
