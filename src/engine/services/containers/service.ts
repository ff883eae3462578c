// The container service: create/start/stop/kill/wait/remove/restart/rename/pause/update, exit
// tracking through the monitor's exit file, restart policies and live restore. Containers run under
// skiff-monitor (src/runtime), so they survive the engine; their records live under
// DATA_ROOT/containers/<id>/.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  conflict,
  createLogger,
  failedPrecondition,
  invalidArgument,
  isSkiffError,
  notFound,
  SkiffError,
} from '../../../common/index.js';
import {
  Runtime,
  parseSignal,
  pause as rtPause,
  resume as rtResume,
  update as rtUpdate,
  waitExit,
  readExitFile,
  isMonitorAlive,
  nativeDir,
} from '../../../runtime/index.js';
import { mountAll, unmount } from '../../../image/index.js';
import type { EngineContext, ContainersService } from '../../api/context.js';
import { parseCreateBody, mergeConfig, parseMounts, validateName } from './create.js';
import { initialState, loadRecord, saveRecord, type ContainerRecord } from './record.js';
import { buildSpec } from './spec.js';
import { writeEtcFiles, writeNetworkEtc, shareNetworkEtc, validExtraHost } from './etc.js';
import { createInitLayer, removeContainerSnapshots } from './init-layer.js';
import type { Networks } from '../networks.js';
import { nameFor } from './names.js';
import { activity as idleActivity } from './idle-gc.js';

const log = createLogger({ component: 'engine.containers' });

export interface WaitResult {
  StatusCode: number;
  Error: { Message: string } | null;
}

interface Live {
  rec: ContainerRecord;
  dir: string;
  lock: Promise<unknown>;
  /** Called with each exit (next-exit waiters), then cleared. */
  exitWaiters: ((r: WaitResult) => void)[];
  removedWaiters: ((r: WaitResult) => void)[];
  /** Attach requests made before start: resolved once the container exists in the runtime. */
  createdWaiters: ((monitorDir: string | undefined) => Promise<void> | void)[];
  watch?: AbortController;
  restartTimer?: NodeJS.Timeout;
  restartDelay: number;
  stopping?: boolean;
  removed?: boolean;
  health?: { stop(): void };
}

export interface ContainersOptions {
  execRoot: string;
  cgroupParent: string;
}

const RUNNING_RESET_MS = 10_000;

export class Containers implements ContainersService {
  readonly runtime: Runtime;
  private readonly byId = new Map<string, Live>();
  private readonly names = new Map<string, string>();
  /** Exec sessions (set by the daemon). */
  execs?: { idsOf(id: string): string[]; forget(id: string): void };
  execIds(id: string): string[] {
    return this.execs?.idsOf(id) ?? [];
  }
  /** Health monitor factory, set by the health module (avoids an import cycle). */
  healthStarter?: (c: Live) => { stop(): void } | undefined;

  constructor(
    readonly ctx: EngineContext,
    readonly opts: ContainersOptions,
  ) {
    this.runtime = new Runtime({ root: join(opts.execRoot, 'rt') });
  }

  get root(): string {
    return join(this.ctx.root, 'containers');
  }
  private get nets(): Networks {
    return this.ctx.networks as unknown as Networks;
  }
  dirOf(id: string): string {
    return join(this.root, id);
  }
  rtId(id: string): string {
    return id.slice(0, 16);
  }
  monitorDir(id: string): string {
    return join(this.runtime.store.dir(this.rtId(id)), 'monitor');
  }
  logPath(id: string): string {
    return join(this.dirOf(id), `${id}-json.log`);
  }
  rootfs(id: string): string {
    return join(this.dirOf(id), 'rootfs');
  }

  // ---- lookup ----
  all(): ContainerRecord[] {
    return [...this.byId.values()].filter((c) => !c.removed).map((c) => c.rec);
  }
  live(ref: string): Live {
    const r = ref.startsWith('/') ? ref.slice(1) : ref;
    const byName = this.names.get(r);
    if (byName) return this.byId.get(byName)!;
    const full = this.byId.get(r);
    if (full) return full;
    if (r.length >= 1 && /^[a-f0-9]+$/.test(r)) {
      const hits = [...this.byId.keys()].filter((k) => k.startsWith(r));
      if (hits.length === 1) return this.byId.get(hits[0])!;
      if (hits.length > 1)
        throw invalidArgument(`multiple containers found with provided prefix: ${r}`, { field: 'id' });
    }
    throw notFound(`No such container: ${ref}`, { field: 'id' });
  }
  get(ref: string): ContainerRecord {
    return this.live(ref).rec;
  }

