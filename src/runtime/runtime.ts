// The OCI runtime as a library, by container id: create (from a typed Spec, in memory), start,
// waitExit, attach, exec, kill, stats, update, pause/resume, state, delete. The runc-compatible CLI
// (src/cli/runtime-cli.ts) reads and validates the OCI files (bundle.ts) and calls this; the engine
// and the CRI implementation call it directly. See docs/runtime.md.
import { unlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StdioOptions } from 'node:child_process';
import { invalidArgument, internal, failedPrecondition, isSkiffError, checkSafeId, sleep } from '../common/index.js';
import type { Spec, LinuxResources, Process, OciState } from '../oci/index.js';
import { SIGNALS } from './linux-consts.js';
import type { CgroupManager, CgroupResources, CgroupStats } from './cgroups/index.js';
import { StateStore, type StoredState } from './store.js';
import { releaseExecFifo } from './fifo.js';
import { isAlive, waitExit as waitPidExit } from './proc.js';
import { runHooks } from './hooks.js';
import { canStart, canKill, canDelete, canPause, canResume } from './status.js';
import { monitorPid, readExitFile, waitExit as waitMonitorExit, type ExitStatus } from './monitor/exit-file.js';
import { attach as attachMonitor, type AttachOptions, type AttachSession } from './monitor-lazy.js';
import { readPid, waitFor } from './init-process.js';
import { execIn, execDir, type ExecOptions, type ExecResult } from './exec.js';
import { features } from './features.js';
import { Core, type Held, type Trace } from './core.js';
import { prepare } from './create.js';

export interface RuntimeOptions {
  /** State root (runc's --root); default /run/skiff/runtime. */
  root?: string;
  /** Cgroup mount root, for tests. */
  cgroupMountRoot?: string;
  /** Other processes operate on the same root at the same time (the CLI, one process per
   *  operation): containers are then locked with lock files, not only in memory. */
  sharedRoot?: boolean;
  /** Start skiff-init and skiff-monitor through one long-lived native/build/skiff-spawn instead of
   *  forking this (large) process each time; default true. The CLI, one short process per
   *  operation, turns it off. */
  spawner?: boolean;
  /** Phase marks for the benchmark's breakdown (called with a phase name as each one ends), and the
   *  file skiff-init appends its own phase timestamps to. */
  trace?: Trace;
}

export interface CreateOptions {
  /** The OCI bundle the spec came from (the CLI): reported in the state; a relative root.path is
   *  resolved against it. */
  bundle?: string;
  /** The root file system; default root.path (absolute, or relative to `bundle`). */
  rootfs?: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** runc's --preserve-fds: this many descriptors after stdio (3, 4, …) stay open in the container. */
  preserveFds?: number;
  /** stdio of the container init (default: inherited); not with `monitor`. */
  stdio?: StdioOptions;
  signal?: AbortSignal;
  /** Run under skiff-monitor: it holds stdio or the pty, writes the CRI log and the exit file,
   *  serves attach, and outlives this process. */
  monitor?: MonitorOptions;
  /** Leave no parent (runc's `create`): the exit status is then not known to waitExit. Without
   *  `monitor` or `detach` skiff-init stays the init's parent and reports its exit to this process. */
  detach?: boolean;
}

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

export type { ExitStatus, AttachSession, AttachOptions, ExecOptions, ExecResult };

export class Runtime {
  private readonly core: Core;
  private readonly store: StateStore;
  private readonly held: Map<string, Held>;

  constructor(readonly opts: RuntimeOptions = {}) {
    this.store = new StateStore(opts.root, opts.sharedRoot);
    this.core = new Core(this.store, opts.cgroupMountRoot, opts.trace, opts.spawner !== false);
    this.held = this.core.held;
  }

  /** The state root. */
  get root(): string {
    return this.store.root;
  }

  // ---- create / start / run ----

  /** Sets up the container and leaves its process waiting for start(). */
  async create(id: string, spec: Spec, o: CreateOptions = {}): Promise<ContainerState> {
    await prepare(this.core, id, spec, o, true);
    return this.state(id);
  }

  /** Releases the process blocked on the exec fifo. */
  async start(id: string): Promise<void> {
    await this.store.withLock(id, async () => {
      const s = this.store.load(id);
      canStart(id, this.core.status(s));
      const fifo = join(this.store.dir(id), 'exec.fifo');
      await releaseExecFifo(fifo, id, s.pid, s.pidStartTime);
      s.status = 'running'; // not saved: a created container is told from a running one by its fifo
      this.opts.trace?.mark('started');
      try {
        unlinkSync(fifo);
      } catch {
        /* gone */
      }
      await runHooks('poststart', this.store.spec(id).hooks?.poststart, this.core.ociState(s)).catch(() => {
        /* poststart failures are only logged by runc */
      });
    });
  }

