// The container service: the records (by id and name), the per-container lock, events, and the
// entry points of the API's operations. Containers run through the runtime library (src/runtime)
// under skiff-monitor, so they survive the engine; their records live under
// DATA_ROOT/containers/<id>/. Create is provision.ts, kill/stop/restart/wait/remove/rename/pause
// operations.ts, the runtime side of a container's life lifecycle.ts, restart policies restart.ts,
// the engine's start-up restore.ts.
import { join } from 'node:path';
import { conflict, failedPrecondition, invalidArgument, notFound, SkiffError } from '../../../common/index.js';
import { Runtime } from '../../../runtime/index.js';
import type { EngineContext, ContainersService } from '../context.js';
import { linksWithout } from './links.js';
import { saveRecord, type ContainerRecord } from './record.js';
import type { Networks } from '../networks.js';
import { activity as idleActivity } from './idle-gc.js';
import { startLocked, removeLocked, ensureMounted, unmountRootfs } from './lifecycle.js';
import { restore, stopAllForShutdown } from './restore.js';
import { updateContainer } from './update.js';
import { createContainer } from './provision.js';
import {
  killContainer,
  pauseContainer,
  removeContainer,
  renameContainer,
  restartContainer,
  stopContainer,
  unpauseContainer,
  waitContainer,
  type StopOptions,
} from './operations.js';

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

  /** `platform` ("os[/arch[/variant]]", create's query parameter): the local image must be of it. */
  create(raw: unknown, name?: string, platform?: string): Promise<{ Id: string; Warnings: string[] }> {
    return createContainer(this, raw, name, platform);
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

  // ---- the API's operations (operations.ts) ----
  kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    return killContainer(this, ref, signal);
  }
  stop(ref: string, opts: StopOptions = {}): Promise<void> {
    return stopContainer(this, ref, opts);
  }
  restart(ref: string, opts: StopOptions = {}): Promise<void> {
    return restartContainer(this, ref, opts);
  }
  /** Resolves when the condition holds: not-running (default), next-exit, removed. */
  wait(ref: string, condition = 'not-running', signal?: AbortSignal): Promise<WaitResult> {
    return waitContainer(this, ref, condition, signal);
  }
  remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return removeContainer(this, ref, opts);
  }
  rename(ref: string, newName: string): Promise<void> {
    return renameContainer(this, ref, newName);
  }
  pause(ref: string): Promise<void> {
    return pauseContainer(this, ref);
  }
  unpause(ref: string): Promise<void> {
    return unpauseContainer(this, ref);
  }

  /** Registers an attach that must be connected before the container's process starts: at the next
   *  start, `connect` gets the monitor's directory once the container exists in the runtime, and the
   *  process starts when every such promise has settled; a start that fails calls it with undefined. */
  attachBeforeStart(ref: string, connect: AttachBeforeStart): void {
    this.live(ref).attachWaiters.push(connect);
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
