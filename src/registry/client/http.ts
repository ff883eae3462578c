// A minimal HTTP(S) client over node:http with keep-alive agents. Written on node:http rather than
// fetch/undici because blob transfers are streams of hundreds of MB where node:http pipes with less
// overhead, and we need per-request TLS verification control for insecure registries.
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { failedPrecondition } from '../../common/index.js';

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32 });

export type Body = Buffer | (() => Promise<Readable> | Readable);

export interface HttpReq {
  method: string;
  url: URL;
  headers?: Record<string, string | number>;
  body?: Body;
  signal?: AbortSignal;
  /** Skip TLS verification (insecure registries). */
  insecureTls?: boolean;
  /** Give up when the response has not started within this many ms. */
  timeoutMs?: number;
}

export interface HttpRes {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  stream: IncomingMessage;
  buffer(limit?: number): Promise<Buffer>;
  text(): Promise<string>;
  drain(): void;
}

/** Sends one request (no redirects, no retries). Network failures reject. */
export function sendRequest(r: HttpReq): Promise<HttpRes> {
  return new Promise((resolve, reject) => {
    const isHttps = r.url.protocol === 'https:';
    const opts = {
      method: r.method,
      headers: { 'User-Agent': 'skiff/0.1', ...r.headers },
      agent: isHttps ? (r.insecureTls ? undefined : httpsAgent) : httpAgent,
      rejectUnauthorized: !r.insecureTls,
      signal: r.signal,
    };
    const req = (isHttps ? httpsRequest : httpRequest)(r.url, opts, (res) => {
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        url: r.url,
        stream: res,
        buffer: (limit = 64 << 20) => readAll(res, limit, r.url),
        async text() {
          return (await readAll(res, 64 << 20, r.url)).toString('utf8');
        },
        drain() {
          res.resume();
        },
      });
    });
    req.on('error', reject);
    if (r.timeoutMs)
      req.setTimeout(r.timeoutMs, () =>
        req.destroy(new Error(`no response from ${r.url.host} within ${r.timeoutMs} ms`)),
      );
    const body = r.body;
    if (body === undefined) {
      req.end();
      return;
    }
    if (Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    Promise.resolve(body())
      .then((s) => pipeline(s, req))
      .catch((e) => {
        req.destroy(e as Error);
        reject(e);
      });
  });
}

async function readAll(res: IncomingMessage, limit: number, url: URL): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.destroy();
      throw failedPrecondition(`response from ${url.host} exceeds ${limit} bytes`);
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}

export { Readable };
