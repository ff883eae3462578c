// An upgrade-aware HTTP(S) reverse proxy for one request, as upstream's UpgradeAwareHandler: the
// API server uses it to reach a node's agent (pods/log, exec, attach, portforward) and the agent
// to reach the runtime's streaming server. A plain request streams the answer back; an upgrade
// (WebSocket or SPDY) passes the 101 and then the raw bytes both ways, so the protocols are
// negotiated end to end by the client and the streaming server. Hand-written: the proxy packages
// on npm either lack client-certificate TLS to the target or buffer upgrade traffic.
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

export interface ProxyTarget {
  url: URL;
  /** TLS to the target: CA to verify it, and the client certificate to present. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; servername?: string };
  /** Headers to set (or, with undefined, drop) on the forwarded request. */
  headers?: Record<string, string | undefined>;
}

const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
]);

function forwardHeaders(req: http.IncomingMessage, t: ProxyTarget, upgrade: boolean): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && v !== undefined) out[k] = v;
  // Credentials meant for the proxy are not passed on (the subprotocol may carry a bearer token).
  const proto = req.headers['sec-websocket-protocol'];
  if (typeof proto === 'string')
    out['sec-websocket-protocol'] = proto
      .split(',')
      .map((s) => s.trim())
      .filter((s) => !s.startsWith('base64url.bearer.authorization.k8s.io.'))
      .join(', ');
  if (upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = req.headers.upgrade ?? '';
  }
  for (const [k, v] of Object.entries(t.headers ?? {})) {
    if (v === undefined) delete out[k.toLowerCase()];
    else out[k.toLowerCase()] = v;
  }
  out.host = t.url.host;
  return out;
}

function open(req: http.IncomingMessage, t: ProxyTarget, upgrade: boolean): http.ClientRequest {
  const https_ = t.url.protocol === 'https:';
  const opts: https.RequestOptions = {
    method: req.method,
    hostname: t.url.hostname.replace(/^\[|\]$/g, ''),
    port: t.url.port || (https_ ? 443 : 80),
    path: t.url.pathname + t.url.search,
    headers: forwardHeaders(req, t, upgrade),
    agent: false,
    ...(https_ ? { ca: t.tls?.ca, cert: t.tls?.cert, key: t.tls?.key, servername: t.tls?.servername } : {}),
  };
  return (https_ ? https : http).request(opts);
}

function rawHead(status: number, message: string, headers: http.IncomingHttpHeaders | string[]): string {
  let out = `HTTP/1.1 ${status} ${message}\r\n`;
  if (Array.isArray(headers))
    for (let i = 0; i + 1 < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`;
  else
    for (const [k, v] of Object.entries(headers))
      if (v !== undefined) out += `${k}: ${Array.isArray(v) ? v.join(', ') : v}\r\n`;
  return `${out}\r\n`;
}

/** Proxies an upgrade request whose client connection is `socket` (after `head`). Resolves when
 *  both directions have ended; rejects (before anything is written) when the target is unreachable. */
export function proxyUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, t: ProxyTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = open(req, t, true);
    let started = false;
    out.on('upgrade', (res, up, upHead) => {
      started = true;
      socket.write(rawHead(res.statusCode ?? 101, res.statusMessage ?? 'Switching Protocols', res.rawHeaders));
      if (upHead.length) socket.write(upHead);
      if (head.length) up.write(head);
      const done = () => {
        up.destroy();
        socket.destroy();
        resolve();
      };
      up.on('error', done);
      socket.on('error', done);
      up.on('close', done);
      socket.on('close', done);
      up.pipe(socket);
      socket.pipe(up);
    });
    out.on('response', (res) => {
      // The target refused to upgrade: pass its answer on and close.
      started = true;
      socket.write(rawHead(res.statusCode ?? 502, res.statusMessage ?? '', { ...res.headers, connection: 'close' }));
      res.pipe(socket);
      res.on('end', () => {
        socket.end();
        resolve();
      });
      res.on('error', () => resolve());
    });
    out.on('error', (e) => {
      if (!started) reject(e);
      else socket.destroy();
    });
    req.pipe(out);
  });
}

/** Proxies a plain request; the response (status, headers, streamed body) is copied to `res`. */
export function proxyRequest(req: http.IncomingMessage, res: http.ServerResponse, t: ProxyTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = open(req, t, false);
    out.on('response', (up) => {
      const headers = { ...up.headers };
      for (const k of HOP) delete headers[k];
      res.writeHead(up.statusCode ?? 502, headers);
      res.flushHeaders();
      up.pipe(res);
      up.on('end', () => resolve());
      up.on('error', () => {
        res.destroy();
        resolve();
      });
      res.on('close', () => {
        up.destroy();
        resolve();
      });
    });
    out.on('error', reject);
    req.pipe(out);
  });
}

/** Whether the request asks for a protocol upgrade (WebSocket, SPDY). */
export function isUpgrade(req: http.IncomingMessage): boolean {
  const c = String(req.headers.connection ?? '').toLowerCase();
  return c.split(',').some((x) => x.trim() === 'upgrade') && !!req.headers.upgrade;
}
