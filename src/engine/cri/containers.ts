// CRI containers: CreateContainer prepares a snapshot and the record; StartContainer mounts the
// rootfs, hands the OCI spec to the runtime library and starts the process under skiff-monitor (which writes the CRI
// log with rotation and records the exit status); the exit is watched and turned into the CRI
// state (EXITED, exit code, reason OOMKilled / Completed / Error, finishedAt) and an event.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import {
  alreadyExists,
  createLogger,
  failedPrecondition,
  invalidArgument,
  isSkiffError,
  newId,
  notFound,
  sleep,
  traced,
  traceMark,
  traceNow,
} from '../../common/index.js';
import { Signal } from '../../cri/index.js';
import { mountAll, unmount, VOLATILE_LABEL, type ImageConfig, type Snapshotter } from '../../image/index.js';
import { type Runtime, isAlive } from '../../runtime/index.js';
import { resourcesToOci } from './resources.js';
import type { ImagesService } from '../services/context.js';
import { buildCriSpec, validateSecurityContext } from './oci-spec.js';
import { ImageVolumes, type ImageVolume } from './image-volumes.js';
import { isMounted, startTimeOf } from './pause.js';
import { idmapVolumes, makeTraversable, mountSnapshotIdmapped, releaseIdmapped } from './userns.js';
import type { ContainerRecord, RecordStore, SandboxRecord } from './records.js';
import type { Sandboxes } from './sandboxes.js';
import {
  nowNs,
  type ContainerConfigInput,
  type LinuxContainerResourcesInput,
  type PodSandboxConfigInput,
} from './types.js';

const log = createLogger({ component: 'engine.cri.containers' });
export const LOG_MAX_SIZE = 10 * 1024 * 1024;
export const LOG_MAX_FILES = 5;

export interface ContainerDeps {
  store: RecordStore;
  sandboxes: Sandboxes;
  runtime: Runtime;
  snapshotter: Snapshotter;
  images: ImagesService;
  /** Image config by id (for the entrypoint, env, user, stop signal). */
  imageConfig(id: string): Promise<ImageConfig>;
  /** repo@digest of an image id, when known. */
  imageRef(id: string, asked: string): Promise<string>;
  onEvent(kind: 'CREATED' | 'STARTED' | 'STOPPED' | 'DELETED', r: ContainerRecord): void;
  /** The last step of CreateContainer (NRI's CreateContainer hook): may adjust the record, calls
   *  `commit` to make it visible, or throws to fail the creation (everything made is undone). */
  admit?(r: ContainerRecord, sb: SandboxRecord, commit: () => void): Promise<void>;
}

const isoToNs = (s: string | undefined): number => (s ? Date.parse(s) * 1e6 : nowNs());

export class Containers {
  readonly byId = new Map<string, ContainerRecord>();
  private readonly names = new Map<string, string>();
  private readonly watches = new Map<string, AbortController>();
  private readonly exitWaiters = new Map<string, (() => void)[]>();
  private readonly volumes: ImageVolumes;
  /** The top snapshot of each image's unpacked layers (the parent of its containers' snapshots). */
  private readonly unpacked = new Map<string, Promise<string | undefined>>();

  constructor(private readonly d: ContainerDeps) {
    this.volumes = new ImageVolumes({ snapshotter: d.snapshotter, images: d.images });
  }

  rtId(id: string): string {
    return id.slice(0, 16);
  }
  rootfs(id: string): string {
    return join(this.d.store.containerDir(id), 'rootfs');
  }
  private nameKey(c: ContainerConfigInput, sb: SandboxRecord): string {
    const m = sb.config.metadata!;
    return `${c.metadata?.name}_${m.name}_${m.namespace}_${m.uid}_${c.metadata?.attempt ?? 0}`;
  }

  get(id: string): ContainerRecord {
    const r = this.find(id);
    if (!r) throw notFound(`container "${id}" not found`, { field: 'container_id' });
    return r;
  }
  find(id: string): ContainerRecord | undefined {
    if (!id) return undefined;
    const hit = this.byId.get(id);
    if (hit) return hit;
    const m = [...this.byId.values()].filter((r) => r.id.startsWith(id));
    return m.length === 1 ? m[0] : undefined;
  }
  inSandbox(sandboxId: string): ContainerRecord[] {
    return [...this.byId.values()].filter((r) => r.sandboxId === sandboxId);
  }

