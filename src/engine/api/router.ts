// The Engine API's tiny router and HTTP helpers, shared by every route module (containers, images,
// volumes, networks, system, exec). Hand-written rather than a framework: Docker's wire protocol
// needs raw socket access (hijacked attach/exec, flushed wait headers, non-chunked raw streams) that
// frameworks get in the way of, and the routing itself is a method + path-pattern table.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { toSkiffError, httpStatus, type SkiffError } from '../../common/index.js';

import type { Query } from './query.js';

export { Query, parseFilters, validateFilters, filterBool, type Filters } from './query.js';
export { matchLabels } from '../services/common/filters.js';
export { stdcopyFrame } from '../services/common/stdcopy.js';

export interface ApiRequest {
  method: string;
  /** Path with the `/vX.Y` prefix stripped. */
  path: string;
  params: Record<string, string>;
  query: Query;
  /** Negotiated API version of this request (the prefix, or the server's when unversioned). */
  version: string;
  req: IncomingMessage;
  /** The response; for an upgrade request (Connection: Upgrade) it is bound to the raw socket. */
  res: ServerResponse;
  /** Set when the client asked for an upgrade (`Upgrade: tcp`): the raw socket and bytes read past the headers. */
  upgrade?: { socket: Socket; head: Buffer };
  /** Set by `hijack()`: the handler owns the raw socket now. */
  hijacked?: boolean;
  /** Reads and parses the JSON body (undefined for an empty body). Limit: 16 MiB by default. */
  json<T = unknown>(limit?: number): Promise<T | undefined>;
  /** Raw body bytes as a stream (for tar uploads); for upgrades, only Content-Length bytes are read. */
  bodyStream(): NodeJS.ReadableStream;
}

/** A route handler: its backend is bound when the route module registers (see backends.ts). */
export type Handler = (r: ApiRequest) => Promise<unknown> | unknown;

interface Route {
  method: string;
  re: RegExp;
  keys: string[];
  handler: Handler;
}

/** Routes: `r.add('GET', '/containers/:id/json', h)`; `:name*` matches the rest of the path. */
export class Router {
  private readonly routes: Route[] = [];
  add(method: string, pattern: string, handler: Handler): this {
    const keys: string[] = [];
    const re = new RegExp(
      '^' +
        pattern.replace(/[.]/g, '\\.').replace(/:(\w+)(\*)?/g, (_m, k: string, star?: string) => {
          keys.push(k);
          return star ? '(.+)' : '([^/]+)';
        }) +
        '/?$',
    );
    this.routes.push({ method: method.toUpperCase(), re, keys, handler });
    return this;
  }
  get(p: string, h: Handler): this {
    return this.add('GET', p, h);
  }
  post(p: string, h: Handler): this {
    return this.add('POST', p, h);
  }
  put(p: string, h: Handler): this {
    return this.add('PUT', p, h);
  }
  delete(p: string, h: Handler): this {
    return this.add('DELETE', p, h);
  }
  head(p: string, h: Handler): this {
    return this.add('HEAD', p, h);
  }

  /** The handler for a method and (unversioned) path; `methodNotAllowed` when only the path matches. */
  match(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string> } | { methodNotAllowed: true } | undefined {
    let pathHit = false;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      if (r.method !== method.toUpperCase()) {
        pathHit = true;
        continue;
      }
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1]);
      });
      return { handler: r.handler, params };
    }
    return pathHit ? { methodNotAllowed: true } : undefined;
  }
}

/** Splits `/v1.45/containers/json` into version `1.45` and path `/containers/json`. */
export function splitVersion(path: string): { version?: string; path: string } {
  const m = /^\/v([0-9][0-9.]*)(\/.*)?$/.exec(path);
  if (!m) return { path };
  return { version: m[1], path: m[2] ?? '/' };
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number),
    pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d < 0 ? -1 : 1;
  }
  return 0;
}

// ---- responses ----

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status);
  res.end();
}

/** HTTP status for an error as moby uses them (errdefs): 404 not found, 409 conflict, 400 invalid, 304 for
 *  "already started/stopped" (reason `NotModified`), 500 otherwise. */
export function errorStatus(e: SkiffError): number {
  if (e.reason === 'NotModified') return 304;
  if (e.reason === 'Forbidden') return 403;
  return httpStatus(e.code);
}

/** The one error → `{"message"}` mapping of the Engine API. */
export function sendError(res: ServerResponse, err: unknown): void {
  const e = toSkiffError(err);
  const status = errorStatus(e);
  if (res.headersSent) {
    // Mid-stream: a JSON-message stream carries the error in-band; anything else is cut off.
    try {
      res.end();
    } catch {
      /* closed */
    }
    return;
  }
  if (status === 304) {
    res.writeHead(304);
    res.end();
    return;
  }
  sendJson(res, status, { message: e.message });
}

/** A JSON-message progress stream (pull, push, load, build): one JSON object per line. */
export interface JsonStream {
  write(obj: Record<string, unknown>): void;
  /** Writes Docker's in-band error message (`errorDetail` + `error`) and ends. */
  error(err: unknown): void;
  end(): void;
  readonly closed: boolean;
}

export function jsonStream(res: ServerResponse, status = 200): JsonStream {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  return {
    get closed() {
      return closed;
    },
    write(obj) {
      if (!closed) res.write(JSON.stringify(obj) + '\r\n');
    },
    error(err) {
      const msg = toSkiffError(err).message;
      if (!closed) res.end(JSON.stringify({ errorDetail: { message: msg }, error: msg }) + '\r\n');
      closed = true;
    },
    end() {
      if (!closed) res.end();
      closed = true;
    },
  };
}

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/** Takes over the connection for attach/exec: `101 UPGRADED` when the client asked for an upgrade,
 *  else moby's `200 OK` raw stream (no chunking, until close). Returns the socket and any bytes
 *  the client already sent past the request. */
export function hijack(r: ApiRequest, contentType: string): { socket: Socket; head: Buffer } {
  r.hijacked = true;
  const extra = 'Api-Version: ' + r.res.getHeader('Api-Version') + '\r\nServer: ' + r.res.getHeader('Server') + '\r\n';
  if (r.upgrade) {
    const { socket, head } = r.upgrade;
    socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${extra}\r\n`,
    );
    return { socket, head };
  }
  const socket = r.req.socket;
  // Bypass ServerResponse: raw, non-chunked bytes until close, as moby sends them.
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n${extra}\r\n`);
  return { socket, head: Buffer.alloc(0) };
}
