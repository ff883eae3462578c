// The container service: the records (by id and name), create, and the API's operations (start,
// stop, kill, restart, wait, remove, rename, pause, update). Containers run through the runtime
// library (src/runtime) under skiff-monitor, so they survive the engine; their records live under
// DATA_ROOT/containers/<id>/. The runtime side of a container's life is lifecycle.ts, restart
// policies restart.ts, the engine's start-up restore.ts.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  conflict,
  createLogger,
  failedPrecondition,
  invalidArgument,
  logFailure,
  sleep,
  newId,
} from '../../../common/index.js';
import { notFound, SkiffError } from '../../../common/index.js';

const log = createLogger({ component: 'engine.containers' });
import { Runtime, parseSignal } from '../../../runtime/index.js';
import type { EngineContext, ContainersService } from '../context.js';
import { checkPlatform, parseCreateBody, mergeConfig, parseMounts, validateName } from './create.js';
import { linksWithout } from './links.js';
import { initialState, saveRecord, type ContainerRecord } from './record.js';
import { createInitLayer, removeContainerSnapshots } from './init-layer.js';
import { verifyContainerSettings } from './validate.js';
import { refuseUnsupported } from './unsupported.js';
import { hostFacts } from './host-facts.js';
import { mergeVolumesFrom, normalizeLinks, resolveNamespaceModes, volumesFromMounts } from './shared.js';
import type { Networks } from '../networks.js';
import { nameFor } from './names.js';
import { activity as idleActivity } from './idle-gc.js';
import { startLocked, removeLocked, stopRunning, ensureMounted, unmountRootfs } from './lifecycle.js';
import { restore, stopAllForShutdown } from './restore.js';
import { updateContainer } from './update.js';

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
  /** Attaches made before start (`docker run`): each is connected to the monitor, and its promise
   *  settled, before the process starts (the start awaits them: an explicit handshake, no timer). */
  attachWaiters: AttachBeforeStart[];
  watch?: AbortController;
  restartTimer?: NodeJS.Timeout;
  restartDelay: number;
  stopping?: boolean;
  removed?: boolean;
  health?: { stop(): void };
}

/** What containers need from the networks service. */
export type ContainerNetworks = Pick<Networks, 'endpointsFor' | 'defaultGateway' | 'attach' | 'detach'>;

/** Connects one attach client to the monitor (`monitorDir`), or ends it (undefined: no start). It
 *  must settle without waiting on the container's process: the process starts after it. */
export type AttachBeforeStart = (monitorDir: string | undefined) => Promise<void>;

export interface ContainersOptions {
  execRoot: string;
  cgroupParent: string;
  /** Off: containers found running at start are stopped (then restart policies apply). */
  liveRestore?: boolean;
}

export class Containers implements ContainersService {
  readonly runtime: Runtime;
  // Shared with lifecycle.ts, restart.ts and restore.ts (functions over this service).
  readonly byId = new Map<string, Live>();
  readonly names = new Map<string, string>();
  /** Exec sessions (set by the daemon). */
  execs?: { idsOf(id: string): string[]; forget(id: string): void };
  execIds(id: string): string[] {
    return this.execs?.idsOf(id) ?? [];
  }
  /** Health monitor factory, set by the health module (avoids an import cycle). */
  healthStarter?: (c: Live) => { stop(): void } | undefined;

  constructor(
    readonly ctx: EngineContext,
    /** The networks service: endpoints at create, attach at start, detach at exit. */
    readonly nets: ContainerNetworks,
    readonly opts: ContainersOptions,
  ) {
    this.runtime = new Runtime({ root: join(opts.execRoot, 'rt') });
  }