  private async locked<T>(c: Live, fn: () => Promise<T>): Promise<T> {
    const run = c.lock.then(fn, fn);
    c.lock = run.catch(() => undefined);
    return run;
  }

  persist(id: string): void {
    this.save(this.live(id));
  }
  save(c: Live): void {
    if (!c.removed) saveRecord(c.dir, c.rec);
  }

  private emit(c: Live, action: string, extra: Record<string, string> = {}): void {
    idleActivity();
    this.ctx.events.emit({
      Type: 'container',
      Action: action,
      id: c.rec.Id,
      attributes: { ...c.rec.Config.Labels, image: c.rec.ImageName, name: c.rec.Name.slice(1), ...extra },
    });
  }

  // ---- ContainersService (for other services) ----
  volumeUsers(name: string): string[] {
    return this.all()
      .filter((r) => r.Mounts.some((m) => m.Type === 'volume' && m.Name === name))
      .map((r) => r.Id);
  }
  imageUsers(imageId: string): string[] {
    return this.all()
      .filter((r) => r.Image === imageId)
      .map((r) => r.Id);
  }
  count() {
    const a = this.all();
    const running = a.filter((r) => r.State.Running && !r.State.Paused).length,
      paused = a.filter((r) => r.State.Paused).length;
    return { total: a.length, running, paused, stopped: a.length - running - paused };
  }

  // ---- create ----
  async create(raw: unknown, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    const body = parseCreateBody(raw);
    for (const h of body.HostConfig?.ExtraHosts ?? [])
      if (!validExtraHost(h))
        throw invalidArgument(`HostConfig.ExtraHosts: invalid IP address in add-host: "${h}"`, {
          field: 'HostConfig.ExtraHosts',
        });
    const nm = body.HostConfig?.NetworkMode ?? '';
    if (nm.startsWith('container:')) this.live(nm.slice(10));
    const img = await this.ctx.images.resolve(body.Image);
    const id = randomBytes(32).toString('hex');
    const fullName = name ? validateName(name) : `/${this.freeName()}`;
    if (this.names.has(fullName.slice(1))) {
      throw conflict(
        `Conflict. The container name "${fullName}" is already in use by container "${this.names.get(fullName.slice(1))}". You have to remove (or rename) that container to be able to reuse that name.`,
        { field: 'name' },
      );
    }
    const { config, hostConfig, path, args } = mergeConfig(body, img.config, id);
    const mounts = parseMounts(body, Object.keys(img.config.config?.Volumes ?? {}));
    const dir = this.dirOf(id);
    this.names.set(fullName.slice(1), id); // reserve while creating
    const snapshotKey = `container-${id}`;
    let prepared = false;
    try {
      for (const m of mounts) {
        if (m.Type === 'volume') {
          if (!m.Name) m.Name = randomBytes(32).toString('hex');
          const v = await this.ctx.volumes.ensure(m.Name, { anonymous: m.Anonymous });
          m.Source = v.Mountpoint;
        } else if (m.Type === 'bind' && (body.HostConfig?.Binds ?? []).length && !existsSync(m.Source)) {
          mkdirSync(m.Source, { recursive: true }); // -v /host/path creates it, as dockerd does
        } else if (m.Type === 'bind' && !existsSync(m.Source)) {
          throw invalidArgument(
            `HostConfig.Mounts.Source: invalid mount config for type "bind": bind source path does not exist: ${m.Source}`,
            { field: 'HostConfig.Mounts.Source' },
          );
        }
      }
      const parent = await this.ctx.images.unpack(img.id);
      const labels = { 'org.skiff.container': id };
      const init = await createInitLayer(this.ctx.snapshotter, snapshotKey, parent, labels);
      try {
        await this.ctx.snapshotter.prepare(snapshotKey, init, { labels });
      } catch (e) {
        await this.ctx.snapshotter.remove(init).catch(() => undefined);
        throw e;
      }
      prepared = true;
      mkdirSync(join(dir, 'rootfs'), { recursive: true });
      const netName = hostConfig.NetworkMode!.startsWith('container:') ? '' : hostConfig.NetworkMode!;
      const networks = netName ? this.nets.endpointsFor(netName, body.NetworkingConfig?.EndpointsConfig ?? {}) : {};
      const rec: ContainerRecord = {
        Id: id,
        Name: fullName,
        Created: new Date().toISOString(),
        Path: path,
        Args: args,
        Image: img.id,
        ImageName: body.Image,
        Config: config,
        HostConfig: hostConfig,
        State: initialState(),
        RestartCount: 0,
        Mounts: mounts,
        Networks: networks,
        ExecIDs: [],
        SnapshotKey: snapshotKey,
        ManuallyStopped: false,
        HasBeenStarted: false,
      };
      saveRecord(dir, rec);
      const c = this.adopt(rec, dir);
      this.emit(c, 'create');
      return { Id: id, Warnings: [] };
    } catch (e) {
      this.names.delete(fullName.slice(1));
      if (prepared) await removeContainerSnapshots(this.ctx.snapshotter, snapshotKey).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      for (const m of mounts) if (m.Anonymous && m.Name) await this.ctx.volumes.remove(m.Name).catch(() => undefined);
      throw e;
    }
  }