  adopt(r: ContainerRecord): void {
    this.byId.set(r.id, r);
    const sb = this.d.sandboxes.find(r.sandboxId);
    if (sb?.config.metadata) this.names.set(this.nameKey(r.config, sb), r.id);
  }

  async create(sandboxId: string, config: ContainerConfigInput, sandboxConfig?: PodSandboxConfigInput | null) {
    const sb = this.d.sandboxes.get(sandboxId);
    if (!config.metadata?.name) throw invalidArgument('metadata.name is required', { field: 'config.metadata.name' });
    if (!config.image?.image) throw invalidArgument('image is required', { field: 'config.image' });
    if (!this.d.sandboxes.ready(sb))
      throw failedPrecondition(`pod sandbox ${sb.id} is not ready`, { field: 'pod_sandbox_id' });
    if (config.logPath && isAbsolute(config.logPath) && sb.config.logDirectory)
      throw invalidArgument('log_path must be relative to the sandbox log directory', { field: 'config.log_path' });
    validateSecurityContext(config);
    // As containerd and CRI-O: the sandbox config sent with the request decides whether a privileged
    // container may join (kubelet computes it over every container of the pod, so a privileged
    // ephemeral container added to a running pod — `kubectl debug --profile=sysadmin` — may).
    const privilegedSandbox = !!(sandboxConfig ?? sb.config).linux?.securityContext?.privileged;
    if (config.linux?.securityContext?.privileged && !privilegedSandbox)
      throw invalidArgument('privileged: a privileged container needs a privileged sandbox', {
        field: 'linux.security_context.privileged',
      });
    const key = this.nameKey(config, sb);
    const taken = this.names.get(key);
    if (taken && this.byId.has(taken))
      throw alreadyExists(`container name "${key}" is reserved for "${taken}"`, { field: 'config.metadata.name' });
    const tk = sb.config.metadata?.uid ?? sb.id;
    let t0 = traceNow();
    const img = await this.d.images.resolve(config.image.image).catch((e) => {
      if (isSkiffError(e, 'NotFound')) throw notFound(`image "${config.image!.image}" not found`, { field: 'image' });
      throw e;
    });
    const id = newId();
    const snapshotKey = `cri-${id}`;
    this.names.set(key, id);
    let prepared = false;
    let imageVolumes: ImageVolume[] = [];
    traceMark(tk, 'create.resolve', t0);
    try {
      // volatile: the writable layer's unmount does not sync the whole file system (a container is
      // never restarted by kubelet, so its layer is not needed after a host crash)
      const labels = { labels: { 'org.skiff.cri.container': id, [VOLATILE_LABEL]: 'true' } };
      const parent = await traced(tk, 'create.unpack', () => this.unpack(img.id));
      await traced(tk, 'create.snapshot', () =>
        this.d.snapshotter.prepare(snapshotKey, parent, labels).catch(async (e) => {
          // the remembered layers went (the image was removed and pulled again): unpack afresh
          if (!isSkiffError(e, 'NotFound') && !isSkiffError(e, 'FailedPrecondition')) throw e;
          return this.d.snapshotter.prepare(snapshotKey, await this.unpack(img.id, true), labels);
        }),
      );
      prepared = true;
      imageVolumes = await this.volumes.prepare(id, config, this.d.store.containerDir(id));
      t0 = traceNow();
      const rec: ContainerRecord = {
        id,
        sandboxId: sb.id,
        config,
        imageId: img.id,
        imageName: config.image.image,
        imageRef: await this.d.imageRef(img.id, config.image.image),
        createdAt: nowNs(),
        startedAt: 0,
        finishedAt: 0,
        exitCode: 0,
        reason: '',
        message: '',
        state: 'CONTAINER_CREATED',
        snapshotKey,
        logPath:
          sb.config.logDirectory && config.logPath
            ? join(sb.config.logDirectory, config.logPath)
            : config.logPath || '',
        cgroup: `${sb.podCgroup}/${id}`,
        pid: 0,
        resources: config.linux?.resources ?? {},
        ...(imageVolumes.length ? { imageVolumes } : {}),
        ...(privilegedSandbox ? { privilegedSandbox } : {}),
      };
      traceMark(tk, 'create.imageRef', t0);
      t0 = traceNow();
      mkdirSync(this.rootfs(id), { recursive: true });
      this.d.store.saveContainer(rec);
      const commit = () => {
        this.byId.set(id, rec);
        this.d.onEvent('CREATED', rec);
      };
      if (this.d.admit) await this.d.admit(rec, sb, commit);
      else commit();
      traceMark(tk, 'create.save', t0);
      return id;
    } catch (e) {
      this.names.delete(key);
      // undoing a failed create: its error (rethrown below) is the one to report
      await this.volumes.release(imageVolumes).catch(() => undefined);
      if (prepared) await this.d.snapshotter.remove(snapshotKey).catch(() => undefined);
      this.d.store.removeContainer(id);
      throw e;
    }
  }

