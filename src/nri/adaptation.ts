// The runtime side of NRI (what github.com/containerd/nri's pkg/adaptation does for containerd and
// CRI-O): a unix socket external plugins connect to, their registration, configuration and
// synchronization with the pods and containers that exist, and the relay of each pod and container
// lifecycle event to every subscribed plugin in index order. Every relay and every synchronization
// runs under one lock, in arrival order, so a plugin sees a consistent sequence: an object is in its
// Synchronize set or reaches it as an event, never neither. A relay's `commit` (making the pod or
// container visible) runs inside the same lock, after the plugins answered.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { createLogger, failedPrecondition, unavailable } from '../common/index.js';
import { Plugin, type PluginHost } from './plugin.js';
import { TtrpcError } from './ttrpc.js';
import {
  NriEvent,
  type NriContainer,
  type NriContainerAdjustment,
  type NriContainerEviction,
  type NriContainerUpdate,
  type NriCreateResult,
  type NriPodSandbox,
} from './types.js';

const log = createLogger({ component: 'nri' });

/** NRI's defaults (pkg/api/timeouts.go). */
export const DEFAULT_REGISTRATION_TIMEOUT_MS = 5000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;
export const DEFAULT_NRI_SOCKET = '/var/run/nri/nri.sock';

export interface NriOptions {
  socket?: string;
  registrationTimeoutMs?: number;
  requestTimeoutMs?: number;
  runtimeName: string;
  runtimeVersion: string;
}

/** What the adaptation needs from the runtime. */
export interface NriRuntime {
  /** The pods and containers that exist (visible ones), for a new plugin's Synchronize. */
  snapshot(): { pods: NriPodSandbox[]; containers: NriContainer[] };
  /** Unsolicited or reply-carried container updates; returns the ones that failed. */
  updateContainers(updates: NriContainerUpdate[]): Promise<NriContainerUpdate[]>;
  /** A plugin asked to stop a container. */
  evictContainer(e: NriContainerEviction): Promise<void>;
}

const EVENT_CALLS: Record<number, [method: string, req: string, res: string]> = {
  [NriEvent.RunPodSandbox]: ['RunPodSandbox', 'RunPodSandboxRequest', 'RunPodSandboxResponse'],
  [NriEvent.StopPodSandbox]: ['StopPodSandbox', 'StopPodSandboxRequest', 'StopPodSandboxResponse'],
  [NriEvent.RemovePodSandbox]: ['RemovePodSandbox', 'RemovePodSandboxRequest', 'RemovePodSandboxResponse'],
  [NriEvent.CreateContainer]: ['CreateContainer', 'CreateContainerRequest', 'CreateContainerResponse'],
  [NriEvent.PostCreateContainer]: ['PostCreateContainer', 'PostCreateContainerRequest', 'PostCreateContainerResponse'],
  [NriEvent.StartContainer]: ['StartContainer', 'StartContainerRequest', 'StartContainerResponse'],
  [NriEvent.PostStartContainer]: ['PostStartContainer', 'PostStartContainerRequest', 'PostStartContainerResponse'],
  [NriEvent.StopContainer]: ['StopContainer', 'StopContainerRequest', 'StopContainerResponse'],
  [NriEvent.RemoveContainer]: ['RemoveContainer', 'RemoveContainerRequest', 'RemoveContainerResponse'],
};

