// The node agent (kubelet's role), composed: it registers its Node and keeps its status and Lease,
// hands the pod CIDR to the runtime, watches the Pods bound to it (spec.nodeName) and syncs each
// through a pod worker, learns of runtime changes through the PLEG, probes containers, rotates
// their logs, and cleans up after pods the API no longer has. It talks to the node's runtime only
// through ContainerRuntime. Stopping the agent leaves containers running; the next start adopts
// them from the runtime's labels (restart counts included).
import { createLogger, type Logger, sleep } from '../../common/index.js';
import type { ContainerRuntime } from '../../cri/index.js';
import { Informer, type KubeClient } from '../client/index.js';
import type { KubeObject } from '../api/index.js';
import type { AgentContext } from './context.js';
import { ApiEventRecorder } from './events.js';
import { rotateIfNeeded, type RotationPolicy } from './logs/rotate.js';
import { allocatable, nodeIP as defaultNodeIP } from './node/machine.js';
import { NodeStatus } from './node/node-status.js';
import { ObjectCache } from './objects.js';
import { Pleg } from './pleg.js';
import { SandboxIndex } from './sandbox-index.js';
import { Backoff } from './pods/backoff.js';
import type { ServiceInfo } from './pods/env.js';
import { ImagePuller } from './pods/images.js';
import { PodWorkers } from './pods/workers.js';
import { ProbeManager } from './probes/manager.js';
import { StatusManager } from './status-manager.js';
import type { Pod } from './types.js';
import { ApiClaims } from './volumes/claims.js';
import { VolumeManager } from './volumes/manager.js';
import { NodeServer } from './server/node-server.js';
import { StatsProvider } from './server/stats.js';
import { TokenManager } from './volumes/tokens.js';
import { startTraceProbe } from './trace-probe.js';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

export interface AgentOptions {
  /** API client with the node's identity (system:node:NAME in system:nodes). */
  client: KubeClient;
  /** Client for claims (reading StorageClasses, choosing this node for a claim); default `client`. */
  claimsClient?: KubeClient;
  runtime: ContainerRuntime;
  nodeName: string;
  /** The node's InternalIP (default: the address of the default route's interface). */
  nodeIP?: string;
  /** State (pods/<uid>/volumes, …): kubelet's --root-dir. */
  rootDir: string;
  /** Where pod logs go (default /var/log/pods). */
  podLogsDir?: string;
  /** The node's HTTPS server (kubelet's 10250): where to listen and its certificate (from the
   *  cluster CA, which also verifies callers' client certificates). Without it none is served. */
  server?: { host: string; port: number; cert: string; key: string; ca: string };
  controlPlane?: boolean;
  defaultPodCIDR?: string;
  clusterDomain?: string;
  clusterDNS?: string[];
  cgroupRoot?: string;
  resolvConf?: string;
  memoryBackedSecrets?: boolean;
  rotation?: RotationPolicy;
  /** Pods this node admits at most (kubelet's --max-pods, default 110): capacity and allocatable
   *  pods, and the limit of admission. */
  maxPods?: number;
  /** PLEG relist period (ms, default 2000). */
  relistMs?: number;
  /** Housekeeping period: orphans, log rotation, emptyDir limits (ms, default 10000). */
  housekeepingMs?: number;
  /** Node status period (nodeStatusUpdateFrequency, ms, default 10000). */
  nodeStatusMs?: number;
  log?: Logger;
}

export interface RunningAgent {
  nodeName: string;
  podCIDR: string;
  ctx: AgentContext;
  /** The node server's port (0 without a server). */
  port: number;
  workers: PodWorkers;
  pleg: Pleg;
  node: NodeStatus;
  /** The node's address moved (or, with `missing`, the configured one left the host): the
   *  Node's InternalIP and pods' hostIP follow (kubelet re-derives both on each sync). */
  setNodeAddress(ip: string, missing?: boolean): Promise<void>;
  /** A new serving certificate for the node's HTTPS server (new connections use it). */
  setServingCertificate(cert: string, key: string): void;
  stop(): Promise<void>;
}

