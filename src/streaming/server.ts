// The CRI streaming server (kubelet's pkg/cri/streaming role): Exec, Attach and PortForward answer
// with a single-use URL (/exec|/attach|/portforward/<token>, valid for one minute); a client that
// GETs or POSTs it with an upgrade gets SPDY/3.1 (X-Stream-Protocol-Version negotiation) or a
// WebSocket (Sec-WebSocket-Protocol negotiation, including kubectl's SPDY-over-WebSocket tunnel for
// port-forward). The node agent may proxy kubectl's streams to these URLs byte for byte.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { createLogger } from '../common/index.js';
import { ChannelConn } from './channels.js';
import { serveChannelPortForward, serveSpdyPortForward } from './portforward.js';
import { serveChannels, serveSpdy, type Outcome, type SessionRequest } from './remotecommand.js';
import { SpdySession } from './spdy.js';
import type { AttachRequest, ExecRequest, PortForwardRequest, StreamingRuntime } from './types.js';

const log = createLogger({ component: 'streaming' });

const SPDY_EXEC = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const SPDY_PORTFORWARD = ['portforward.k8s.io'];
const WS_EXEC = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
];
const WS_PORTFORWARD = ['SPDY/3.1+portforward.k8s.io', 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io'];

type Pending =
  | { kind: 'exec'; req: ExecRequest; expires: number }
  | { kind: 'attach'; req: AttachRequest; expires: number }
  | { kind: 'portforward'; req: PortForwardRequest; expires: number };

export interface StreamingServerOptions {
  /** host:port to listen on (default 127.0.0.1:0). */
  address?: string;
  /** How long a URL stays valid (default 60 s, as kubelet). */
  tokenTtlMs?: number;
  /** How long the client has to open its SPDY streams (default 30 s). */
  streamCreationTimeoutMs?: number;
}

/** First client-offered protocol the server supports ('' when the client offered none). */
export function negotiate(offered: string[], supported: string[]): string | undefined {
  if (!offered.length) return '';
  return offered.find((p) => supported.includes(p));
}

function headerList(v: string | string[] | undefined): string[] {
  const all = Array.isArray(v) ? v : v ? [v] : [];
  return all
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);
}

