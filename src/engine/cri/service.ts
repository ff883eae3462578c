// The engine's implementation of ContainerRuntime (CRI RuntimeService + ImageService), built from
// the engine's own image store, snapshotter, OCI runtime and src/network, so `docker build` images
// run in pods with no import step. Sandboxes, containers, exec, stats, events and images live in
// their own modules; this class validates requests, composes the answers and emits events.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, failedPrecondition, invalidArgument } from '../../common/index.js';
import type * as cri from '../../cri/index.js';
import type { ContainerRuntime } from '../../cri/index.js';
import { Runtime } from '../../runtime/index.js';
import type { EngineContext } from '../services/context.js';
import { Containers } from './containers.js';
import { containerItem, containerStatus, podSandboxItem, podSandboxStatus } from './convert.js';
import { ContainerEvents } from './events.js';
import { execSync, streamAttach, streamExec } from './exec.js';
import { CriImages, type CriImageBackend } from './images.js';
import { PodNetwork } from './pod-network.js';
import { RecordStore, type ContainerRecord } from './records.js';
import { Sandboxes } from './sandboxes.js';
import { StatsCollector } from './stats.js';
import { MetricsCollector, metricDescriptors } from './metrics.js';
import { containerStateOf, int64, matchesLabels, nowNs, sandboxStateOf } from './types.js';
import { RRO_SUPPORTED } from './oci-spec.js';
import { USERNS_SUPPORTED } from './userns.js';
import { Streams, type StreamUrls } from './streams.js';
import type { StreamIO } from '../../streaming/index.js';
import { nriPod } from './nri.js';
import { CriNri, type NriConfig } from './nri-hooks.js';
import type { SandboxRecord } from './records.js';

const log = createLogger({ component: 'engine.cri' });
export const CRI_RUNTIME_NAME = 'skiff';
export const CRI_API_VERSION = 'v1';

export interface CriOptions {
  /** Pod CIDR until UpdateRuntimeConfig gives one (default 10.42.0.0/24). */
  podCidr?: string;
  /** Pod bridge interface (default skiff-pods0) and iptables chain prefix (default SKIFF-POD). */
  bridge?: string;
  chainPrefix?: string;
  /** Parent of default pod cgroups (default /kubepods). */
  cgroupRoot?: string;
  /** Where the streaming server listens (default 127.0.0.1:0). */
  streamingAddress?: string;
  /** MTU of the pod bridge and veths (default 1500; an overlay's is the link's minus its header). */
  mtu?: number;
  /** NRI: plugins connect on `socket` (containerd's /var/run/nri/nri.sock when empty); absent: no
   *  NRI. Timeouts default to NRI's (registration 5 s, request 2 s). */
  nri?: NriConfig;
}