  private freeName(): string {
    for (;;) {
      const n = nameFor();
      if (!this.names.has(n)) return n;
    }
  }

  private adopt(rec: ContainerRecord, dir: string): Live {
    const c: Live = {
      rec,
      dir,
      lock: Promise.resolve(),
      exitWaiters: [],
      removedWaiters: [],
      createdWaiters: [],
      restartDelay: 100,
    };
    this.byId.set(rec.Id, c);
    this.names.set(rec.Name.slice(1), rec.Id);
    return c;
  }

  // ---- start ----
  async start(ref: string): Promise<void> {
    const c = this.live(ref);
    await this.locked(c, async () => {
      if (c.rec.State.Paused) throw conflict(`cannot start a paused container, try unpause instead`, { field: 'id' });
      if (c.rec.State.Running)
        throw new SkiffError('FailedPrecondition', `container ${c.rec.Id} is already running`, {
          reason: 'NotModified',
        });
      if (c.removed) throw notFound(`No such container: ${ref}`);
      c.rec.ManuallyStopped = false;
      try {
        await this.startLocked(c);
      } catch (e) {
        if (c.rec.HostConfig.AutoRemove) await this.removeLocked(c, { volumes: true });
        throw e;
      }
    });
  }

  private async startLocked(c: Live): Promise<void> {
    const rec = c.rec,
      id = rec.Id,
      rtid = this.rtId(id);
    const rootfs = this.rootfs(id);
    try {
      await this.ensureMounted(c);
      const etc = writeEtcFiles(c.dir, rec);
      let netnsPath: string | undefined;
      const nm = String(rec.HostConfig.NetworkMode);
      if (nm.startsWith('container:')) {
        const other = this.live(nm.slice(10)).rec;
        if (!other.State.Running)
          throw conflict(`cannot join network of a non running container: ${other.Id}`, {
            field: 'HostConfig.NetworkMode',
          });
        netnsPath = `/proc/${other.State.Pid}/ns/net`;
        shareNetworkEtc(c.dir, this.dirOf(other.Id)); // its hosts and resolv.conf, as dockerd does
      }
      for (const m of rec.Mounts)
        if (m.Type === 'volume' && m.Name && !m.Source) m.Source = (await this.ctx.volumes.ensure(m.Name)).Mountpoint;
      const spec = buildSpec({
        rec,
        rootfs,
        etc,
        cgroupsPath: `${this.opts.cgroupParent}/${id}`,
        initBinary: initBinary(),
        netnsPath,
      });
      const bundle = join(c.dir, 'bundle');
      mkdirSync(bundle, { recursive: true });
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      rmSync(join(c.dir, 'exit.json'), { force: true });
      await this.runtime.delete(rtid, { force: true }).catch(() => undefined);
      const lc = rec.HostConfig.LogConfig?.Config ?? {};
      const maxSize = parseSize(lc['max-size'] ?? '10m');
      const maxFile = Math.max(1, Number(lc['max-file'] ?? 3) || 3);
      await this.runtime.create(rtid, bundle, {
        monitor: {
          logFile: rec.HostConfig.LogConfig?.Type === 'none' ? undefined : this.logPath(id),
          logMaxSize: maxSize,
          logMaxFiles: maxFile - 1,
          stdin: rec.Config.OpenStdin,
        },
      });
      const mdir = this.monitorDir(id);
      const net = await this.nets.attach(rec, this.runtime.state(rtid).pid ?? 0);
      if (net) writeNetworkEtc(c.dir, rec, net);
      const waiters = c.createdWaiters.splice(0);
      await Promise.race([
        Promise.all(waiters.map((w) => Promise.resolve(w(mdir)).catch(() => undefined))),
        sleep(3000),
      ]);
      await this.runtime.start(rtid);
      const st = this.runtime.state(rtid);
      rec.State = {
        ...rec.State,
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: st.pid ?? 0,
        ExitCode: 0,
        Error: '',
        StartedAt: new Date().toISOString(),
        ...(rec.Config.Healthcheck?.Test?.length && rec.Config.Healthcheck.Test[0] !== 'NONE'
          ? { Health: { Status: 'starting', FailingStreak: 0, Log: [] } }
          : {}),
      };
      rec.HasBeenStarted = true;
      this.save(c);
      this.emit(c, 'start');
      this.watchExit(c, mdir);
      c.health?.stop();
      c.health = this.healthStarter?.(c);
    } catch (e) {
      rec.State = {
        ...rec.State,
        Status: rec.HasBeenStarted ? 'exited' : 'created',
        Running: false,
        Pid: 0,
        Error: (e as Error).message,
        ExitCode: /not found|no such file/i.test((e as Error).message) ? 127 : 128,
      };
      await this.runtime.delete(rtid, { force: true }).catch(() => undefined);
      await this.nets.detach(rec);
      this.save(c);
      await this.unmountRootfs(c).catch(() => undefined);
      for (const w of c.createdWaiters.splice(0)) await Promise.resolve(w(undefined)).catch(() => undefined);
      throw e;
    }
  }

