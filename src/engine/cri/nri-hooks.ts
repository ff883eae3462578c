// Where NRI hooks into the engine's CRI: RunPodSandbox and CreateContainer end in the plugins'
// hooks (the sandbox or container becomes visible only when they answered; an error undoes it),
// StartContainer waits for the StartContainer hook, StopPodSandbox calls its hook between stopping
// the containers and the pause process, and the rest (PostCreate, PostStart, StopContainer — also
// for a container that exited by itself —, RemoveContainer, RemovePodSandbox) are notifications in
// order. Plugins' container updates and evictions go through UpdateContainerResources and stop.
import { failedPrecondition } from '../../common/index.js';
import { Nri, type NriContainerEviction, type NriContainerUpdate, type NriPodSandbox } from '../../nri/index.js';
import type { Containers } from './containers.js';
import { adjustConfig, criResources, nriContainer, nriPod, unsupportedAdjustments } from './nri.js';
import type { ContainerRecord, RecordStore, SandboxRecord } from './records.js';
import type { Sandboxes } from './sandboxes.js';
import { createLogger } from '../../common/index.js';

const log = createLogger({ component: 'engine.cri.nri' });

export interface NriConfig {
  /** Where plugins connect (containerd's /var/run/nri/nri.sock when empty). */
  socket?: string;
  registrationTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface CriNriDeps {
  store: RecordStore;
  /** Late-bound: the sandboxes and containers are made with this class's admit hooks. */
  sandboxes(): Sandboxes;
  containers(): Containers;
  runtimeName: string;
  runtimeVersion: string;
}

export class CriNri {
  readonly nri: Nri;

  constructor(
    o: NriConfig,
    private readonly d: CriNriDeps,
  ) {
    this.nri = new Nri(
      { ...o, runtimeName: d.runtimeName, runtimeVersion: d.runtimeVersion },
      {
        snapshot: () => ({
          pods: [...d.sandboxes().byId.values()].map((sb) => nriPod(sb)),
          containers: [...d.containers().byId.values()].filter((c) => !c.removing).map(nriContainer),
        }),
        updateContainers: (u) => this.updates(u),
        evictContainer: (e) => this.evict(e),
      },
    );
  }

  start(): Promise<void> {
    return this.nri.start();
  }
  stop(): Promise<void> {
    return this.nri.stop();
  }

  /** Sandboxes' admit: the RunPodSandbox hook, then visible. */
  admitSandbox = (rec: SandboxRecord, commit: () => void): Promise<void> => this.nri.runPodSandbox(nriPod(rec), commit);

  /** Containers' admit: the CreateContainer hook; its adjustments applied (or refused), then visible. */
  admitContainer = (rec: ContainerRecord, sb: SandboxRecord, commit: () => void): Promise<void> =>
    this.nri.createContainer(nriPod(sb), nriContainer(rec), (res) => {
      let config = rec.config;
      for (const a of res.adjustments) config = adjustConfig(config, a.adjust, a.plugin);
      if (config !== rec.config) {
        rec.config = config;
        rec.resources = config.linux?.resources ?? {};
        this.d.store.saveContainer(rec);
      }
      commit();
    });

  private pod(r: ContainerRecord): NriPodSandbox {
    return nriPod(this.d.sandboxes().find(r.sandboxId), r.sandboxId);
  }

  /** The containers' lifecycle notifications (queued in order; not awaited by the CRI call). */
  containerEvent(kind: 'CREATED' | 'STARTED' | 'STOPPED' | 'DELETED', r: ContainerRecord): void {
    if (kind === 'STOPPED') void this.nri.stopContainer(this.pod(r), nriContainer(r));
    else if (kind === 'DELETED') void this.nri.removeContainer(this.pod(r), nriContainer(r));
  }

  postCreate(r: ContainerRecord): void {
    void this.nri.postCreateContainer(this.pod(r), nriContainer(r));
  }

  /** Before a container's start: the StartContainer hook (a plugin's error fails the start). */
  async beforeStart(r: ContainerRecord): Promise<void> {
    const sb = this.d.sandboxes().find(r.sandboxId);
    // only for a start that can happen: containers.start answers the others with their reason
    if (r.state === 'CONTAINER_CREATED' && sb && this.d.sandboxes().ready(sb))
      await this.nri.startContainer(nriPod(sb), nriContainer(r));
  }

  postStart(r: ContainerRecord): void {
    void this.nri.postStartContainer(this.pod(r), nriContainer(r));
  }

  stopPodSandbox(sb: SandboxRecord): Promise<void> {
    return this.nri.stopPodSandbox(nriPod(sb));
  }
  removePodSandbox(pod: NriPodSandbox): Promise<void> {
    return this.nri.removePodSandbox(pod);
  }

  /** Plugins' container updates: the CPU/memory resources UpdateContainerResources takes; returns
   *  the ones that failed (those marked ignore_failure are not reported). */
  private async updates(updates: NriContainerUpdate[]): Promise<NriContainerUpdate[]> {
    const failed: NriContainerUpdate[] = [];
    for (const u of updates) {
      const res = u.linux?.resources;
      try {
        const bad = res ? unsupportedAdjustments({ linux: { resources: res } }) : [];
        if (bad.length) throw failedPrecondition(`not applied: ${bad.join(', ')}`);
        if (res) await this.d.containers().updateResources(u.containerId ?? '', criResources(res));
      } catch (e) {
        log.warn('NRI container update failed', { id: u.containerId, error: (e as Error).message });
        if (!u.ignoreFailure) failed.push(u);
      }
    }
    return failed;
  }

  private async evict(e: NriContainerEviction): Promise<void> {
    log.info('NRI plugin evicts a container', { id: e.containerId, reason: e.reason });
    await this.d.containers().stop(e.containerId ?? '', 0);
  }
}
