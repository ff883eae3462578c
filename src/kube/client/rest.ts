// A small REST client for the Kubernetes API: JSON over HTTP/1.1 keep-alive, either HTTPS with a
// client certificate or bearer token (a node agent, a remote controller) or a unix socket (the
// components `skiff server` runs in its own process). Errors come back as the common closed set,
// with the Status reason kept (`Expired` for 410, `AlreadyExists`, `Conflict`, ...).
import http from 'node:http';
import https from 'node:https';
import { SkiffError, type ErrorCode } from '../../common/index.js';

export interface ClientConfig {
  /** https://host:port (with ca and cert/key or token), or omit and give socketPath. */
  server?: string;
  socketPath?: string;
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  userAgent?: string;
  /** At most this many connections, all kept alive (default: no limit, 8 kept idle). A client of
   *  many short requests at once (a load generator) keeps its connections instead of handshaking
   *  again for each burst; one that holds watches must leave it unset. */
  maxSockets?: number;
  /** Idle connections kept when maxSockets is unset (default 8). A client whose requests come in
   *  bursts of many at once (the scheduler's bindings and events) keeps more, instead of closing
   *  all but 8 after each burst and connecting again for the next. */
  maxFreeSockets?: number;
}

/** A served resource, as discovery names it. */
export interface ResourceRef {
  group: string;
  version: string;
  resource: string;
  kind?: string;
  namespaced: boolean;
}

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  accept?: string;
  signal?: AbortSignal;
  /** request() only: give up (and drop the connection) when the whole answer has not arrived
   *  within this many ms; the promise rejects with Unavailable, reason `Timeout`. Default: none
   *  (a request waits as long as the server takes). A write that timed out may still have been
   *  applied. */
  timeoutMs?: number;
}

