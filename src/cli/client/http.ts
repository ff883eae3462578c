// A small Docker Engine API client over a unix socket or TCP (node:http; no library needed for a
// handful of JSON calls, streams and one connection upgrade). The host comes from --host, then
// SKIFF_HOST, then DOCKER_HOST, then the engine's default socket.
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { invalidArgument } from '../../common/index.js';

export const DEFAULT_HOST = 'unix:///run/skiff/engine.sock';

export function resolveHost(flag?: string): string {
  return flag || process.env.SKIFF_HOST || process.env.DOCKER_HOST || DEFAULT_HOST;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type QueryValue = string | number | boolean | undefined | string[];
export interface CallOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** A raw body (tar uploads); sent as is with `contentType`. */
  stream?: Readable;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export class Client {
  private readonly target: { socketPath?: string; host?: string; port?: number };
  constructor(readonly host = resolveHost()) {
    if (host.startsWith('unix://')) this.target = { socketPath: host.slice(7) };
    else if (host.startsWith('tcp://') || host.startsWith('http://')) {
      const u = new URL(host.replace(/^tcp:/, 'http:'));
      this.target = { host: u.hostname, port: Number(u.port || 2375) };
    } else throw invalidArgument(`invalid host ${JSON.stringify(host)}: use unix:///path or tcp://host:port`);
  }

  private options(method: string, path: string, o: CallOptions): RequestOptions {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(o.query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) qs.append(k, x);
      else qs.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    }
    const q = qs.toString();
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    if (o.stream) headers['Content-Type'] = o.contentType ?? 'application/x-tar';
    return { ...this.target, method, path: path + (q ? `?${q}` : ''), headers, signal: o.signal };
  }

  /** Sends a request and returns the response once headers arrive (errors → ApiError). */
  async raw(method: string, path: string, o: CallOptions = {}): Promise<IncomingMessage> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(this.options(method, path, o), resolve);
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')
          reject(new ApiError(0, `Cannot connect to the Skiff engine at ${this.host}. Is the engine running?`));
        else reject(e);
      });
      if (o.stream) o.stream.pipe(req);
      else req.end(o.body === undefined ? undefined : JSON.stringify(o.body));
    });
    if (res.statusCode! >= 400) {
      const text = (await readAll(res)).toString('utf8');
      let msg = text.trim();
      try {
        msg = (JSON.parse(text) as { message?: string }).message ?? msg;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.statusCode!, msg || `HTTP ${res.statusCode}`);
    }
    return res;
  }

  async json<T = unknown>(method: string, path: string, o: CallOptions = {}): Promise<T> {
    const res = await this.raw(method, path, o);
    const text = (await readAll(res)).toString('utf8');
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  /** `Connection: Upgrade` + `Upgrade: tcp` (attach, exec start): the raw duplex socket. */
  hijack(method: string, path: string, o: CallOptions = {}): Promise<{ socket: Socket; head: Buffer }> {
    const opts = this.options(method, path, o);
    opts.headers = { ...(opts.headers as Record<string, string>), Connection: 'Upgrade', Upgrade: 'tcp' };
    return new Promise((resolve, reject) => {
      const req = request(opts);
      req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
      req.on('response', async (res) => {
        const text = (await readAll(res)).toString('utf8');
        let msg = text.trim();
        try {
          msg = (JSON.parse(text) as { message?: string }).message ?? msg;
        } catch {
          /* not JSON */
        }
        reject(new ApiError(res.statusCode ?? 0, msg || `unable to upgrade to tcp, received ${res.statusCode}`));
      });
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
            ? new ApiError(0, `Cannot connect to the Skiff engine at ${this.host}. Is the engine running?`)
            : e,
        ),
      );
      req.end(o.body === undefined ? undefined : JSON.stringify(o.body));
    });
  }
}

export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Calls `fn` for each JSON object of a JSON-message stream (one per line). */
export async function eachJson(s: Readable, fn: (m: Record<string, unknown>) => void): Promise<void> {
  let buf = '';
  for await (const c of s) {
    buf += (c as Buffer).toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) fn(JSON.parse(line) as Record<string, unknown>);
    }
  }
  if (buf.trim()) fn(JSON.parse(buf) as Record<string, unknown>);
}

/** Splits Docker's stdcopy frames into stdout/stderr writes. */
export function demux(out: NodeJS.WritableStream, err: NodeJS.WritableStream): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const payload = pending.subarray(8, 8 + size);
      (pending[0] === 2 ? err : out).write(payload);
      pending = pending.subarray(8 + size);
    }
  };
}
