// The node's HTTPS server (kubelet's port 10250): containerLogs (follow, previous, since, tail,
// timestamps, limitBytes) read from the CRI log files; exec, attach and portForward answered by
// asking the runtime for a streaming URL and proxying the upgraded connection to it (WebSocket or
// SPDY pass through unchanged); /stats/summary, /metrics/resource, /pods and /healthz. Callers
// authenticate with a client certificate of the cluster CA or a token, and are authorized by a
// SubjectAccessReview on nodes/<subresource>.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { isUpgrade, proxyRequest, proxyUpgrade, type Logger } from '../../../common/index.js';
import type { ContainerRuntime } from '../../../cri/index.js';
import { readContainerLog, type LogOptions } from '../logs/read.js';
import { POD_UID } from '../labels.js';
import type { ContainerStatus, Pod, PodStatus } from '../types.js';
import { NodeAuth } from './auth.js';
import type { StatsProvider } from './stats.js';
import type { KubeClient } from '../../client/index.js';

export interface NodeServerOptions {
  host: string;
  port: number;
  tls: { cert: string; key: string; ca: string };
  nodeName: string;
  client: KubeClient;
  runtime: ContainerRuntime;
  stats: StatsProvider;
  /** The pods bound to this node and the agent's newest status of each. */
  pods(): Pod[];
  status(uid: string): PodStatus | undefined;
  log: Logger;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const truthy = (v: string | null) => v === '1' || v === 'true';

export class NodeServer {
  private server?: https.Server;
  private auth: NodeAuth;
  port = 0;

  constructor(private o: NodeServerOptions) {
    this.auth = new NodeAuth(o.client, o.nodeName);
  }