  /** Unpacks an image once per engine: a pod start is then one snapshot `prepare`, not the image
   *  store's lease, per-layer checks and label write (2 s of a pod's start in a burst of 40). The
   *  layers stay while the image does (the image store's GC label); a stale answer is retried. */
  private unpack(imageId: string, fresh = false): Promise<string | undefined> {
    let p = fresh ? undefined : this.unpacked.get(imageId);
    if (!p) {
      const q = this.d.images.unpack(imageId);
      this.unpacked.set(imageId, q);
      q.catch(() => this.unpacked.get(imageId) === q && this.unpacked.delete(imageId));
      p = q;
    }
    return p;
  }

  async start(id: string): Promise<void> {
    const r = this.get(id);
    if (r.state !== 'CONTAINER_CREATED')
      throw failedPrecondition(`container ${r.id} is in state ${r.state}, not CONTAINER_CREATED`, {
        field: 'container_id',
      });
    const sb = this.d.sandboxes.get(r.sandboxId);
    if (!this.d.sandboxes.ready(sb))
      throw failedPrecondition(`pod sandbox ${sb.id} is not ready`, { field: 'pod_sandbox_id' });
    const rtid = this.rtId(r.id);
    const dir = this.d.store.containerDir(r.id);
    const tk = sb.config.metadata?.uid ?? sb.id;
    try {
      const rootfs = this.rootfs(r.id);
      let t0 = traceNow();
      if (await isMounted(rootfs)) {
        /* mounted by an earlier start */
      } else if (sb.userns) {
        const mounts = await this.d.snapshotter.mounts(r.snapshotKey);
        makeTraversable(rootfs, this.d.sandboxes.dir(sb.id));
        await mountSnapshotIdmapped(mounts, rootfs, sb.pid, sb.userns, join(dir, 'idmap'));
      } else await mountAll(await this.d.snapshotter.mounts(r.snapshotKey), rootfs);
      traceMark(tk, 'start.mount', t0);
      t0 = traceNow();
      const target = r.config.linux?.securityContext?.namespaceOptions?.targetId;
      const targetPid = target ? this.get(target).pid : undefined;
      const spec = buildCriSpec({
        config: { ...r.config, linux: { ...(r.config.linux ?? {}), resources: r.resources } },
        sandbox: sb,
        image: await this.d.imageConfig(r.imageId),
        rootfs,
        cgroupsPath: r.cgroup,
        etc: this.d.sandboxes.etc(sb.id),
        shmDir: this.d.sandboxes.shmDir(sb.id),
        targetPid,
        imageMounts: await this.volumes.binds(r.imageVolumes ?? []),
        privilegedSandbox: r.privilegedSandbox,
      });
      if (sb.userns) await idmapVolumes(spec, sb.pid, this.d.sandboxes.dir(sb.id), join(dir, 'idmap-volumes'));
      if (r.logPath) mkdirSync(dirname(r.logPath), { recursive: true });
      traceMark(tk, 'start.spec', t0);
      // clears a leftover of an earlier failed start; usually there is none
      await traced(tk, 'start.rtDelete', () => this.d.runtime.delete(rtid, { force: true }).catch(() => undefined));
      t0 = traceNow();
      await this.d.runtime.create(rtid, spec, {
        monitor: {
          logFile: r.logPath || undefined,
          logMaxSize: LOG_MAX_SIZE,
          logMaxFiles: LOG_MAX_FILES - 1,
          stdin: !!r.config.stdin,
        },
      });
      traceMark(tk, 'start.rtCreate', t0);
      await traced(tk, 'start.rtStart', () => this.d.runtime.start(rtid));
      t0 = traceNow();
      const st = this.d.runtime.state(rtid);
      const pu = spec.process!.user;
      r.user = { uid: pu.uid, gid: pu.gid, supplementalGroups: [...new Set([pu.gid, ...(pu.additionalGids ?? [])])] };
      r.pid = st.pid ?? 0;
      r.pidStartTime = startTimeOf(r.pid);
      r.startedAt = nowNs();
      r.state = 'CONTAINER_RUNNING';
      this.d.store.saveContainer(r);
      this.d.onEvent('STARTED', r);
      this.watch(r);
      traceMark(tk, 'start.save', t0);
    } catch (e) {
      r.state = 'CONTAINER_EXITED';
      r.exitCode = 128;
      r.reason = 'StartError';
      r.message = (e as Error).message;
      r.startedAt = r.startedAt || nowNs();
      r.finishedAt = nowNs();
      // the runtime state may not exist (the create failed); the start error is rethrown
      await this.d.runtime.delete(rtid, { force: true }).catch(() => undefined);
      await this.unmountRootfs(r.id);
      this.d.store.saveContainer(r);
      this.d.onEvent('STOPPED', r);
      throw e;
    }
  }