  async ensureMounted(c: Live): Promise<string> {
    const rootfs = this.rootfs(c.rec.Id);
    if (isMountpoint(rootfs)) return rootfs;
    mkdirSync(rootfs, { recursive: true });
    await mountAll(await this.ctx.snapshotter.mounts(c.rec.SnapshotKey), rootfs);
    return rootfs;
  }

  async unmountRootfs(c: Live): Promise<void> {
    const rootfs = this.rootfs(c.rec.Id);
    if (isMountpoint(rootfs)) await unmount(rootfs);
  }

  // ---- exit tracking ----
  private watchExit(c: Live, mdir: string): void {
    c.watch?.abort();
    const ac = new AbortController();
    c.watch = ac;
    waitExit(mdir, ac.signal, 100).then(
      (ex) =>
        this.onExit(c, { code: ex.exitCode, oom: ex.oomKilled, finishedAt: ex.finishedAt, error: ex.error }, mdir),
      (e) => {
        if (!ac.signal.aborted)
          void this.onExit(
            c,
            {
              code: 255,
              oom: false,
              finishedAt: new Date().toISOString(),
              error: `monitor lost: ${(e as Error).message}`,
            },
            mdir,
          );
      },
    );
  }

  private async onExit(
    c: Live,
    ex: { code: number; oom: boolean; finishedAt: string; error?: string },
    mdir?: string,
  ): Promise<void> {
    if (c.removed) return;
    await this.locked(c, async () => {
      if (!c.rec.State.Running && !c.rec.State.Restarting) return;
      c.health?.stop();
      c.health = undefined;
      if (mdir && existsSync(join(mdir, 'exit.json'))) {
        try {
          copyFileSync(join(mdir, 'exit.json'), join(c.dir, 'exit.json'));
        } catch {
          /* best effort */
        }
      } else writeFileSync(join(c.dir, 'exit.json'), JSON.stringify({ exitCode: ex.code }));
      await this.runtime.delete(this.rtId(c.rec.Id), { force: true }).catch(() => undefined);
      await this.nets.detach(c.rec);
      await this.unmountRootfs(c).catch(() => undefined);
      const ranMs = Date.now() - Date.parse(c.rec.State.StartedAt);
      c.rec.State = {
        ...c.rec.State,
        Status: 'exited',
        Running: false,
        Paused: false,
        Restarting: false,
        Pid: 0,
        ExitCode: ex.code,
        OOMKilled: ex.oom,
        FinishedAt: ex.finishedAt,
        Error: ex.error && ex.error !== 'error' ? ex.error : '',
      };
      if (c.rec.State.Health) c.rec.State.Health = { ...c.rec.State.Health, Status: 'unhealthy' };
      this.save(c);
      if (ex.oom) this.emit(c, 'oom');
      this.emit(c, 'die', { exitCode: String(ex.code) });
      const res: WaitResult = { StatusCode: ex.code, Error: null };
      for (const w of c.exitWaiters.splice(0)) w(res);
      if (c.rec.HostConfig.AutoRemove) {
        await this.removeLocked(c, { volumes: true, force: true });
        return;
      }
      if (ranMs >= RUNNING_RESET_MS) c.restartDelay = 100;
      if (this.shouldRestart(c, ex.code)) this.scheduleRestart(c);
    });
  }

