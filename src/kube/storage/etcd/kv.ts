// etcd's KV service (Range, Txn, Compact) as gRPC unary calls written straight on HTTP/2, one
// connection per member with every call multiplexed on it, messages encoded and decoded with the
// etcd3 package's own proto files (through @grpc/proto-loader) so replies have its types' shapes.
// Why not a library's client:
//  - etcd3's unary path runs every call through a circuit breaker that opens after three
//    consecutive failures (then refuses all calls for 5 s) and closes the host's channels on any
//    DEADLINE_EXCEEDED or CANCELLED, failing every other call in flight: under load one slow
//    moment became seconds of 503s (bench/etcd.ts: "the circuit breaker is open").
//  - @grpc/grpc-js costs 0.4-0.6 ms of CPU per call on this 2-core machine (interceptors, resolving
//    and load-balancing call layers); Node's own http2 streams 0.16-0.17 ms; the hand-written
//    connection of h2.ts 0.04-0.05 ms (50 Txns in flight on one etcd, encode and decode included).
//    One call per API write: on Node's http2 the etcd path cost the API server ~1.4-1.7x the CPU
//    per update of the SQLite path (docs/storage.md).
// So every call goes through h2.ts; only a request larger than etcd's stream window (64 KiB by
// default: a very large value) takes Node's http2, which handles flow control on the send side.
// A unary gRPC call is one HTTP/2 stream: a POST to /etcdserverpb.KV/Method with a 5-byte framed
// message; the reply is one framed message and trailers with grpc-status (or headers with it, when
// there is no message). A failed call fails alone; the store decides about retries (reads only).
// A connection that fails to connect or goes away is dropped and the next call tries the next member.
import http2 from 'node:http2';
import { internal } from '../../../common/index.js';
import { createRequire } from 'node:module';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/proto-loader';
import type { ICompactionRequest, ICompactionResponse, IRangeRequest, IRangeResponse, ITxnRequest } from 'etcd3';
import { decodeTxnResponse, encodeTxnRequest, type TxnReply } from './txn-codec.js';
import { H2CallError, H2Conn } from './h2.js';
import { decodeWatchResponse, GrpcMessages, type WatchReply } from './watch-codec.js';

/** A watcher's create request (etcd's WatchCreateRequest, proto field names). */
export interface WatchCreate {
  key: Buffer;
  range_end?: Buffer;
  start_revision?: number;
  progress_notify?: boolean;
  prev_kv?: boolean;
}

/** One watch stream in progress (etcd's Watch RPC with one watcher on it). */
export interface WatchCall {
  /** Settles when the stream ends: resolves if etcd ended it cleanly, else rejects with a GrpcError. */
  done: Promise<void>;
  /** Ends the stream (RST_STREAM CANCEL: etcd drops the watcher); `done` then rejects with CANCELLED. */
  cancel(): void;
}

type Method = MethodDefinition<object, object>;
type Name = 'Range' | 'Txn' | 'Compact' | 'Authenticate' | 'Watch';
let methods: Record<Name, Method> | undefined;
let txnMethod: Method | undefined;
function loadMethods(): Record<Name, Method> {
  if (!methods) {
    const proto = createRequire(import.meta.url).resolve('etcd3/proto/rpc.proto');
    // The options etcd3 itself loads with, so replies have the shapes its types describe.
    const def = loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const find = (service: string, name: string): Method => {
      const svc = def[`etcdserverpb.${service}`];
      if (!svc || 'format' in svc || !svc[name]) throw internal(`etcd proto: no ${service}.${name}`);
      return svc[name];
    };
    txnMethod = find('KV', 'Txn');
    methods = {
      Range: find('KV', 'Range'),
      Txn: txnMethod,
      Compact: find('KV', 'Compact'),
      Authenticate: find('Auth', 'Authenticate'),
      Watch: find('Watch', 'Watch'),
    };
  }
  return methods;
}