  /** Follows the container's exit (the runtime's waitExit); records how it ended. */
  watch(r: ContainerRecord): void {
    this.watches.get(r.id)?.abort();
    const ac = new AbortController();
    this.watches.set(r.id, ac);
    this.d.runtime.waitExit(this.rtId(r.id), { signal: ac.signal }).then(
      (ex) => this.exited(r, ex.exitCode, ex.oomKilled, isoToNs(ex.finishedAt)),
      (e) => {
        if (!ac.signal.aborted) {
          log.warn('lost the container monitor', { id: r.id, error: (e as Error).message });
          void this.exited(r, 255, false, nowNs(), 'the container monitor died without an exit status');
        }
      },
    );
  }

  private async exited(r: ContainerRecord, code: number, oom: boolean, at: number, message = ''): Promise<void> {
    this.watches.delete(r.id);
    if (r.state !== 'CONTAINER_RUNNING') return;
    r.exitCode = code;
    r.finishedAt = at;
    r.reason = oom ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error';
    r.message = message;
    r.state = 'CONTAINER_EXITED';
    r.pid = 0;
    this.d.store.saveContainer(r);
    // the process has exited: its runtime state may be gone already (removed by a racing stop)
    await this.d.runtime.delete(this.rtId(r.id), { force: true }).catch(() => undefined);
    await this.unmountRootfs(r.id);
    this.d.onEvent('STOPPED', r);
    for (const w of this.exitWaiters.get(r.id)?.splice(0) ?? []) w();
  }