  async listen(): Promise<number> {
    const s = https.createServer({
      cert: this.o.tls.cert,
      key: this.o.tls.key,
      ca: this.o.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
    });
    s.on('request', (req, res) => {
      req.on('error', () => {});
      res.on('error', () => {});
      this.serve(req, res).catch((e) => this.fail(res, e));
    });
    s.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      const res = new http.ServerResponse(req);
      res.assignSocket(socket as import('node:net').Socket);
      res.shouldKeepAlive = false;
      this.serve(req, res, { socket, head }).catch((e) => this.fail(res, e));
    });
    s.on('clientError', (_e, sock) => sock.destroy());
    s.keepAliveTimeout = 65_000;
    s.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(this.o.port, this.o.host, () => resolve());
    });
    this.server = s;
    this.port = (s.address() as AddressInfo).port;
    return this.port;
  }

  /** A new serving certificate (renewed, or naming a new node address), for new connections. */
  setCertificate(cert: string, key: string): void {
    this.o.tls = { ...this.o.tls, cert, key };
    this.server?.setSecureContext({ cert, key, ca: this.o.tls.ca });
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }

  private fail(res: http.ServerResponse, e: unknown): void {
    const code = e instanceof HttpError ? e.code : 500;
    const msg = e instanceof Error ? e.message : String(e);
    if (!(e instanceof HttpError)) this.o.log.warn('node server request failed', { error: msg });
    if (!res.headersSent) {
      res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(msg) });
      res.end(msg);
    } else res.destroy();
  }

  private async serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    up?: { socket: Duplex; head: Buffer },
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://node');
    const path = url.pathname;
    if (path === '/healthz' && !up) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    const user = await this.auth.authenticate(req);
    if (!user) throw new HttpError(401, 'Unauthorized');
    const d = await this.auth.authorize(user, req.method ?? 'GET', path);
    if (!d.allowed)
      throw new HttpError(
        403,
        `Forbidden (user=${user.username}, verb=${d.verb}, resource=nodes, subresource=${d.subresource})`,
      );
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    switch (parts[0]) {
      case 'stats':
        if (parts[1] === 'summary') return this.json(res, await this.o.stats.sample());
        break;
      case 'metrics':
        if (parts[1] === 'resource') {
          const body = await this.o.stats.resourceMetrics();
          res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
          res.end(body);
          return;
        }
        break;
      case 'pods':
        return this.json(res, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: this.o.pods() });
      case 'containerLogs':
        if (parts.length === 4) return this.logs(req, res, parts[1], parts[2], parts[3], url.searchParams);
        break;
      case 'exec':
      case 'attach':
        if (parts.length === 4 || parts.length === 5)
          return this.stream(req, res, up, parts[0], parts[1], parts[2], parts[parts.length - 1], url.searchParams);
        break;
      case 'portForward':
        if (parts.length === 3 || parts.length === 4) return this.portForward(req, res, up, parts[1], parts[2]);
        break;
    }
    throw new HttpError(404, '404 page not found');
  }

  private json(res: http.ServerResponse, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private findPod(ns: string, name: string): Pod {
    const pod = this.o.pods().find((p) => p.metadata.namespace === ns && p.metadata.name === name);
    if (!pod) throw new HttpError(404, `pod "${name}" not found`);
    return pod;
  }

  private containerStatus(pod: Pod, name: string): ContainerStatus {
    const st = this.o.status(pod.metadata.uid) ?? pod.status;
    const cs = [
      ...(st?.containerStatuses ?? []),
      ...(st?.initContainerStatuses ?? []),
      ...(st?.ephemeralContainerStatuses ?? []),
    ].find((c) => c.name === name);
    const known = [
      ...pod.spec.containers,
      ...(pod.spec.initContainers ?? []),
      ...(pod.spec.ephemeralContainers ?? []),
    ].some((c) => c.name === name);
    if (!known) throw new HttpError(404, `container "${name}" not found in pod "${pod.metadata.name}"`);
    if (!cs) throw new HttpError(400, `container "${name}" in pod "${pod.metadata.name}" is not available`);
    return cs;
  }

  /** kubelet's validateContainerLogStatus: which container instance's log to read. */
  private logContainerId(pod: Pod, name: string, previous: boolean): string {
    const cs = this.containerStatus(pod, name);
    const p = pod.metadata.name;
    const strip = (id?: string) => (id ? id.replace(/^[a-z0-9-]+:\/\//, '') : '');
    const last = cs.lastState.terminated;
    if (previous) {
      if (!last?.containerID)
        throw new HttpError(400, `previous terminated container "${name}" in pod "${p}" not found`);
      return strip(last.containerID);
    }
    if (cs.state.running) return strip(cs.containerID);
    if (cs.state.terminated) {
      const id = cs.state.terminated.containerID || last?.containerID;
      if (!id) throw new HttpError(400, `container "${name}" in pod "${p}" is terminated`);
      return strip(id);
    }
    if (last) {
      if (!last.containerID) throw new HttpError(400, `container "${name}" in pod "${p}" is terminated`);
      return strip(last.containerID);
    }
    const reason = cs.state.waiting?.reason;
    if (reason === 'ErrImagePull')
      throw new HttpError(400, `container "${name}" in pod "${p}" is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff')
      throw new HttpError(
        400,
        `container "${name}" in pod "${p}" is waiting to start: trying and failing to pull image`,
      );
    if (reason) throw new HttpError(400, `container "${name}" in pod "${p}" is waiting to start: ${reason}`);
    throw new HttpError(400, `container "${name}" in pod "${p}" is waiting to start - no logs yet`);
  }

  private async logs(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ns: string,
    podName: string,
    name: string,
    q: URLSearchParams,
  ): Promise<void> {
    const pod = this.findPod(ns, podName);
    const id = this.logContainerId(pod, name, truthy(q.get('previous')));
    // the container may have been removed: then it is not running (logs are read from the file)
    const st = (await this.o.runtime.containerStatus({ containerId: id }).catch(() => undefined))?.status;
    if (!st?.logPath) throw new HttpError(404, `container "${name}" in pod "${podName}" has no log`);
    const num = (k: string) => (q.get(k) !== null && /^-?\d+$/.test(q.get(k)!) ? Number(q.get(k)) : undefined);
    const opts: LogOptions = {
      follow: truthy(q.get('follow')),
      timestamps: truthy(q.get('timestamps')),
      tailLines: num('tailLines'),
      limitBytes: num('limitBytes'),
    };
    const since = num('sinceSeconds');
    if (since !== undefined) opts.sinceMs = Date.now() - since * 1000;
    const sinceTime = q.get('sinceTime');
    if (sinceTime && !Number.isNaN(Date.parse(sinceTime))) opts.sinceMs = Date.parse(sinceTime);
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    req.on('close', () => ac.abort());
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const running = async () =>
      // the container may have been removed: then it is not running
      (await this.o.runtime.containerStatus({ containerId: id }).catch(() => undefined))?.status?.state ===
      'CONTAINER_RUNNING';
    try {
      await readContainerLog(st.logPath, opts, res, running, ac.signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    res.end();
  }

  private async stream(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    up: { socket: Duplex; head: Buffer } | undefined,
    kind: string,
    ns: string,
    podName: string,
    name: string,
    q: URLSearchParams,
  ): Promise<void> {
    const pod = this.findPod(ns, podName);
    const cs = this.containerStatus(pod, name);
    // kubelet's findContainer sees running containers only; its answer is plain text, which
    // kubectl also tries as a YAML Status: a message with ": " in it decoded to an empty Status
    // (`kubectl run -i` warned "falling back to streaming logs: " with no reason).
    if (!cs.state.running || !cs.containerID) throw new HttpError(500, `container not found ("${name}")`);
    const containerId = cs.containerID.replace(/^[a-z0-9-]+:\/\//, '');
    const flags = {
      stdin: truthy(q.get('input')) || truthy(q.get('stdin')),
      stdout: truthy(q.get('output')) || truthy(q.get('stdout')),
      stderr: truthy(q.get('error')) || truthy(q.get('stderr')),
      tty: truthy(q.get('tty')),
    };
    const { url } =
      kind === 'exec'
        ? await this.o.runtime.exec({ containerId, cmd: q.getAll('command'), ...flags })
        : await this.o.runtime.attach({ containerId, ...flags });
    await this.forward(req, res, up, url);
  }

  private async portForward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    up: { socket: Duplex; head: Buffer } | undefined,
    ns: string,
    podName: string,
  ): Promise<void> {
    const pod = this.findPod(ns, podName);
    const sbs = await this.o.runtime.listPodSandbox({
      filter: { labelSelector: { [POD_UID]: pod.metadata.uid }, state: { state: 'SANDBOX_READY' } },
    });
    const sb = sbs.items[0];
    if (!sb) throw new HttpError(400, `pod ${podName} is not running`);
    const { url } = await this.o.runtime.portForward({ podSandboxId: sb.id });
    await this.forward(req, res, up, url);
  }

  private async forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    up: { socket: Duplex; head: Buffer } | undefined,
    target: string,
  ): Promise<void> {
    const url = new URL(target);
    // The streaming URL's own query (its token) wins; the client's parameters stay for the protocol.
    try {
      if (up && isUpgrade(req)) await proxyUpgrade(req, up.socket, up.head, { url });
      else await proxyRequest(req, res, { url });
    } catch (e) {
      throw new HttpError(502, `error dialing the container runtime's streaming server: ${(e as Error).message}`);
    }
  }
}