/** gRPC status codes used here (the names go into messages, which errors.ts maps). */
const CODE_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

export class GrpcError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${CODE_NAMES[code] ?? 'UNKNOWN'}: ${details}`);
  }
}

export interface EtcdKvOptions {
  /** host:port of each member. */
  endpoints: string[];
  /** TLS (ca/cert/key as PEM; an empty object = the system's CAs), or plain HTTP/2. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Deadline of each call. */
  timeoutMs: number;
  auth?: { username: string; password: string };
}

/** A framed gRPC reply (5-byte prefix + message) decoded. */
function decodeReply<T>(m: Method, buf: Buffer): T {
  if (buf.length < 5 || buf[0] !== 0 || buf.readUInt32BE(1) !== buf.length - 5)
    throw new GrpcError(13, `malformed gRPC reply (${buf.length} bytes)`);
  try {
    const body = buf.subarray(5);
    return (m === txnMethod ? decodeTxnResponse(body) : m.responseDeserialize(body)) as T;
  } catch (e) {
    throw new GrpcError(13, `cannot decode the reply: ${String(e)}`);
  }
}

export class EtcdKv {
  private readonly sessions: (http2.ClientHttp2Session | undefined)[];
  private readonly conns: (H2Conn | undefined)[];
  private readonly blocks = new Map<string, Buffer>();
  private current = 0;
  private token?: Promise<string>;
  private closed = false;

  constructor(private readonly opts: EtcdKvOptions) {
    loadMethods();
    this.sessions = opts.endpoints.map(() => undefined);
    this.conns = opts.endpoints.map(() => undefined);
  }

  range(req: IRangeRequest): Promise<IRangeResponse> {
    return this.call<IRangeResponse>('Range', req);
  }

  txn(req: ITxnRequest): Promise<TxnReply> {
    return this.call<TxnReply>('Txn', req);
  }

  compact(req: ICompactionRequest): Promise<ICompactionResponse> {
    return this.call<ICompactionResponse>('Compact', req);
  }

  /**
   * Etcd's Watch RPC on the lean connection: one gRPC stream per watcher (so ending it is a reset,
   * and nothing is shared between watchers), each WatchResponse decoded (watch-codec.ts) and handed
   * to onReply in order. Rejects if the stream cannot start (no token, client closed).
   */
  async watch(create: WatchCreate, onReply: (r: WatchReply) => void): Promise<WatchCall> {
    if (this.closed) throw new GrpcError(14, 'etcd client is closed');
    const i = this.current;
    const token = await this.authToken(i);
    const m = loadMethods().Watch;
    const body = m.requestSerialize({ create_request: create });
    const first = Buffer.allocUnsafe(5 + body.length);
    first[0] = 0;
    first.writeUInt32BE(body.length, 1);
    body.copy(first, 5);
    let broken: GrpcError | undefined;
    const frames = new GrpcMessages((msg) => onReply(decodeWatchResponse(msg)));
    const call = this.lean(i).open(this.headerBlock(i, m.path, token), first, (p) => {
      if (broken) return;
      try {
        frames.push(p);
      } catch (e) {
        // (a reply that does not decode, or a consumer's failure: this stream ends, the connection stays)
        broken = new GrpcError(13, `etcd watch stream: ${e instanceof Error ? e.message : String(e)}`);
        call.cancel();
      }
    });
    const done = call.done.then(
      (r) => {
        if (broken) throw broken;
        if (r.httpStatus !== 200) throw new GrpcError(14, `HTTP ${r.httpStatus} from etcd`);
        if (r.status !== undefined && r.status !== 0) throw new GrpcError(r.status, r.message);
      },
      (e: unknown) => {
        if (broken) throw broken;
        const err = e instanceof H2CallError ? new GrpcError(e.code, e.details) : new GrpcError(14, String(e));
        if (err.code === 14 && i === this.current) this.current = (i + 1) % this.conns.length;
        throw err;
      },
    );
    done.catch((e: GrpcError) => {
      if (token && /invalid auth token/.test(e.details)) this.token = undefined;
    });
    return { done, cancel: () => call.cancel() };
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions) s?.destroy();
    for (const c of this.conns) c?.close();
  }

  private session(i: number): http2.ClientHttp2Session {
    const cur = this.sessions[i];
    if (cur && !cur.closed && !cur.destroyed) return cur;
    const tls = this.opts.tls;
    const s = http2.connect(`${tls ? 'https' : 'http'}://${this.opts.endpoints[i]}`, {
      ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key, ALPNProtocols: ['h2'] } : {}),
      // etcd's default --max-concurrent-streams is unlimited; calls are bounded by the API server.
      peerMaxConcurrentStreams: 1 << 20,
      // Node refuses new streams with ENHANCE_YOUR_CALM once a session's buffered frames pass
      // maxSessionMemory (10 MB by default): at 1500 writes/s with etcd seconds behind, thousands of
      // calls were in flight and ~10 % of them failed that way (bench/etcd.ts). The calls in flight
      // are bounded by the API server's requests; the cap only guards against a runaway.
      maxSessionMemory: 256,
    });
    const drop = () => {
      if (this.sessions[i] === s) this.sessions[i] = undefined;
    };
    s.on('error', drop);
    s.on('goaway', drop);
    s.on('close', drop);
    s.on('connect', () => {
      // A member that vanished without closing the connection is noticed by TCP keepalive.
      try {
        s.socket.setKeepAlive(true, 10_000);
      } catch {
        // (not every socket proxy allows it; deadlines still bound each call)
      }
    });
    s.unref(); // in-flight calls keep the process alive through their deadline timers
    this.sessions[i] = s;
    return s;
  }

  private async call<T extends object>(name: Name, req: object, reauth = true): Promise<T> {
    if (this.closed) throw new GrpcError(14, 'etcd client is closed');
    const i = this.current;
    // (without auth no await: one promise and one microtask less per call)
    const token = name === 'Authenticate' || !this.opts.auth ? undefined : await this.authToken(i);
    try {
      return await this.unary<T>(i, loadMethods()[name], req, token);
    } catch (e) {
      const err = e instanceof GrpcError ? e : new GrpcError(14, String(e));
      // The next call tries another member (this one is away, or failing over).
      if (err.code === 14 && i === this.current) this.current = (i + 1) % this.sessions.length;
      // An expired token was refused before anything was done: authenticate again, once.
      if (reauth && token && /invalid auth token/.test(err.details)) {
        this.token = undefined;
        return this.call<T>(name, req, false);
      }
      throw err;
    }
  }

  private unary<T>(i: number, m: Method, req: object, token?: string): Promise<T> {
    let frame: Buffer;
    try {
      // (Txn, every write's call, has its own codec: txn-codec.ts says why)
      let f = m === txnMethod ? encodeTxnRequest(req, 5) : undefined;
      if (!f) {
        const body = m.requestSerialize(req);
        f = Buffer.allocUnsafe(5 + body.length);
        body.copy(f, 5);
      }
      f[0] = 0; // not compressed
      f.writeUInt32BE(f.length - 5, 1);
      frame = f;
    } catch (e) {
      return Promise.reject(new GrpcError(13, `cannot encode the request: ${String(e)}`));
    }
    const conn = this.lean(i);
    if (conn.fits(frame.length)) {
      return conn.call(this.headerBlock(i, m.path, token), frame, this.opts.timeoutMs).then(
        (r) => {
          if (r.httpStatus !== 200) throw new GrpcError(14, `HTTP ${r.httpStatus} from etcd`);
          if (r.status === undefined) throw new GrpcError(14, 'etcd closed the call without a status');
          if (r.status !== 0) throw new GrpcError(r.status, r.message);
          return decodeReply<T>(m, r.body);
        },
        (e: unknown) => {
          throw e instanceof H2CallError ? new GrpcError(e.code, e.details) : e;
        },
      );
    }
    return this.unaryNode<T>(i, m, frame, token);
  }

  /** The lean connection to member i (h2.ts), opened on first use and after it went away. */
  private lean(i: number): H2Conn {
    const cur = this.conns[i];
    if (cur?.usable) return cur;
    const u = new URL(`http://${this.opts.endpoints[i]}`);
    const c = new H2Conn(
      {
        host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: Number(u.port || 2379),
        tls: this.opts.tls,
        connectTimeoutMs: this.opts.timeoutMs,
      },
      (gone) => {
        if (this.conns[i] === gone) this.conns[i] = undefined;
      },
    );
    this.conns[i] = c;
    return c;
  }

  /** A call's HPACK header block, encoded once per member, method and auth token. */
  private headerBlock(i: number, path: string, token?: string): Buffer {
    const key = `${i} ${path} ${token ?? ''}`;
    let b = this.blocks.get(key);
    if (!b) {
      if (this.blocks.size > 64) this.blocks.clear(); // (old tokens)
      b = H2Conn.headers(path, this.opts.endpoints[i], this.opts.tls !== undefined, this.opts.timeoutMs, token);
      this.blocks.set(key, b);
    }
    return b;
  }

  /** The same call on Node's http2, for a request larger than the peer's stream window. */
  private unaryNode<T>(i: number, m: Method, frame: Buffer, token?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        const headers: http2.OutgoingHttpHeaders = {
          ':method': 'POST',
          ':path': m.path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${this.opts.timeoutMs}m`,
        };
        if (token) headers.token = token;
        stream = this.session(i).request(headers, { endStream: false });
        stream.end(frame);
      } catch (e) {
        reject(new GrpcError(14, e instanceof Error ? e.message : String(e)));
        return;
      }
      const chunks: Buffer[] = [];
      let status: number | undefined;
      let message = '';
      let done = false;
      const finish = (err?: GrpcError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (!err && status !== undefined && status !== 0) err = new GrpcError(status, message);
        if (!err && status === undefined) err = new GrpcError(14, 'etcd closed the call without a status');
        if (err) {
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(err);
          return;
        }
        try {
          resolve(decodeReply<T>(m, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
        } catch (e) {
          reject(e);
        }
      };
      const timer = setTimeout(() => finish(new GrpcError(4, 'Deadline exceeded')), this.opts.timeoutMs);
      const readStatus = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] === undefined) return;
        status = Number(h['grpc-status']);
        const msg = h['grpc-message'];
        message = typeof msg === 'string' ? decodeURIComponent(msg) : '';
      };
      stream.on('response', (h) => {
        const code = Number(h[':status']);
        if (code !== 200) finish(new GrpcError(14, `HTTP ${code} from etcd`));
        else readStatus(h); // a trailers-only reply (an error) has its status here
      });
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('trailers', readStatus);
      // (after the trailers: the status is known by then)
      stream.on('close', () => finish());
      stream.on('error', (e) => finish(new GrpcError(14, e.message)));
    });
  }

  /** Whether calls carry an auth token (username and password given). */
  get hasAuth(): boolean {
    return this.opts.auth !== undefined;
  }

  /** Drops the auth token: the next call authenticates again (etcd forgets tokens when it restarts). */
  forgetToken(): void {
    this.token = undefined;
  }

  private authToken(i: number): Promise<string | undefined> {
    const auth = this.opts.auth;
    if (!auth) return Promise.resolve(undefined);
    this.token ??= this.unary<{ token: string }>(i, loadMethods().Authenticate, {
      name: auth.username,
      password: auth.password,
    })
      .then((r) => r.token)
      .catch((e) => {
        this.token = undefined;
        throw e;
      });
    return this.token;
  }
}