  private shouldRestart(c: Live, code: number): boolean {
    if (c.stopping || c.rec.ManuallyStopped) return false;
    const p = c.rec.HostConfig.RestartPolicy ?? {};
    switch (p.Name) {
      case 'always':
      case 'unless-stopped':
        return true;
      case 'on-failure':
        return code !== 0 && (!p.MaximumRetryCount || c.rec.RestartCount < p.MaximumRetryCount);
      default:
        return false;
    }
  }

  /** Exponential back-off: 100 ms doubling to 1 min, reset after 10 s of running. */
  scheduleRestart(c: Live, why = 'policy'): void {
    const delay = c.restartDelay;
    c.restartDelay = Math.min(c.restartDelay * 2, 60_000);
    c.rec.State = { ...c.rec.State, Status: 'restarting', Restarting: true };
    this.save(c);
    void why;
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      void this.locked(c, async () => {
        if (c.removed || !c.rec.State.Restarting) return;
        c.rec.RestartCount++;
        try {
          await this.startLocked(c);
        } catch {
          c.rec.State = { ...c.rec.State, Restarting: false, Status: 'exited' };
          this.save(c);
          if (this.shouldRestart(c, 1)) this.scheduleRestart(c);
        }
      });
    }, delay);
    c.restartTimer.unref?.();
  }

  // ---- stop / kill / restart ----
  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const c = this.live(ref);
    const sig = parseSignal(signal);
    if (!c.rec.State.Running)
      throw conflict(`Cannot kill container: ${c.rec.Id}: Container ${c.rec.Id} is not running`, { field: 'id' });
    if (sig === 9 || sig === 15) c.stopping = false;
    await this.runtime.kill(this.rtId(c.rec.Id), sig);
    this.emit(c, 'kill', { signal: String(sig) });
  }

  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const c = this.live(ref);
    if (c.restartTimer) {
      clearTimeout(c.restartTimer);
      c.restartTimer = undefined;
      c.rec.State = { ...c.rec.State, Restarting: false, Status: 'exited' };
      c.rec.ManuallyStopped = true;
      this.save(c);
      return;
    }
    if (!c.rec.State.Running)
      throw new SkiffError('FailedPrecondition', `container ${c.rec.Id} is already stopped`, { reason: 'NotModified' });
    c.rec.ManuallyStopped = true;
    this.save(c);
    await this.stopRunning(c, opts);
  }

  private async stopRunning(c: Live, opts: { timeout?: number; signal?: string }): Promise<void> {
    c.stopping = true;
    try {
      const rtid = this.rtId(c.rec.Id);
      const exited = new Promise<WaitResult>((res) => c.exitWaiters.push(res));
      const sig = opts.signal || c.rec.Config.StopSignal || 'SIGTERM';
      const timeout = opts.timeout ?? c.rec.Config.StopTimeout ?? 10;
      if (c.rec.State.Paused) await rtResume(this.runtime, rtid).catch(() => undefined);
      await this.runtime.kill(rtid, sig).catch(() => undefined);
      this.emit(c, 'kill', { signal: String(parseSignal(sig)) });
      const ok =
        timeout < 0
          ? await exited.then(() => true)
          : await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
      if (!ok) {
        await this.runtime.kill(rtid, 'SIGKILL', { all: true }).catch(() => undefined);
        await this.runtime.kill(rtid, 'SIGKILL').catch(() => undefined);
        this.emit(c, 'kill', { signal: '9' });
        await Promise.race([exited, sleep(10_000)]);
      }
      this.emit(c, 'stop');
    } finally {
      c.stopping = false;
    }
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const c = this.live(ref);
    if (c.rec.State.Running) {
      c.stopping = true;
      await this.stopRunning(c, opts);
    }
    c.rec.ManuallyStopped = false;
    await this.locked(c, async () => {
      if (!c.rec.State.Running) await this.startLocked(c);
    });
    this.emit(c, 'restart');
  }

  // ---- wait ----
  /** Resolves when the condition holds: not-running (default), next-exit, removed. */
  wait(ref: string, condition = 'not-running', signal?: AbortSignal): Promise<WaitResult> {
    const c = this.live(ref);
    if (!['not-running', 'next-exit', 'removed', ''].includes(condition))
      throw invalidArgument(`condition: invalid condition: "${condition}"`, { field: 'condition' });
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (r: WaitResult) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      if (condition === 'removed') {
        c.removedWaiters.push(done);
        return;
      }
      if ((condition === 'not-running' || condition === '') && !c.rec.State.Running && !c.rec.State.Restarting) {
        done({ StatusCode: c.rec.State.ExitCode, Error: null });
        return;
      }
      c.exitWaiters.push(done);
    });
  }

  /** Registers an attach that must be connected before the container's process starts. */
  onCreated(ref: string, fn: (monitorDir: string | undefined) => Promise<void> | void): void {
    this.live(ref).createdWaiters.push(fn);
  }

  // ---- remove ----
  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.live(ref);
    if (c.rec.State.Running && !opts.force) {
      throw conflict(
        `cannot remove container "${c.rec.Name}": container is ${c.rec.State.Paused ? 'paused' : 'running'}: stop the container before removing or force remove`,
        { field: 'force' },
      );
    }
    if (c.restartTimer) {
      clearTimeout(c.restartTimer);
      c.restartTimer = undefined;
    }
    if (c.rec.State.Running) {
      c.rec.ManuallyStopped = true;
      c.stopping = true;
      await this.runtime.kill(this.rtId(c.rec.Id), 'SIGKILL', { all: true }).catch(() => undefined);
      await this.runtime.kill(this.rtId(c.rec.Id), 'SIGKILL').catch(() => undefined);
      await Promise.race([this.wait(ref, 'not-running'), sleep(10_000)]);
    }
    await this.locked(c, () => this.removeLocked(c, opts));
  }

  private async removeLocked(c: Live, opts: { volumes?: boolean; force?: boolean }): Promise<void> {
    if (c.removed) return;
    c.watch?.abort();
    c.health?.stop();
    c.removed = true;
    c.rec.State = { ...c.rec.State, Status: 'removing' };
    await this.runtime.delete(this.rtId(c.rec.Id), { force: true }).catch(() => undefined);
    await this.nets.detach(c.rec);
    await this.unmountRootfs(c).catch(() => undefined);
    await removeContainerSnapshots(this.ctx.snapshotter, c.rec.SnapshotKey);
    rmSync(c.dir, { recursive: true, force: true });
    this.byId.delete(c.rec.Id);
    this.execs?.forget(c.rec.Id);
    if (this.names.get(c.rec.Name.slice(1)) === c.rec.Id) this.names.delete(c.rec.Name.slice(1));
    if (opts.volumes)
      for (const m of c.rec.Mounts)
        if (m.Type === 'volume' && m.Anonymous && m.Name && !this.volumeUsers(m.Name).length)
          await this.ctx.volumes.remove(m.Name).catch(() => undefined);
    this.emit(c, 'destroy');
    const res: WaitResult = { StatusCode: c.rec.State.ExitCode, Error: null };
    for (const w of c.exitWaiters.splice(0)) w(res);
    for (const w of c.removedWaiters.splice(0)) w(res);
  }

  // ---- rename / pause / update ----
  async rename(ref: string, newName: string): Promise<void> {
    const c = this.live(ref);
    if (!newName) throw invalidArgument('name: Neither old nor new names may be empty', { field: 'name' });
    const n = validateName(newName).slice(1);
    const old = c.rec.Name.slice(1);
    if (n === old) throw conflict(`Renaming a container with the same name as its current name`, { field: 'name' });
    if (this.names.has(n))
      throw conflict(
        `Error when allocating new name: Conflict. The container name "/${n}" is already in use by container "${this.names.get(n)}". You have to remove (or rename) that container to be able to reuse that name.`,
        { field: 'name' },
      );
    this.names.delete(old);
    this.names.set(n, c.rec.Id);
    c.rec.Name = `/${n}`;
    this.save(c);
    this.emit(c, 'rename', { oldName: `/${old}` });
  }

  async pause(ref: string): Promise<void> {
    const c = this.live(ref);
    if (!c.rec.State.Running) throw conflict(`Container ${c.rec.Id} is not running`, { field: 'id' });
    if (c.rec.State.Paused) throw conflict(`Container ${c.rec.Id} is already paused`, { field: 'id' });
    await rtPause(this.runtime, this.rtId(c.rec.Id));
    c.rec.State = { ...c.rec.State, Paused: true, Status: 'paused' };
    this.save(c);
    this.emit(c, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const c = this.live(ref);
    if (!c.rec.State.Paused) throw conflict(`Container ${c.rec.Id} is not paused`, { field: 'id' });
    await rtResume(this.runtime, this.rtId(c.rec.Id));
    c.rec.State = { ...c.rec.State, Paused: false, Status: 'running' };
    this.save(c);
    this.emit(c, 'unpause');
  }

  async update(ref: string, body: Record<string, unknown>): Promise<{ Warnings: string[] }> {
    const c = this.live(ref);
    const hc = c.rec.HostConfig;
    const keys = [
      'Memory',
      'MemorySwap',
      'MemoryReservation',
      'NanoCpus',
      'CpuShares',
      'CpuQuota',
      'CpuPeriod',
      'CpusetCpus',
      'CpusetMems',
      'PidsLimit',
      'BlkioWeight',
    ];
    for (const k of keys)
      if (body[k] !== undefined && body[k] !== null && body[k] !== 0 && body[k] !== '') {
        if (k.startsWith('Cpuset') ? typeof body[k] !== 'string' : typeof body[k] !== 'number')
          throw invalidArgument(`${k}: invalid value`, { field: k });
        hc[k] = body[k];
      }
    const rp = body.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | undefined;
    if (rp && rp.Name !== undefined) {
      if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(rp.Name))
        throw invalidArgument(`RestartPolicy: invalid restart policy '${rp.Name}'`, { field: 'RestartPolicy.Name' });
      if (hc.AutoRemove && rp.Name && rp.Name !== 'no')
        throw invalidArgument(
          'RestartPolicy: Restart policy cannot be updated because AutoRemove is enabled for the container',
          { field: 'RestartPolicy' },
        );
      hc.RestartPolicy = { Name: rp.Name || 'no', MaximumRetryCount: rp.MaximumRetryCount ?? 0 };
    }
    if (c.rec.State.Running) {
      const r: Record<string, unknown> = {};
      if (hc.Memory) r.memory = { limit: hc.Memory, ...(hc.MemorySwap ? { swap: hc.MemorySwap } : {}) };
      const cpu: Record<string, unknown> = {};
      if (hc.CpuShares) cpu.shares = hc.CpuShares;
      if (hc.NanoCpus) {
        cpu.period = 100000;
        cpu.quota = Math.round(((hc.NanoCpus as number) / 1e9) * 100000);
      }
      if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
      if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
      if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
      if (Object.keys(cpu).length) r.cpu = cpu;
      if (hc.PidsLimit) r.pids = { limit: hc.PidsLimit };
      if (hc.BlkioWeight) r.blockIO = { weight: hc.BlkioWeight };
      if (Object.keys(r).length) await rtUpdate(this.runtime, this.rtId(c.rec.Id), r);
    }
    this.save(c);
    this.emit(c, 'update');
    return { Warnings: [] };
  }

  /** A container directory without a readable record: the engine died while creating or removing
   *  it. Its rootfs may still be mounted and its snapshot prepared; both go before the directory. */
  private async discardPartial(id: string, dir: string): Promise<void> {
    try {
      const rootfs = join(dir, 'rootfs');
      if (isMountpoint(rootfs)) await unmount(rootfs);
      const keys: string[] = [];
      for await (const info of this.ctx.snapshotter.walk())
        if (info.labels?.['org.skiff.container'] === id) keys.push(info.name);
      // the container's own snapshot before its init layer (a parent goes after its children)
      keys.sort((a, b) => Number(a.endsWith('-init')) - Number(b.endsWith('-init')));
      for (const k of keys) await this.ctx.snapshotter.remove(k).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      log.warn('could not discard a partial container directory', { id, error: (e as Error).message });
    }
  }

  // ---- engine start: load records, live restore, restart policies ----
  async restore(): Promise<void> {
    idleActivity(); // start-up garbage (module loading, restore) is collected once the engine is idle
    mkdirSync(this.root, { recursive: true });
    for (const id of readdirSync(this.root)) {
      const dir = this.dirOf(id);
      let rec: ContainerRecord;
      try {
        rec = loadRecord(dir);
      } catch {
        await this.discardPartial(id, dir);
        continue;
      }
      const c = this.adopt(rec, dir);
      if (rec.State.Status === 'removing') {
        await this.removeLocked(c, {}).catch(() => undefined);
        continue;
      }
      if (rec.State.Running || rec.State.Restarting) {
        const mdir = this.monitorDir(id);
        const alive = await isMonitorAlive(mdir).catch(() => false);
        if (alive) {
          this.watchExit(c, mdir);
          c.health = this.healthStarter?.(c);
          continue;
        }
        const ex = await readExitFile(mdir).catch(() => undefined);
        rec.State.Running = true; // let onExit record it
        await this.onExit(
          c,
          {
            code: ex?.exitCode ?? 255,
            oom: ex?.oomKilled ?? false,
            finishedAt: ex?.finishedAt ?? new Date().toISOString(),
            error: ex ? undefined : 'the container monitor died while the engine was away',
          },
          mdir,
        );
        continue;
      }
      const p = rec.HostConfig.RestartPolicy?.Name;
      if (rec.HasBeenStarted && (p === 'always' || (p === 'unless-stopped' && !rec.ManuallyStopped))) {
        void this.locked(c, () => this.startLocked(c)).catch(() => undefined);
      }
    }
  }

  /** Stops watching (engine shutdown); containers keep running under their monitors. */
  close(): void {
    for (const c of this.byId.values()) {
      c.watch?.abort();
      c.health?.stop();
      if (c.restartTimer) clearTimeout(c.restartTimer);
    }
  }
}

export type { Live };

function isMountpoint(dir: string): boolean {
  try {
    const info = readFileSync('/proc/self/mountinfo', 'utf8');
    return info.split('\n').some((l) => l.split(' ')[4] === dir);
  } catch {
    return false;
  }
}

function initBinary(): string | undefined {
  try {
    const p = join(nativeDir(), 'skiff-tini');
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Docker's log-opt sizes: 10m, 512k, 1g, plain bytes. */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(v.trim());
  if (!m)
    throw invalidArgument(`HostConfig.LogConfig.Config.max-size: invalid size ${JSON.stringify(v)}`, {
      field: 'HostConfig.LogConfig.Config.max-size',
    });
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * mult);
}

export { failedPrecondition };