export class StreamingServer {
  private readonly pending = new Map<string, Pending>();
  private readonly http: Server;
  /** Upgraded connections (the HTTP server no longer tracks them). */
  private readonly live = new Set<Duplex>();
  private base = '';
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly runtime: StreamingRuntime,
    private readonly o: StreamingServerOptions = {},
  ) {
    this.http = createServer((req, res) => this.onRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http.on('clientError', (_e, socket) => socket.destroy());
  }

  async start(): Promise<string> {
    const [host, port] = splitAddress(this.o.address ?? '127.0.0.1:0');
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => resolve());
    });
    const a = this.http.address();
    const p = typeof a === 'object' && a ? a.port : port;
    this.base = `http://${host.includes(':') ? `[${host}]` : host}:${p}`;
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
    return this.base;
  }

  get baseUrl(): string {
    return this.base;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const c of this.live) c.destroy();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections?.();
    });
  }

  private put(p: Pending): string {
    const token = randomBytes(8).toString('base64url');
    this.pending.set(token, p);
    return token;
  }

  private ttl(): number {
    return Date.now() + (this.o.tokenTtlMs ?? 60_000);
  }

  execUrl(req: ExecRequest): string {
    return `${this.base}/exec/${this.put({ kind: 'exec', req, expires: this.ttl() })}`;
  }
  attachUrl(req: AttachRequest): string {
    return `${this.base}/attach/${this.put({ kind: 'attach', req, expires: this.ttl() })}`;
  }
  portForwardUrl(req: PortForwardRequest): string {
    return `${this.base}/portforward/${this.put({ kind: 'portforward', req, expires: this.ttl() })}`;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, v] of this.pending) if (v.expires < now) this.pending.delete(k);
  }

  /** Takes the request a URL stands for (single use); undefined when unknown or expired. */
  private take(url: string | undefined): Pending | undefined {
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)(?:\?.*)?$/.exec(url ?? '');
    if (!m) return undefined;
    const p = this.pending.get(m[2]);
    if (!p || p.kind !== m[1]) return undefined;
    this.pending.delete(m[2]);
    return p.expires >= Date.now() ? p : undefined;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const known = /^\/(exec|attach|portforward)\//.test(req.url ?? '');
    res.writeHead(known ? 400 : 404, { 'content-type': 'text/plain' });
    res.end(known ? 'Upgrade request required\n' : '404 page not found\n');
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    this.live.add(socket);
    socket.on('close', () => this.live.delete(socket));
    const reject = (code: number, msg: string, extra = '') => {
      socket.end(`HTTP/1.1 ${code} ${msg}\r\ncontent-type: text/plain\r\n${extra}connection: close\r\n\r\n${msg}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'POST') return reject(405, 'Method Not Allowed');
    const p = this.take(req.url);
    if (!p) return reject(404, 'Not Found');
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    if (upgrade === 'websocket') return this.websocket(p, req, socket, head);
    if (upgrade !== 'spdy/3.1') return reject(400, 'Unsupported upgrade');
    const offered = headerList(req.headers['x-stream-protocol-version']);
    const supported = p.kind === 'portforward' ? SPDY_PORTFORWARD : SPDY_EXEC;
    const protocol = negotiate(offered, supported);
    if (protocol === undefined)
      return reject(403, 'Forbidden', `x-accepted-stream-protocol-versions: ${supported.join(', ')}\r\n`);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
        (protocol ? `X-Stream-Protocol-Version: ${protocol}\r\n` : '') +
        '\r\n',
    );
    if (head.length) socket.unshift(head);
    this.serveSpdyConn(p, new SpdySession(socket), protocol);
  }

  private serveSpdyConn(p: Pending, session: SpdySession, protocol: string): void {
    session.on('protocolError', (e: Error) => log.warn('SPDY protocol error', { error: e.message }));
    if (p.kind === 'portforward') {
      serveSpdyPortForward(session, p.req.ports, (port, conn) =>
        this.runtime.portForward(p.req.podSandboxId, port, conn),
      );
      return;
    }
    void serveSpdy(session, protocol, this.sessionRequest(p), (io) => this.run(p, io), this.o.streamCreationTimeoutMs);
  }

  private sessionRequest(p: Pending & { kind: 'exec' | 'attach' }): SessionRequest {
    return { ...p.req, cmd: p.kind === 'exec' ? p.req.cmd : undefined };
  }

  private async run(p: Pending, io: Parameters<StreamingRuntime['exec']>[2]): Promise<Outcome> {
    if (p.kind === 'exec') return { exitCode: await this.runtime.exec(p.req.containerId, p.req.cmd, io) };
    if (p.kind === 'attach') await this.runtime.attach(p.req.containerId, io);
    return undefined;
  }

  private websocket(p: Pending, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const offered = headerList(req.headers['sec-websocket-protocol']);
    const supported = p.kind === 'portforward' ? WS_PORTFORWARD : WS_EXEC;
    const protocol = negotiate(offered, supported);
    if (protocol === undefined) {
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\nrequested protocol(s) are not supported: ${offered.join(', ')}\n`,
      );
      return;
    }
    let ports: number[] = [];
    if (p.kind === 'portforward' && !protocol.startsWith('SPDY/')) {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.getAll('port');
      ports = q.flatMap((x) => x.split(',')).map(Number);
      if (!ports.length || ports.some((n) => !Number.isInteger(n) || n < 1 || n > 65535)) {
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\nquery parameter "port" is required\n');
        return;
      }
    }
    // ws picks the subprotocol through handleProtocols; the negotiated one is fixed here.
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: () => protocol || false,
    });
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (p.kind === 'portforward' && protocol.startsWith('SPDY/')) {
        const tunnel = createWebSocketStream(ws, { allowHalfOpen: true });
        tunnel.on('error', () => undefined);
        this.serveSpdyConn(p, new SpdySession(tunnel), 'portforward.k8s.io');
        return;
      }
      const conn = new ChannelConn(ws, protocol.includes('base64'), protocol.startsWith('v5.'));
      if (p.kind === 'portforward') {
        for (let i = 0; i < ports.length; i++) conn.reader(2 * i);
        void serveChannelPortForward(conn, ports, (port, c) => this.runtime.portForward(p.req.podSandboxId, port, c));
        return;
      }
      void serveChannels(conn, protocol, this.sessionRequest(p), (io) => this.run(p, io));
    });
  }
}

function splitAddress(a: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(a);
  if (!m) return [a, 0];
  return [m[1] || '127.0.0.1', Number(m[2])];
}