  private waitExited(r: ContainerRecord, ms: number): Promise<boolean> {
    if (r.state !== 'CONTAINER_RUNNING') return Promise.resolve(true);
    return new Promise((resolve) => {
      const list = this.exitWaiters.get(r.id) ?? [];
      this.exitWaiters.set(r.id, list);
      const t = setTimeout(() => resolve(false), ms);
      list.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  private async unmountRootfs(id: string): Promise<void> {
    const rootfs = this.rootfs(id);
    if (await isMounted(rootfs))
      await unmount(rootfs).catch((e) => log.warn('unmount failed', { id, error: e.message }));
    await releaseIdmapped(join(this.d.store.containerDir(id), 'idmap-volumes'));
  }

  /** The stop signal: the config's, else the image's STOPSIGNAL, else SIGTERM. */
  private async stopSignal(r: ContainerRecord): Promise<string> {
    const s = r.config.stopSignal;
    const name = typeof s === 'number' ? Object.values(Signal)[s] : s;
    if (name && name !== 'SIGNAL_RUNTIME_DEFAULT') return name.replace(/^SIGNAL_/, '');
    // the image may have been removed since: fall back to the default stop signal
    const img = await this.d.imageConfig(r.imageId).catch(() => undefined);
    return img?.config?.StopSignal || 'SIGTERM';
  }

  async stop(id: string, timeoutSec: number): Promise<void> {
    const r = this.find(id);
    if (!r || r.state !== 'CONTAINER_RUNNING') return;
    const rtid = this.rtId(r.id);
    if (timeoutSec > 0) {
      // the process may have exited already: a kill of a gone container is no failure
      await this.d.runtime.kill(rtid, await this.stopSignal(r)).catch(() => undefined);
      if (await this.waitExited(r, timeoutSec * 1000)) return;
    }
    // escalation: the processes may be gone already; waitExited below judges the outcome
    await this.d.runtime.kill(rtid, 'SIGKILL', { all: true }).catch(() => undefined);
    await this.d.runtime.kill(rtid, 'SIGKILL').catch(() => undefined);
    if (!(await this.waitExited(r, 10_000))) {
      // The monitor should have reported by now; record what the kernel says.
      if (!isAlive(r.pid, r.pidStartTime)) {
        // no exit file (the monitor died with it): the record is completed with exit code 255
        const ex = await this.d.runtime.exitStatus(rtid).catch(() => undefined);
        await this.exited(r, ex?.exitCode ?? 137, ex?.oomKilled ?? false, isoToNs(ex?.finishedAt));
      } else throw failedPrecondition(`container ${r.id} did not stop after SIGKILL`);
    }
  }

  async remove(id: string): Promise<void> {
    const r = this.find(id);
    if (!r) return;
    if (r.state === 'CONTAINER_RUNNING') await this.stop(r.id, 0);
    r.removing = true;
    this.d.store.saveContainer(r);
    this.watches.get(r.id)?.abort();
    // removal: the runtime state may be gone already (the container exited and was reaped)
    await this.d.runtime.delete(this.rtId(r.id), { force: true }).catch(() => undefined);
    await this.unmountRootfs(r.id);
    await this.volumes.release(r.imageVolumes ?? []);
    await this.d.snapshotter.remove(r.snapshotKey).catch((e) => {
      if (!isSkiffError(e, 'NotFound')) throw e;
    });
    rmSync(this.d.store.containerDir(r.id), { recursive: true, force: true });
    this.byId.delete(r.id);
    const sb = this.d.sandboxes.find(r.sandboxId);
    if (sb?.config.metadata && this.names.get(this.nameKey(r.config, sb)) === r.id)
      this.names.delete(this.nameKey(r.config, sb));
    this.d.onEvent('DELETED', r);
  }

  /** Engine restart: re-attach to running containers, record the ones that ended meanwhile. */
  async restore(r: ContainerRecord): Promise<void> {
    this.adopt(r);
    if (r.removing) {
      await this.remove(r.id).catch((e) => log.warn('could not finish a removal', { id: r.id, error: e.message }));
      return;
    }
    if (r.state !== 'CONTAINER_RUNNING') return;
    if (isAlive(r.pid, r.pidStartTime)) {
      this.watch(r);
      return;
    }
    // no exit file (the monitor died with it): the record is completed with exit code 255
    const ex = await this.d.runtime.exitStatus(this.rtId(r.id)).catch(() => undefined);
    await this.exited(
      r,
      ex?.exitCode ?? 255,
      ex?.oomKilled ?? false,
      isoToNs(ex?.finishedAt),
      ex ? '' : 'the container ended while the engine was away',
    );
  }

  /** UpdateContainerResources: applied to the running container's cgroup and kept for its next start. */
  async updateResources(id: string, res: LinuxContainerResourcesInput): Promise<void> {
    const r = this.get(id);
    const merged = { ...r.resources };
    for (const [k, v] of Object.entries(res))
      if (v !== undefined && v !== null) (merged as Record<string, unknown>)[k] = v;
    if (r.state === 'CONTAINER_RUNNING') {
      const oci = resourcesToOci(merged);
      if (oci) await this.d.runtime.update(this.rtId(r.id), oci);
    }
    r.resources = merged;
    this.d.store.saveContainer(r);
  }

  /** ReopenContainerLog: the monitor reopens its log file (after kubelet renamed it). */
  async reopenLog(r: ContainerRecord): Promise<void> {
    await this.d.runtime.reopenLog(this.rtId(r.id));
    if (r.logPath) for (let i = 0; i < 100 && !existsSync(r.logPath); i++) await sleep(10);
  }

  close(): void {
    for (const w of this.watches.values()) w.abort();
    this.watches.clear();
  }

  async waitGone(r: ContainerRecord): Promise<void> {
    for (let i = 0; i < 100 && isAlive(r.pid, r.pidStartTime); i++) await sleep(20);
  }
}