export class EngineCri implements ContainerRuntime {
  readonly store: RecordStore;
  readonly network: PodNetwork;
  readonly sandboxes: Sandboxes;
  readonly containers: Containers;
  readonly events = new ContainerEvents();
  readonly images: CriImages;
  readonly runtime: Runtime;
  private readonly stats: StatsCollector;
  private readonly metrics: MetricsCollector;
  private readonly scratch: string;
  readonly streams: Streams;
  /** NRI's runtime side when enabled (CriOptions.nri). */
  readonly nri?: CriNri;
  /** StopPodSandbox in flight per sandbox: a concurrent stop waits for it (one NRI event). */
  private readonly stopping = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: EngineContext,
    backend: CriImageBackend,
    execRoot: string,
    private readonly o: CriOptions = {},
  ) {
    const root = join(ctx.root, 'cri');
    this.store = new RecordStore(root);
    this.runtime = new Runtime({ root: join(execRoot, 'cri') });
    this.scratch = join(execRoot, 'cri-exec');
    mkdirSync(this.scratch, { recursive: true });
    this.network = new PodNetwork({
      stateDir: join(root, 'network'),
      bridge: o.bridge ?? 'skiff-pods0',
      chainPrefix: o.chainPrefix ?? 'SKIFF-POD',
      defaultCidr: o.podCidr ?? '10.42.0.0/24',
      mtu: o.mtu,
    });
    const nri = o.nri
      ? new CriNri(o.nri, {
          store: this.store,
          sandboxes: () => this.sandboxes,
          containers: () => this.containers,
          runtimeName: CRI_RUNTIME_NAME,
          runtimeVersion: ctx.info.version,
        })
      : undefined;
    this.nri = nri;
    this.sandboxes = new Sandboxes({
      store: this.store,
      network: this.network,
      cgroupRoot: o.cgroupRoot ?? '/kubepods',
      admit: nri?.admitSandbox,
    });
    this.images = new CriImages(backend, ctx.imageStore, ctx.root);
    this.containers = new Containers({
      store: this.store,
      sandboxes: this.sandboxes,
      runtime: this.runtime,
      snapshotter: ctx.snapshotter,
      images: ctx.images,
      imageConfig: async (id) => (await ctx.images.resolve(id)).config,
      imageRef: (id, asked) => this.images.refOf(id, asked),
      onEvent: (kind, r) => this.emit(kind, r),
      admit: nri?.admitContainer,
    });
    this.stats = new StatsCollector(ctx.snapshotter, ctx.root, (r) => this.runtime.stats(this.containers.rtId(r.id)));
    this.metrics = new MetricsCollector(ctx.snapshotter, ctx.root);
    this.streams = new Streams(this, o.streamingAddress ?? '127.0.0.1:0');
  }

  /** Loads the records, adopts running sandboxes and containers, starts the streaming server. */
  async start(): Promise<void> {
    await this.network.init();
    const { sandboxes, containers, partial } = this.store.load();
    for (const p of partial) log.warn('discarding a record-less directory', p);
    for (const s of sandboxes) this.sandboxes.adopt(s);
    for (const c of containers) await this.containers.restore(c);
    await this.streams.start();
    await this.nri?.start();
  }

  async close(): Promise<void> {
    await this.nri?.stop();
    this.containers.close();
    await this.streams.close();
    await this.network.close();
  }

  private emit(kind: 'CREATED' | 'STARTED' | 'STOPPED' | 'DELETED', r: ContainerRecord): void {
    const sb = this.sandboxes.find(r.sandboxId);
    this.nri?.containerEvent(kind, r);
    if (!this.events.subscribers) return;
    this.events.emit({
      containerId: r.id,
      containerEventType: `CONTAINER_${kind}_EVENT`,
      createdAt: nowNs(),
      podSandboxStatus: sb ? podSandboxStatus(sb, this.sandboxes.ready(sb)) : null,
      containersStatuses: sb ? this.containers.inSandbox(sb.id).map(containerStatus) : [containerStatus(r)],
    });
  }

  // ---- runtime info ----
  async version(_req: cri.VersionRequestInput): Promise<cri.VersionResponse> {
    return {
      version: '0.1.0',
      runtimeName: CRI_RUNTIME_NAME,
      runtimeVersion: this.ctx.info.version,
      runtimeApiVersion: CRI_API_VERSION,
    };
  }

  async status(req: cri.StatusRequestInput): Promise<cri.StatusResponse> {
    return {
      status: {
        conditions: [
          { type: 'RuntimeReady', status: true, reason: '', message: '' },
          { type: 'NetworkReady', status: true, reason: '', message: '' },
        ],
      },
      info: req.verbose ? { config: JSON.stringify({ podCidr: this.network.podCidr, runtime: CRI_RUNTIME_NAME }) } : {},
      runtimeHandlers: [
        { name: '', features: { recursiveReadOnlyMounts: RRO_SUPPORTED, userNamespaces: USERNS_SUPPORTED } },
      ],
      features: { supplementalGroupsPolicy: true, userNamespacesHostNetwork: false, mountOptions: false },
    };
  }

  async runtimeConfig(_req: cri.RuntimeConfigRequestInput): Promise<cri.RuntimeConfigResponse> {
    return { linux: { cgroupDriver: 'CGROUPFS' } };
  }

  async updateRuntimeConfig(req: cri.UpdateRuntimeConfigRequestInput): Promise<cri.UpdateRuntimeConfigResponse> {
    const cidr = req.runtimeConfig?.networkConfig?.podCidr;
    if (cidr) await this.network.setCidr(cidr.split(',')[0].trim());
    return {};
  }

  // ---- sandboxes ----
  async runPodSandbox(req: cri.RunPodSandboxRequestInput): Promise<cri.RunPodSandboxResponse> {
    if (!req.config) throw invalidArgument('config is required', { field: 'config' });
    if (req.runtimeHandler)
      throw invalidArgument(`runtime handler "${req.runtimeHandler}" is not supported`, { field: 'runtime_handler' });
    return { podSandboxId: await this.sandboxes.run(req.config, req.runtimeHandler ?? '') };
  }

  async stopPodSandbox(req: cri.StopPodSandboxRequestInput): Promise<cri.StopPodSandboxResponse> {
    const sb = this.sandboxes.find(req.podSandboxId ?? '');
    if (sb) await this.stopSandbox(sb);
    return {};
  }

  /** Containers first, then NRI's StopPodSandbox (once: only a ready sandbox has it; the sandbox is
   *  still there during the hook), then the pause process and the network. */
  private stopSandbox(sb: SandboxRecord): Promise<void> {
    let p = this.stopping.get(sb.id);
    if (!p) {
      p = (async () => {
        for (const c of this.containers.inSandbox(sb.id)) await this.containers.stop(c.id, 0);
        if (this.nri && sb.state === 'SANDBOX_READY') await this.nri.stopPodSandbox(sb);
        await this.sandboxes.stop(sb);
      })().finally(() => this.stopping.delete(sb.id));
      this.stopping.set(sb.id, p);
    }
    return p;
  }

  async removePodSandbox(req: cri.RemovePodSandboxRequestInput): Promise<cri.RemovePodSandboxResponse> {
    const sb = this.sandboxes.find(req.podSandboxId ?? '');
    if (!sb) return {};
    for (const c of this.containers.inSandbox(sb.id)) await this.containers.remove(c.id);
    if (sb.state === 'SANDBOX_READY' || sb.pid) await this.stopSandbox(sb);
    const pod = nriPod(sb);
    await this.sandboxes.remove(sb);
    this.stats.forget(sb.podCgroup);
    await this.nri?.removePodSandbox(pod);
    return {};
  }

  async podSandboxStatus(req: cri.PodSandboxStatusRequestInput): Promise<cri.PodSandboxStatusResponse> {
    const sb = this.sandboxes.get(req.podSandboxId ?? '');
    const ready = this.sandboxes.ready(sb);
    return {
      status: podSandboxStatus(sb, ready),
      info: req.verbose
        ? {
            info: JSON.stringify({
              pid: sb.pid,
              config: sb.config,
              runtimeSpec: { cgroupsPath: sb.cgroup, podCgroup: sb.podCgroup },
              network: { ip: sb.ip ?? '', podCidr: this.network.podCidr },
            }),
          }
        : {},
      containersStatuses: this.containers.inSandbox(sb.id).map(containerStatus),
      timestamp: nowNs(),
    };
  }

  async listPodSandbox(req: cri.ListPodSandboxRequestInput): Promise<cri.ListPodSandboxResponse> {
    const f = req.filter;
    const want = f?.state ? sandboxStateOf(f.state.state ?? 0) : undefined;
    const items = [...this.sandboxes.byId.values()]
      .filter((s) => !f?.id || s.id === f.id || s.id.startsWith(f.id))
      .map((s) => podSandboxItem(s, this.sandboxes.ready(s)))
      .filter((s) => !want || s.state === want)
      .filter((s) => matchesLabels(s.labels, f?.labelSelector));
    return { items };
  }

  // ---- containers ----
  async createContainer(req: cri.CreateContainerRequestInput): Promise<cri.CreateContainerResponse> {
    if (!req.config) throw invalidArgument('config is required', { field: 'config' });
    const id = await this.containers.create(req.podSandboxId ?? '', req.config, req.sandboxConfig);
    this.nri?.postCreate(this.containers.get(id));
    return { containerId: id };
  }

  async startContainer(req: cri.StartContainerRequestInput): Promise<cri.StartContainerResponse> {
    const c = this.containers.get(req.containerId ?? '');
    await this.nri?.beforeStart(c);
    await this.containers.start(c.id);
    this.nri?.postStart(c);
    return {};
  }

  async stopContainer(req: cri.StopContainerRequestInput): Promise<cri.StopContainerResponse> {
    await this.containers.stop(req.containerId ?? '', int64(req.timeout));
    return {};
  }

  async removeContainer(req: cri.RemoveContainerRequestInput): Promise<cri.RemoveContainerResponse> {
    await this.containers.remove(req.containerId ?? '');
    return {};
  }

  async listContainers(req: cri.ListContainersRequestInput): Promise<cri.ListContainersResponse> {
    const f = req.filter;
    const want = f?.state ? containerStateOf(f.state.state ?? 0) : undefined;
    const containers = [...this.containers.byId.values()]
      .filter((c) => !c.removing)
      .filter((c) => !f?.id || c.id === f.id || c.id.startsWith(f.id))
      .filter((c) => !f?.podSandboxId || c.sandboxId === f.podSandboxId || c.sandboxId.startsWith(f.podSandboxId))
      .filter((c) => !want || c.state === want)
      .filter((c) => matchesLabels(c.config.labels, f?.labelSelector))
      .map(containerItem);
    return { containers };
  }

  async containerStatus(req: cri.ContainerStatusRequestInput): Promise<cri.ContainerStatusResponse> {
    const c = this.containers.get(req.containerId ?? '');
    return {
      status: containerStatus(c),
      info: req.verbose
        ? { info: JSON.stringify({ sandboxID: c.sandboxId, pid: c.pid, config: c.config, snapshotKey: c.snapshotKey }) }
        : {},
    };
  }

  async updateContainerResources(
    req: cri.UpdateContainerResourcesRequestInput,
  ): Promise<cri.UpdateContainerResourcesResponse> {
    await this.containers.updateResources(req.containerId ?? '', req.linux ?? {});
    return {};
  }

  async reopenContainerLog(req: cri.ReopenContainerLogRequestInput): Promise<cri.ReopenContainerLogResponse> {
    const c = this.containers.get(req.containerId ?? '');
    if (c.state !== 'CONTAINER_RUNNING') throw failedPrecondition(`container ${c.id} is not running`);
    await this.containers.reopenLog(c);
    return {};
  }

  // ---- exec / attach / port-forward ----
  private running(id: string): ContainerRecord {
    const c = this.containers.get(id);
    if (c.state !== 'CONTAINER_RUNNING')
      throw failedPrecondition(`container ${c.id} is not running`, { field: 'container_id' });
    return c;
  }

  async execSync(req: cri.ExecSyncRequestInput): Promise<cri.ExecSyncResponse> {
    const c = this.running(req.containerId ?? '');
    const r = await execSync(this.runtime, this.containers.rtId(c.id), req.cmd ?? [], int64(req.timeout), this.scratch);
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  }

  async exec(req: cri.ExecRequestInput): Promise<cri.ExecResponse> {
    const c = this.running(req.containerId ?? '');
    if (!req.cmd?.length) throw invalidArgument('cmd is required', { field: 'cmd' });
    if (!req.stdin && !req.stdout && !req.stderr)
      throw invalidArgument('one of stdin, stdout and stderr must be set', { field: 'stdin' });
    const url = this.streams.urls().exec({
      containerId: c.id,
      cmd: req.cmd,
      tty: !!req.tty,
      stdin: !!req.stdin,
      stdout: !!req.stdout,
      stderr: !!req.stderr && !req.tty,
    });
    return { url };
  }

  async attach(req: cri.AttachRequestInput): Promise<cri.AttachResponse> {
    const c = this.running(req.containerId ?? '');
    if (!req.stdin && !req.stdout && !req.stderr)
      throw invalidArgument('one of stdin, stdout and stderr must be set', { field: 'stdin' });
    const tty = !!c.config.tty;
    return {
      url: this.streams.urls().attach({
        containerId: c.id,
        tty,
        stdin: !!req.stdin,
        stdout: !!req.stdout,
        stderr: !!req.stderr && !tty,
      }),
    };
  }

  async portForward(req: cri.PortForwardRequestInput): Promise<cri.PortForwardResponse> {
    const sb = this.sandboxes.get(req.podSandboxId ?? '');
    if (!this.sandboxes.ready(sb)) throw failedPrecondition(`pod sandbox ${sb.id} is not ready`);
    return { url: this.streams.urls().portForward({ podSandboxId: sb.id, ports: (req.port ?? []).map(Number) }) };
  }

  /** The streaming server's sessions (see streams.ts). */
  execStream(containerId: string, cmd: string[], io: StreamIO): Promise<number> {
    const c = this.running(containerId);
    return streamExec(this.runtime, this.containers.rtId(c.id), cmd, io);
  }

  async attachStream(containerId: string, io: StreamIO): Promise<void> {
    const c = this.running(containerId);
    await streamAttach(this.runtime, this.containers.rtId(c.id), io, !!c.config.stdin);
  }

  sandboxForForward(podSandboxId: string) {
    const sb = this.sandboxes.get(podSandboxId);
    if (!this.sandboxes.ready(sb)) throw failedPrecondition(`pod sandbox ${sb.id} is not ready`);
    return sb;
  }

  // ---- stats ----
  async containerStats(req: cri.ContainerStatsRequestInput): Promise<cri.ContainerStatsResponse> {
    return { stats: await this.stats.container(this.containers.get(req.containerId ?? '')) };
  }

  async listContainerStats(req: cri.ListContainerStatsRequestInput): Promise<cri.ListContainerStatsResponse> {
    const f = req.filter;
    const list = [...this.containers.byId.values()]
      .filter((c) => !c.removing && c.state !== 'CONTAINER_EXITED')
      .filter((c) => !f?.id || c.id === f.id || c.id.startsWith(f.id))
      .filter((c) => !f?.podSandboxId || c.sandboxId === f.podSandboxId || c.sandboxId.startsWith(f.podSandboxId))
      .filter((c) => matchesLabels(c.config.labels, f?.labelSelector));
    return { stats: await Promise.all(list.map((c) => this.stats.container(c))) };
  }

  async podSandboxStats(req: cri.PodSandboxStatsRequestInput): Promise<cri.PodSandboxStatsResponse> {
    const sb = this.sandboxes.get(req.podSandboxId ?? '');
    return { stats: await this.sandboxStats(sb.id) };
  }

  private async sandboxStats(id: string) {
    const sb = this.sandboxes.get(id);
    const cs = await Promise.all(
      this.containers
        .inSandbox(sb.id)
        .filter((c) => c.state === 'CONTAINER_RUNNING')
        .map((c) => this.stats.container(c)),
    );
    return this.stats.sandbox(sb, this.sandboxes.ready(sb), cs);
  }

  async listPodSandboxStats(req: cri.ListPodSandboxStatsRequestInput): Promise<cri.ListPodSandboxStatsResponse> {
    const f = req.filter;
    const list = [...this.sandboxes.byId.values()]
      .filter((s) => this.sandboxes.ready(s))
      .filter((s) => !f?.id || s.id === f.id || s.id.startsWith(f.id))
      .filter((s) => matchesLabels(s.config.labels, f?.labelSelector));
    return { stats: await Promise.all(list.map((s) => this.sandboxStats(s.id))) };
  }

  async listMetricDescriptors(_req: cri.ListMetricDescriptorsRequestInput): Promise<cri.ListMetricDescriptorsResponse> {
    return { descriptors: metricDescriptors() };
  }

  async listPodSandboxMetrics(_req: cri.ListPodSandboxMetricsRequestInput): Promise<cri.ListPodSandboxMetricsResponse> {
    const ready = [...this.sandboxes.byId.values()].filter((s) => this.sandboxes.ready(s));
    return { podMetrics: await Promise.all(ready.map((s) => this.metrics.pod(s, this.containers.inSandbox(s.id)))) };
  }

  getContainerEvents(_req: cri.GetEventsRequestInput, signal: AbortSignal): AsyncIterable<cri.ContainerEventResponse> {
    return this.events.stream(signal);
  }

  // ---- images ----
  listImages(req: cri.ListImagesRequestInput) {
    return this.images.listImages(req);
  }
  imageStatus(req: cri.ImageStatusRequestInput) {
    return this.images.imageStatus(req);
  }
  pullImage(req: cri.PullImageRequestInput) {
    return this.images.pullImage(req);
  }
  removeImage(req: cri.RemoveImageRequestInput) {
    return this.images.removeImage(req);
  }
  imageFsInfo(_req: cri.ImageFsInfoRequestInput) {
    return this.images.imageFsInfo();
  }
}

export type { StreamUrls };