type ServiceObj = KubeObject & { spec?: { clusterIP?: string; ports?: ServiceInfo['ports'] } };

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const log = o.log ?? createLogger({ component: 'agent' });
  const ip = o.nodeIP ?? defaultNodeIP();
  mkdirSync(o.rootDir, { recursive: true, mode: 0o750 });
  const podLogsDir = o.podLogsDir ?? '/var/log/pods';
  mkdirSync(podLogsDir, { recursive: true, mode: 0o755 });
  let workers: PodWorkers | undefined;
  const stats = new StatsProvider(o.runtime, o.nodeName, o.rootDir);
  let status: StatusManager | undefined;
  const nodeServer = o.server
    ? new NodeServer({
        host: o.server.host,
        port: o.server.port,
        tls: { cert: o.server.cert, key: o.server.key, ca: o.server.ca },
        nodeName: o.nodeName,
        client: o.client,
        runtime: o.runtime,
        stats,
        pods: () => workers?.list() ?? [],
        status: (uid) => status?.get(uid),
        log,
      })
    : undefined;
  const port = nodeServer ? await nodeServer.listen() : 10250;
  const events = new ApiEventRecorder(o.client, o.nodeName, log);
  const node = new NodeStatus(
    o.client,
    o.runtime,
    {
      name: o.nodeName,
      ip,
      root: o.rootDir,
      port,
      controlPlane: o.controlPlane ?? false,
      defaultPodCIDR: o.defaultPodCIDR ?? '10.42.0.0/24',
      updateMs: o.nodeStatusMs,
      maxPods: o.maxPods ?? 110,
    },
    log,
    events,
  );
  const podCIDR = await node.register();
  await o.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr: podCIDR } } });
  const version = await o.runtime.version({});
  const driver =
    // a runtime without RuntimeConfig (older CRI) implies the cgroupfs driver
    (await o.runtime.runtimeConfig({}).catch(() => undefined))?.linux?.cgroupDriver === 'SYSTEMD'
      ? 'systemd'
      : 'cgroupfs';
  const objects = new ObjectCache(o.client, log, (_key, users) => {
    for (const uid of users) workers?.enqueue(uid);
  });
  const services = new Informer<ServiceObj>(
    o.client,
    { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true },
    {},
    { log },
  );
  const svcInfo = (s: ServiceObj): ServiceInfo => ({
    name: s.metadata.name ?? '',
    clusterIP: s.spec?.clusterIP,
    ports: s.spec?.ports,
  });
  const tokens = new TokenManager(o.client);
  status = new StatusManager(o.client, log);
  const probes = new ProbeManager(
    o.runtime,
    events,
    (uid) => workers?.get(uid),
    (uid) => status?.get(uid)?.podIP,
    (uid) => workers?.enqueue(uid),
  );
  const m = node.info;
  const ctx: AgentContext = {
    nodeName: o.nodeName,
    runtime: o.runtime,
    runtimeName: version.runtimeName,
    client: o.client,
    log,
    events,
    objects,
    volumes: new VolumeManager({
      root: o.rootDir,
      claims: new ApiClaims(o.claimsClient ?? o.client, o.nodeName),
      memoryBackedSecrets: o.memoryBackedSecrets,
    }),
    images: new ImagePuller(o.runtime, events),
    probes,
    status,
    tokens,
    crashBackoff: new Backoff(),
    sandboxes: new SandboxIndex(),
    sandbox: {
      podLogsDir,
      cgroupDriver: driver,
      cgroupRoot: o.cgroupRoot ?? '/kubepods',
      seccompRoot: join(o.rootDir, 'seccomp'),
      clusterDomain: o.clusterDomain ?? 'cluster.local',
      clusterDNS: o.clusterDNS ?? [],
      resolvConf: o.resolvConf ?? '/etc/resolv.conf',
    },
    node: { hostIPs: [ip], memoryCapacity: m.memoryBytes, allocatable: allocatable(m), maxPods: o.maxPods ?? 110 },
    services(namespace) {
      const all = services.list();
      const master = all.find((s) => s.metadata.namespace === 'default' && s.metadata.name === 'kubernetes');
      return {
        local: all.filter((s) => s.metadata.namespace === namespace).map(svcInfo),
        master: master ? svcInfo(master) : undefined,
      };
    },
    pod: (uid) => workers?.get(uid),
  };
  const w = new PodWorkers(ctx);
  workers = w;
  const pods = new Informer<Pod>(
    o.client,
    { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
    {
      add: (p) => w.update(p),
      update: (_, p) => w.update(p),
      delete: (p) => w.remove(p),
    },
    { fieldSelector: `spec.nodeName=${o.nodeName}`, log },
  );
  await services.start();
  await pods.start();
  // Nothing is cleaned up before the first list of this node's pods arrived: a pod missing from
  // an unsynced cache would look deleted and be killed.
  while (!pods.hasSynced) await sleep(200);
  const pleg = new Pleg(o.runtime, (uid) => w.enqueue(uid), log, o.relistMs, ctx.sandboxes);
  await pleg.start();
  w.start();
  node.start();
  stats.start();
  const stopProbe = startTraceProbe(o.rootDir);
  // Log paths of running containers (asked once per container).
  const logPaths = new Map<string, string>();
  const housekeeping = setInterval(() => {
    void (async () => {
      // Pod directories of pods neither the API nor the runtime has any more.
      const known = new Set([...w.list().map((p) => p.metadata.uid), ...pleg.runtimePods]);
      for (const uid of ctx.volumes.podUids()) if (!known.has(uid)) w.enqueue(uid);
      ctx.crashBackoff.gc();
      // emptyDir sizeLimit, as kubelet's eviction manager enforces it (local storage isolation).
      for (const p of w.list()) {
        if (p.metadata.deletionTimestamp || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
        const over = ctx.volumes.overLimit(p);
        if (over)
          w.evict(
            p.metadata.uid,
            `Usage of EmptyDir volume "${over.name}" exceeds the limit "${p.spec.volumes?.find((v) => v.name === over.name)?.emptyDir?.sizeLimit}". `,
          );
      }
      try {
        const running = await o.runtime.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } });
        const live = new Set(running.containers.map((c) => c.id));
        for (const id of logPaths.keys()) if (!live.has(id)) logPaths.delete(id);
        for (const c of running.containers) {
          let path = logPaths.get(c.id);
          if (path === undefined) {
            path = (await o.runtime.containerStatus({ containerId: c.id })).status?.logPath ?? '';
            logPaths.set(c.id, path);
          }
          if (path) await rotateIfNeeded(o.runtime, c.id, path, o.rotation);
        }
      } catch (e) {
        log.debug('log rotation failed', { error: String(e) });
      }
    })();
  }, o.housekeepingMs ?? 10_000);
  housekeeping.unref();
  log.info('node agent started', {
    node: o.nodeName,
    podCIDR,
    runtime: `${version.runtimeName} ${version.runtimeVersion}`,
  });
  return {
    nodeName: o.nodeName,
    podCIDR,
    ctx,
    port: nodeServer ? port : 0,
    workers: w,
    pleg,
    node,
    async setNodeAddress(addr, missing = false) {
      // The workers read this array when they compute a pod's status: changed in place.
      if (!missing) ctx.node.hostIPs.splice(0, ctx.node.hostIPs.length, addr);
      await node.setAddress(addr, missing);
    },
    setServingCertificate(cert, key) {
      nodeServer?.setCertificate(cert, key);
    },
    async stop() {
      clearInterval(housekeeping);
      stopProbe();
      node.stop();
      stats.stop();
      await nodeServer?.close();
      pleg.stop();
      pods.stop();
      services.stop();
      w.stop();
      probes.stop();
      objects.stop();
      await status.flush(2000);
      status.stop();
      await events.flush(2000);
      events.stop();
    },
  };
}