  get root(): string {
    return join(this.ctx.root, 'containers');
  }
  dirOf(id: string): string {
    return join(this.root, id);
  }
  rtId(id: string): string {
    return id.slice(0, 16);
  }
  /** The monitor's state directory while the container exists in the runtime; afterwards the
   *  container's own directory, which holds the copied exit.json. */
  monitorDir(id: string): string {
    try {
      return this.runtime.monitorDir(this.rtId(id)) ?? this.dirOf(id);
    } catch {
      return this.dirOf(id);
    }
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

  /** Runs `fn` after the container's earlier operations (one at a time per container). */
  async locked<T>(c: Live, fn: () => Promise<T>): Promise<T> {
    const run = c.lock.then(fn, fn);
    c.lock = run.catch(() => undefined); // the failure reaches the caller through `run`
    return run;
  }

  persist(id: string): void {
    this.save(this.live(id));
  }
  save(c: Live): void {
    if (!c.removed) saveRecord(c.dir, c.rec);
  }

  emit(c: Live, action: string, extra: Record<string, string> = {}): void {
    idleActivity();
    this.ctx.events.emit({
      Type: 'container',
      Action: action,
      id: c.rec.Id,
      attributes: { ...c.rec.Config.Labels, image: c.rec.ImageName, name: c.rec.Name.slice(1), ...extra },
    });
  }

  /** `rm --link PARENT/ALIAS`: drops the link from the parent's record (effective at its next start). */
  removeLink(name: string): void {
    const { parent, links } = linksWithout(name, (r) => this.live(r).rec);
    parent.HostConfig.Links = links;
    this.save(this.live(parent.Id));
  }

  /** A container event with the container's attributes (labels, image, name), e.g. `attach`. */
  event(ref: string, action: string): void {
    this.emit(this.live(ref), action);
  }

  /** Engine shutdown without live restore (restore.ts). */
  stopAllForShutdown(): Promise<void> {
    return stopAllForShutdown(this);
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
  /** `platform` ("os[/arch[/variant]]", create's query parameter): the local image must be of it. */
  async create(raw: unknown, name?: string, platform?: string): Promise<{ Id: string; Warnings: string[] }> {
    const body = parseCreateBody(raw);
    const warnings = verifyContainerSettings(body, hostFacts());
    refuseUnsupported(body);
    const nm = body.HostConfig?.NetworkMode ?? '';
    if (nm.startsWith('container:')) this.live(nm.slice(10));
    const img = await this.ctx.images.resolve(body.Image);
    if (platform) checkPlatform(body.Image, platform, img.config);
    const id = newId();
    const fullName = name ? validateName(name) : `/${this.freeName()}`;
    if (this.names.has(fullName.slice(1))) {
      throw conflict(
        `Conflict. The container name "${fullName}" is already in use by container "${this.names.get(fullName.slice(1))}". You have to remove (or rename) that container to be able to reuse that name.`,
        { field: 'name' },
      );
    }
    const { config, hostConfig, path, args } = mergeConfig(body, img.config, id);
    const lookup = (r: string) => this.get(r);
    if (hostConfig.Links?.length) hostConfig.Links = normalizeLinks(hostConfig.Links, fullName, lookup);
    resolveNamespaceModes(hostConfig, lookup);
    const mounts = mergeVolumesFrom(
      parseMounts(body, Object.keys(img.config.config?.Volumes ?? {})),
      volumesFromMounts(hostConfig.VolumesFrom ?? [], lookup),
    );
    const dir = this.dirOf(id);
    this.names.set(fullName.slice(1), id); // reserve while creating
    const snapshotKey = `container-${id}`;
    let prepared = false;
    try {
      for (const m of mounts) {
        if (m.Type === 'volume') {
          if (!m.Name) m.Name = newId();
          const v = await this.ctx.volumes.ensure(m.Name, {
            anonymous: m.Anonymous,
            labels: m.VolumeOptions?.Labels,
            driver: m.VolumeOptions?.DriverConfig?.Name,
            driverOpts: m.VolumeOptions?.DriverConfig?.Options,
          });
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
        await this.ctx.snapshotter.remove(init).catch(logFailure(log, 'create: snapshot left', { key: init }));
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
      return { Id: id, Warnings: warnings };
    } catch (e) {
      this.names.delete(fullName.slice(1));
      const left = (what: string) => logFailure(log, `create: ${what} left after a failure`, { id });
      if (prepared) await removeContainerSnapshots(this.ctx.snapshotter, snapshotKey).catch(left('snapshots'));
      rmSync(dir, { recursive: true, force: true });
      for (const m of mounts) if (m.Anonymous && m.Name) await this.ctx.volumes.remove(m.Name).catch(left('volume'));
      throw e;
    }
  }

  private freeName(): string {
    for (;;) {
      const n = nameFor();
      if (!this.names.has(n)) return n;
    }
  }

  adopt(rec: ContainerRecord, dir: string): Live {
    const c: Live = {
      rec,
      dir,
      lock: Promise.resolve(),
      exitWaiters: [],
      removedWaiters: [],
      attachWaiters: [],
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
        await startLocked(this, c);
      } catch (e) {
        if (c.rec.HostConfig.AutoRemove) await removeLocked(this, c, { volumes: true });
        throw e;
      }
    });
  }

  // ---- exit tracking ----

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
    await stopRunning(this, c, opts);
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const c = this.live(ref);
    if (c.rec.State.Running) {
      c.stopping = true;
      await stopRunning(this, c, opts);
    }
    c.rec.ManuallyStopped = false;
    await this.locked(c, async () => {
      if (!c.rec.State.Running) await startLocked(this, c);
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

  /** Registers an attach that must be connected before the container's process starts: at the next
   *  start, `connect` gets the monitor's directory once the container exists in the runtime, and the
   *  process starts when every such promise has settled; a start that fails calls it with undefined. */
  attachBeforeStart(ref: string, connect: AttachBeforeStart): void {
    this.live(ref).attachWaiters.push(connect);
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
      await this.runtime.kill(this.rtId(c.rec.Id), 'SIGKILL', { all: true }).catch(() => undefined); // force: the process may be gone already
      // (the second kill reaches the init of a container sharing a pid namespace)
      await this.runtime.kill(this.rtId(c.rec.Id), 'SIGKILL').catch(() => undefined);
      await Promise.race([this.wait(ref, 'not-running'), sleep(10_000)]);
    }
    await this.locked(c, () => removeLocked(this, c, opts));
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
    await this.runtime.pause(this.rtId(c.rec.Id));
    c.rec.State = { ...c.rec.State, Paused: true, Status: 'paused' };
    this.save(c);
    this.emit(c, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const c = this.live(ref);
    if (!c.rec.State.Paused) throw conflict(`Container ${c.rec.Id} is not paused`, { field: 'id' });
    await this.runtime.resume(this.rtId(c.rec.Id));
    c.rec.State = { ...c.rec.State, Paused: false, Status: 'running' };
    this.save(c);
    this.emit(c, 'unpause');
  }

  async update(ref: string, body: Record<string, unknown>): Promise<{ Warnings: string[] }> {
    return updateContainer(this, this.live(ref), body);
  }

  // ---- engine start: load records, live restore, restart policies (restore.ts) ----
  restore(): Promise<void> {
    return restore(this);
  }

  ensureMounted(c: Live): Promise<string> {
    return ensureMounted(this, c);
  }

  unmountRootfs(c: Live): Promise<void> {
    return unmountRootfs(this, c);
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

export { failedPrecondition };