  /** create + start + waitExit (+ delete unless keep): runc's `run` without --detach. Resolves with
   *  the exit status (128+signal for a signal death). */
  async run(id: string, spec: Spec, o: RunOptions = {}): Promise<number> {
    // Without createRuntime/prestart hooks there is nothing to do between create and start: the
    // init execs as soon as it is set up instead of waiting on the exec fifo.
    const split = !!(spec.hooks?.createRuntime?.length || spec.hooks?.prestart?.length);
    const s = await prepare(this.core, id, spec, { ...o, monitor: undefined, detach: false }, split);
    let code: number;
    try {
      if (split) await this.start(id);
      else {
        s.status = 'running';
        this.opts.trace?.mark('started');
        await runHooks('poststart', spec.hooks?.poststart, this.core.ociState(s)).catch(() => undefined);
      }
      o.onStart?.(s.pid);
      code = (await this.waitExit(id)).exitCode;
    } catch (e) {
      await this.delete(id, { force: true }).catch(() => undefined);
      throw e;
    }
    if (!o.keep) await this.delete(id, { force: true });
    return code;
  }

  // ---- waiting, attaching, exec ----

  /** Resolves with how the container (or, with execId, one of its monitored execs) ended: from the
   *  foreground skiff-init this process holds, or the monitor's exit file. */
  async waitExit(id: string, o: { signal?: AbortSignal; execId?: string } = {}): Promise<ExitStatus> {
    if (o.execId) return waitMonitorExit(execDir(this.store.dir(id), o.execId), o.signal);
    const held = this.held.get(id);
    if (held) return abortable(held.exit, o.signal);
    const s = this.store.load(id);
    if (s.monitorDir) return waitMonitorExit(s.monitorDir, o.signal);
    throw failedPrecondition(
      `container ${id} has no monitor and was not created by this process: its exit status is unknown`,
    );
  }

  /** The monitor's record of how the container ended (undefined while it runs, or without one). */
  async exitStatus(id: string): Promise<ExitStatus | undefined> {
    const s = this.store.load(id);
    return s.monitorDir ? readExitFile(s.monitorDir) : undefined;
  }

  /** Makes the monitor of a container created with `monitor` reopen its log file (after the file
   *  was renamed away, as CRI's ReopenContainerLog asks). */
  async reopenLog(id: string): Promise<void> {
    const dir = this.monitorDir(id);
    const pid = dir ? await monitorPid(dir) : undefined;
    if (!pid) throw failedPrecondition(`container ${id} has no running monitor`);
    process.kill(pid, 'SIGUSR1');
  }

  /** Connects to the monitor of a container created with `monitor` (or of a monitored exec). */
  attach(id: string, o: AttachOptions & { execId?: string } = {}): Promise<AttachSession> {
    const dir = this.monitorDir(id, o.execId);
    if (!dir) throw failedPrecondition(`container ${id} has no monitor to attach to`);
    return attachMonitor(dir, o);
  }

  /** The monitor's state directory (skiff-monitor's --state-dir: exit.json, attach.sock), e.g. for
   *  readCriLog's `stateDir`; undefined for a container without a monitor. */
  monitorDir(id: string, execId?: string): string | undefined {
    if (execId) return execDir(this.store.dir(id), execId);
    return this.store.load(id).monitorDir;
  }

  /** Runs a process in the running container (see ExecOptions). */
  exec(id: string, p: Process, o: ExecOptions = {}): Promise<ExecResult> {
    const s = this.store.load(id);
    return execIn(
      {
        id,
        dir: this.store.dir(id),
        pid: s.pid,
        status: this.core.status(s),
        spec: this.store.spec(id),
        cgroupDirs: this.core.cgroup(s).dirs(),
        seccompCacheDir: this.store.seccompCacheDir(),
        spawner: this.core.spawner(),
      },
      p,
      o,
    );
  }

  // ---- signals, resources ----