export function resourcePath(ref: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  const ns = ref.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${ref.resource}${name ? `/${encodeURIComponent(name)}` : ''}${subresource ? `/${subresource}` : ''}`;
}

const codeFor = (status: number): ErrorCode => {
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 410) return 'FailedPrecondition';
  if (status === 400 || status === 422) return 'InvalidArgument';
  if (status === 401 || status === 403) return 'FailedPrecondition';
  if (status === 503 || status === 429 || status === 504) return 'Unavailable';
  if (status === 501 || status === 405 || status === 415) return 'NotImplemented';
  return 'Internal';
};

/** A non-2xx answer as a SkiffError; `reason` is the Status reason (`Expired`, `AlreadyExists`…). */
export function statusError(status: number, body: string): SkiffError {
  let st: { message?: string; reason?: string } = {};
  try {
    st = JSON.parse(body) as typeof st;
  } catch {
    /* not a Status */
  }
  const reason = st.reason ?? (status === 410 ? 'Expired' : undefined);
  const code = reason === 'AlreadyExists' ? 'AlreadyExists' : codeFor(status);
  return new SkiffError(code, st.message ?? `HTTP ${status}: ${body.slice(0, 200)}`, { reason });
}

const isConnectionReset = (e: unknown) => {
  const code = (e as { code?: string }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || (e instanceof Error && e.message === 'socket hang up');
};

export class KubeClient {
  private agent: http.Agent;
  private closed = false;
  private currentCert: { cert?: string; key?: string };
  constructor(readonly config: ClientConfig) {
    this.currentCert = { cert: config.cert, key: config.key };
    this.agent = this.newAgent();
  }

  /** A connection pool with the configured limits and the current client certificate. */
  private newAgent(): http.Agent {
    const c = this.config;
    // No socket limit by default: every watch holds a connection of its own (HTTP/1.1).
    const pool = c.maxSockets
      ? { maxSockets: c.maxSockets, maxFreeSockets: c.maxSockets }
      : { maxFreeSockets: c.maxFreeSockets ?? 8 };
    return c.socketPath
      ? new http.Agent({ keepAlive: true, ...pool })
      : new https.Agent({ keepAlive: true, ...pool, ca: c.ca, cert: this.currentCert.cert, key: this.currentCert.key });
  }

  private open(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    if (this.closed) return Promise.reject(new SkiffError('Unavailable', 'API client closed'));
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) q.set(k, String(v));
    const full = q.size ? `${path}?${q}` : path;
    const body =
      opts.body === undefined
        ? undefined
        : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
    const headers: Record<string, string | number> = {
      Accept: opts.accept ?? 'application/json',
      'User-Agent': this.config.userAgent ?? 'skiff-controller',
    };
    if (body) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = body.length;
    }
    if (this.config.token) headers.Authorization = `Bearer ${this.config.token}`;
    const url = this.config.socketPath ? undefined : new URL(full, this.config.server);
    const mod = this.config.socketPath ? http : https;
    return new Promise((resolve, reject) => {
      let retried = false;
      let responded = false;
      const send = () => {
        const req = mod.request(
          {
            method,
            agent: this.agent,
            headers,
            signal: opts.signal,
            ...(url
              ? { hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname + url.search }
              : { socketPath: this.config.socketPath, path: full }),
          },
          (res) => {
            responded = true;
            resolve(res);
          },
        );
        req.on('error', (e: NodeJS.ErrnoException) => {
          // A kept-alive connection the server had closed (a restart) fails before any answer.
          // EPIPE: the request could not even be written, so it never reached the server and is
          // sent once more on a fresh connection (Node's reused-socket pattern); a reset is
          // retried only for reads, since the server may have acted on a write.
          const resend = e.code === 'EPIPE' || (e.code === 'ECONNRESET' && (method === 'GET' || method === 'HEAD'));
          if (!retried && !responded && req.reusedSocket && resend && !opts.signal?.aborted) {
            retried = true;
            send();
          } else reject(e);
        });
        req.end(body);
      };
      send();
    });
  }

  /** One request; the JSON answer, or a SkiffError for a non-2xx status. */
  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const ms = opts.timeoutMs;
    if (!ms || ms <= 0) return this.exchange<T>(method, path, opts);
    // One signal for the caller's abort and the deadline; aborting destroys the request and its
    // answer, so neither the connection nor the promise is left waiting.
    const ac = new AbortController();
    const outer = opts.signal;
    const onOuter = () => ac.abort(outer?.reason);
    if (outer?.aborted) ac.abort(outer.reason);
    else outer?.addEventListener('abort', onOuter, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, ms);
    try {
      return await this.exchange<T>(method, path, { ...opts, signal: ac.signal });
    } catch (e) {
      if (timedOut && !outer?.aborted)
        throw new SkiffError('Unavailable', `${method} ${path}: no answer within ${ms} ms`, {
          reason: 'Timeout',
          cause: e,
        });
      throw e;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  private async exchange<T>(method: string, path: string, opts: RequestOptions): Promise<T> {
    let res: http.IncomingMessage;
    try {
      res = await this.open(method, path, opts);
    } catch (e) {
      // A reused keep-alive connection the server has just closed: a read is safe to send again
      // (client-go retries reads on a connection reset too).
      if ((method !== 'GET' && method !== 'HEAD') || !isConnectionReset(e) || opts.signal?.aborted) throw e;
      res = await this.open(method, path, opts);
    }
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if ((res.statusCode ?? 500) >= 300) throw statusError(res.statusCode ?? 500, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A streaming GET (watch): the response once its status is known (non-2xx → error). */
  async stream(path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const res = await this.open('GET', path, opts);
    if ((res.statusCode ?? 500) >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw statusError(res.statusCode ?? 500, Buffer.concat(chunks).toString('utf8'));
    }
    return res;
  }

  /** Swaps the client certificate (a node's rotation): new connections present it; connections
   *  already open (watches) keep the old one for a minute, then close and are re-opened. */
  setClientCertificate(cert: string, key: string): void {
    if (this.config.socketPath) return;
    const old = this.agent;
    this.currentCert = { cert, key };
    this.agent = this.newAgent();
    setTimeout(() => old.destroy(), 60_000).unref();
  }

  /**
   * Ends every open connection now (requests in flight and watches fail; informers list and watch
   * again) and goes on with new ones: after the node's address moved, connections from the old
   * address are dead but would only time out minutes later (kubelet closes all its connections
   * to the API server for the same reason when its heartbeats fail).
   */
  resetConnections(): void {
    if (this.closed) return;
    const old = this.agent;
    this.agent = this.newAgent();
    old.destroy();
  }

  /** True once close() was called: every request fails from then on. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends every connection (requests in flight fail) and refuses requests from now on: a
   *  component that lost its leadership cannot write through this client any more. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}