export class Nri {
  readonly socket: string;
  private readonly host: PluginHost;
  private plugins: Plugin[] = [];
  private readonly connecting = new Set<Plugin>();
  private server?: Server;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    o: NriOptions,
    private readonly rt: NriRuntime,
  ) {
    this.socket = o.socket ?? DEFAULT_NRI_SOCKET;
    this.host = {
      registrationTimeoutMs: o.registrationTimeoutMs ?? DEFAULT_REGISTRATION_TIMEOUT_MS,
      requestTimeoutMs: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      runtimeName: o.runtimeName,
      runtimeVersion: o.runtimeVersion,
      updateContainers: (u) => this.rt.updateContainers(u),
    };
  }

  /** Listens for plugins (a stale socket file is replaced; the socket is root's only, 0600). */
  async start(): Promise<void> {
    mkdirSync(dirname(this.socket), { recursive: true, mode: 0o700 });
    // the default path is containerd's and CRI-O's too: never take it over from a live runtime
    if (await answers(this.socket))
      throw failedPrecondition(`NRI socket ${this.socket} is served by another process (another runtime?)`);
    rmSync(this.socket, { force: true });
    const server = createServer((s) => void this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.socket, 0o600);
    this.server = server;
    log.info('NRI listening', { socket: this.socket });
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    // no new connections; the server's close completes once the plugins' connections are closed
    const closed = s ? new Promise<void>((resolve) => s.close(() => resolve())) : undefined;
    rmSync(this.socket, { force: true });
    for (const p of this.connecting) p.close('runtime shutting down');
    await Promise.all(this.plugins.map((p) => p.shutdown()));
    this.plugins = [];
    await closed;
  }

  /** The registered plugins' names ("idx-name"), in invocation order. */
  pluginNames(): string[] {
    return this.live().map((p) => p.id);
  }

  private live(): Plugin[] {
    this.plugins = this.plugins.filter((p) => !p.closed);
    return this.plugins;
  }

  private async accept(sock: Socket): Promise<void> {
    const p = new Plugin(sock, this.host);
    this.connecting.add(p);
    try {
      await p.start();
      await this.exclusive(async () => {
        if (p.closed) throw unavailable('connection closed during configuration');
        const { pods, containers } = this.rt.snapshot();
        const rpl = await p.call<{ update?: NriContainerUpdate[] }>(
          'Synchronize',
          'SynchronizeRequest',
          'SynchronizeResponse',
          { pods, containers, more: false },
        );
        if (p.closed) throw unavailable('connection closed during Synchronize');
        this.plugins = [...this.live(), p].sort((a, b) => (a.idx === b.idx ? cmp(a.name, b.name) : cmp(a.idx, b.idx)));
        log.info('plugin synchronized', { plugin: p.id, pods: pods.length, containers: containers.length });
        if (rpl.update?.length) await this.applyUpdates(p, rpl.update);
      });
    } catch (e) {
      log.warn('plugin not admitted', { plugin: p.id, error: (e as Error).message });
      p.close('not admitted');
    } finally {
      this.connecting.delete(p);
    }
  }

  /** Runs fn after everything queued before it (the one NRI lock). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    // the queue goes on after a failed step; the caller gets the failure through `run`
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** One event to every subscribed plugin in order. A plugin's own error fails the event (the
   *  caller decides what that means); a plugin gone or past its deadline is closed and skipped. */
  private async relay<Res>(event: NriEvent, req: object, each?: (p: Plugin, r: Res) => void): Promise<void> {
    const [method, reqType, resType] = EVENT_CALLS[event];
    for (const p of this.live()) {
      if (!p.subscribed(event)) continue;
      try {
        const r = await p.call<Res>(method, reqType, resType, req);
        each?.(p, r);
      } catch (e) {
        if (Plugin.fatal(e)) {
          log.warn('closing plugin', { plugin: p.id, event: method, error: (e as Error).message });
          p.close(`${method}: ${(e as Error).message}`);
          continue;
        }
        throw failedPrecondition(`NRI plugin ${p.id} failed ${method}: ${(e as TtrpcError).message}`);
      }
    }
  }

  private async applyUpdates(p: Plugin, updates: NriContainerUpdate[]): Promise<void> {
    const failed = await this.rt.updateContainers(updates);
    if (failed.length) log.warn('container updates failed', { plugin: p.id, failed: failed.map((f) => f.containerId) });
  }

  /** A blocking event: the plugins' errors are the caller's; commit runs in the lock on success. */
  private blocking(event: NriEvent, req: object, commit?: () => void): Promise<void> {
    return this.exclusive(async () => {
      await this.relay(event, req);
      commit?.();
    });
  }

  /** A notification: queued in order; plugin errors are logged (the lifecycle step happened). */
  private notify(event: NriEvent, req: object): Promise<void> {
    return this.exclusive(() => this.relay(event, req)).catch((e) =>
      log.warn('NRI event failed', { event: EVENT_CALLS[event][0], error: (e as Error).message }),
    );
  }

  runPodSandbox(pod: NriPodSandbox, commit?: () => void): Promise<void> {
    return this.blocking(NriEvent.RunPodSandbox, { pod }, commit);
  }
  stopPodSandbox(pod: NriPodSandbox): Promise<void> {
    return this.notify(NriEvent.StopPodSandbox, { pod });
  }
  removePodSandbox(pod: NriPodSandbox): Promise<void> {
    return this.notify(NriEvent.RemovePodSandbox, { pod });
  }

  /** CreateContainer: the plugins' adjustments, updates and evictions, in plugin order. `commit`
   *  gets them inside the lock and may refuse them (by throwing: the creation fails). */
  createContainer(
    pod: NriPodSandbox,
    container: NriContainer,
    commit: (r: NriCreateResult) => void | Promise<void>,
  ): Promise<void> {
    return this.exclusive(async () => {
      const result: NriCreateResult = { adjustments: [], updates: [], evictions: [] };
      await this.relay<{
        adjust?: NriContainerAdjustment;
        update?: NriContainerUpdate[];
        evict?: NriContainerEviction[];
      }>(NriEvent.CreateContainer, { pod, container }, (p, r) => {
        if (r.adjust) result.adjustments.push({ plugin: p.id, adjust: r.adjust });
        result.updates.push(...(r.update ?? []));
        result.evictions.push(...(r.evict ?? []));
      });
      await commit(result);
      if (result.updates.length) {
        const failed = await this.rt.updateContainers(result.updates);
        if (failed.length) log.warn('container updates failed', { failed: failed.map((f) => f.containerId) });
      }
      for (const e of result.evictions)
        await this.rt
          .evictContainer(e)
          .catch((err) => log.warn('eviction failed', { id: e.containerId, error: err.message }));
    });
  }
  postCreateContainer(pod: NriPodSandbox, container: NriContainer): Promise<void> {
    return this.notify(NriEvent.PostCreateContainer, { pod, container });
  }
  startContainer(pod: NriPodSandbox, container: NriContainer): Promise<void> {
    return this.blocking(NriEvent.StartContainer, { pod, container });
  }
  postStartContainer(pod: NriPodSandbox, container: NriContainer): Promise<void> {
    return this.notify(NriEvent.PostStartContainer, { pod, container });
  }
  stopContainer(pod: NriPodSandbox, container: NriContainer): Promise<void> {
    return this.notify(NriEvent.StopContainer, { pod, container });
  }
  removeContainer(pod: NriPodSandbox, container: NriContainer): Promise<void> {
    return this.notify(NriEvent.RemoveContainer, { pod, container });
  }
}

/** Whether something accepts connections on a unix socket path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