  async kill(id: string, signal: string | number = 'SIGTERM', o: { all?: boolean } = {}): Promise<void> {
    const sig = parseSignal(signal);
    const s = this.store.load(id);
    const status = this.core.status(s);
    if (o.all) {
      // Also after the init exited: containerd kills what is left in the cgroup this way.
      await this.core
        .cgroup(s)
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

  async pause(id: string): Promise<void> {
    await this.store.withLock(id, async () => {
      const s = this.store.load(id);
      canPause(id, this.core.status(s));
      await this.core.cgroup(s).freeze();
      s.status = 'paused';
      this.store.save(s);
    });
  }

  async resume(id: string): Promise<void> {
    await this.store.withLock(id, async () => {
      const s = this.store.load(id);
      canResume(id, this.core.status(s));
      await this.core.cgroup(s).thaw();
      s.status = 'running';
      this.store.save(s);
    });
  }

  /** Applies new resource limits (runc's `update`). */
  async update(id: string, r: LinuxResources | CgroupResources): Promise<void> {
    const s = this.store.load(id);
    if (this.core.status(s) === 'stopped') throw failedPrecondition(`container ${id} is stopped`, { field: 'id' });
    await this.core.cgroup(s).set(r as CgroupResources);
    const spec = this.store.spec(id);
    const linux = spec.linux ?? {};
    this.store.save(s, { ...spec, linux: { ...linux, resources: { ...(linux.resources ?? {}), ...r } } });
  }

  /** Cgroup statistics (cpu, memory, pids, io). */
  async stats(id: string): Promise<CgroupStats> {
    return this.core.cgroup(this.store.load(id)).stats();
  }

  /** Host pids of the container's processes, ascending. */
  async pids(id: string): Promise<number[]> {
    const pids = await this.core
      .cgroup(this.store.load(id))
      .pids()
      .catch(() => []);
    return pids.sort((a, b) => a - b);
  }

  // ---- state ----

  state(id: string): ContainerState {
    const s = this.store.load(id);
    return { ...this.core.ociState(s), rootfs: s.rootfs, created: s.created, owner: s.owner };
  }

  /** Every container under the root (those being created or removed left out). */
  list(): ContainerState[] {
    const out: ContainerState[] = [];
    for (const id of this.store.ids()) {
      try {
        out.push(this.state(id));
      } catch {
        /* being created or removed */
      }
    }
    return out;
  }

  /** The container's spec, as given to create (with update's resources merged in). */
  spec(id: string): Spec {
    return this.store.spec(id);
  }

  /** The container's cgroup manager (diagnostics and tests; the engine uses stats/pids/update). */
  cgroupOf(id: string): CgroupManager {
    return this.core.cgroup(this.store.load(id));
  }

  features(): Record<string, unknown> {
    return features();
  }

  // ---- delete ----

  /** Removes a stopped (or, with force, any) container: processes, cgroup, state. With execId,
   *  only the state of one monitored exec (its monitor must be gone, or force kills its process). */
  async delete(id: string, o: { force?: boolean; execId?: string } = {}): Promise<void> {
    if (o.execId) return this.deleteExec(id, o.execId, !!o.force);
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
    const trace = this.opts.trace;
    await this.store.withLock(id, async () => {
      const status = this.core.status(s);
      canDelete(id, status, !!o.force);
      const cg = this.core.cgroup(s);
      const spec = this.core.specOrEmpty(id);
      const held = this.held.get(id);
      // When the init of a container's own pid namespace is gone, the kernel has killed the rest.
      const ownPidNs = (spec.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path);
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
        const gone = held
          ? await Promise.race([held.status.then(() => true), sleep(10_000).then(() => false)])
          : !s.pid || (await waitPidExit(s.pid, s.pidStartTime, 10_000));
        if (!gone) throw internal(`container ${id}: init ${s.pid} did not die after SIGKILL`);
      }
      if (held) await held.status; // reaped: its exit status is recorded
      this.held.delete(id);
      trace?.mark('delete-killed');
      await cg.destroy();
      trace?.mark('cgroup-destroyed');
      // A foreground skiff-init holds the container's mount namespace until it ends (see skiff-init).
      if (held) await held.ended;
      if (s.monitorDir) {
        // The monitor writes its exit file into the directory about to go: wait for it (not for
        // the monitor to leave: after that file it only flushes output to attach clients).
        const mdir = s.monitorDir;
        await waitFor(
          async () =>
            (await readExitFile(mdir).catch(() => undefined)) || !(await monitorPid(mdir)) ? true : undefined,
          [mdir],
          5000,
          'monitor did not write its exit file',
        ).catch(() => undefined);
      }
      await runHooks('poststop', spec.hooks?.poststop, { ...this.core.ociState(s), status: 'stopped' }).catch(
        () => undefined,
      );
    });
    this.store.remove(id);
    trace?.mark('deleted');
  }

  private async deleteExec(id: string, execId: string, force: boolean): Promise<void> {
    checkSafeId(execId, 'exec id');
    const dir = execDir(this.store.dir(id), execId);
    const mpid = await monitorPid(dir).catch(() => undefined);
    if (mpid) {
      if (!force) throw failedPrecondition(`exec ${execId} in container ${id} is running`, { field: 'execId' });
      const pid = readPid(join(dir, 'exec.pid'));
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      const until = Date.now() + 5000;
      while ((await monitorPid(dir).catch(() => undefined)) && Date.now() < until) await sleep(5);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
  return new Promise<T>((res, rej) => {
    const onAbort = () => rej(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        res(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        rej(e);
      },
    );
  });
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
