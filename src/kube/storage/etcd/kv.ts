// etcd's KV service (Range, Txn, Compact) called straight on @grpc/grpc-js channels, from the
// etcd3 package's own proto files and with its request/response types. The etcd3 client stays for
// watches; its unary path is not used because of how it behaves under load: every call goes
// through a circuit breaker that opens after three consecutive failures (then refuses every call
// for 5 s), and any DEADLINE_EXCEEDED or CANCELLED makes it close the host's channels, failing
// every other call in flight on them — so one slow moment turned into seconds of 503s (measured
// with bench/etcd.ts). Here a failed call fails alone. The store decides about retries (reads
// only: store.ts); a channel that failed to connect moves calls to the next endpoint.
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type {
  ICompactionRequest,
  ICompactionResponse,
  IRangeRequest,
  IRangeResponse,
  ITxnRequest,
  ITxnResponse,
} from 'etcd3';

type Method = grpc.MethodDefinition<object, object>;
let methods: Record<'Range' | 'Txn' | 'Compact' | 'Authenticate', Method> | undefined;
function loadMethods(): NonNullable<typeof methods> {
  if (!methods) {
    const proto = createRequire(import.meta.url).resolve('etcd3/proto/rpc.proto');
    // The options etcd3 itself loads with, so replies have the shapes its types describe.
    const def = loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const find = (service: string, name: string): Method => {
      const svc = def[`etcdserverpb.${service}`];
      if (!svc || 'format' in svc || !svc[name]) throw new Error(`etcd proto: no ${service}.${name}`);
      return svc[name];
    };
    methods = {
      Range: find('KV', 'Range'),
      Txn: find('KV', 'Txn'),
      Compact: find('KV', 'Compact'),
      Authenticate: find('Auth', 'Authenticate'),
    };
  }
  return methods;
}

export interface EtcdKvOptions {
  /** host:port of each member. */
  endpoints: string[];
  credentials: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** Deadline of each call. */
  timeoutMs: number;
  auth?: { username: string; password: string };
}

export class EtcdKv {
  private readonly channels: grpc.Client[];
  private current = 0;
  private token?: Promise<grpc.Metadata>;
  private closed = false;

  constructor(private readonly opts: EtcdKvOptions) {
    loadMethods();
    this.channels = opts.endpoints.map((e) => new grpc.Client(e, opts.credentials, opts.channelOptions));
  }

  range(req: IRangeRequest): Promise<IRangeResponse> {
    return this.call<IRangeResponse>('Range', req);
  }

  txn(req: ITxnRequest): Promise<ITxnResponse> {
    return this.call<ITxnResponse>('Txn', req);
  }

  compact(req: ICompactionRequest): Promise<ICompactionResponse> {
    return this.call<ICompactionResponse>('Compact', req);
  }

  close(): void {
    this.closed = true;
    for (const c of this.channels) c.close();
  }

  private async call<T extends object>(name: 'Range' | 'Txn' | 'Compact', req: object, reauth = true): Promise<T> {
    if (this.closed) throw new Error('etcd client is closed (UNAVAILABLE)');
    const m = loadMethods()[name];
    const i = this.current;
    const md = await this.metadata(i);
    try {
      return await new Promise<T>((resolve, reject) =>
        this.channels[i].makeUnaryRequest<object, T>(
          m.path,
          m.requestSerialize,
          (b) => m.responseDeserialize(b) as T,
          req,
          md,
          { deadline: Date.now() + this.opts.timeoutMs },
          (err, res) => (err || !res ? reject(err ?? new Error('etcd: empty reply')) : resolve(res)),
        ),
      );
    } catch (e) {
      const err = e as Partial<grpc.ServiceError>;
      // The next call tries another member (this one is away, or failing over).
      if (err.code === grpc.status.UNAVAILABLE && i === this.current) this.current = (i + 1) % this.channels.length;
      // An expired token was refused before anything was done: authenticate again, once.
      if (reauth && this.opts.auth && /invalid auth token/.test(err.details ?? '')) {
        this.token = undefined;
        return this.call<T>(name, req, false);
      }
      throw e;
    }
  }

  private metadata(i: number): Promise<grpc.Metadata> {
    const auth = this.opts.auth;
    if (!auth) return Promise.resolve(new grpc.Metadata());
    this.token ??= new Promise<grpc.Metadata>((resolve, reject) => {
      const m = loadMethods().Authenticate;
      this.channels[i].makeUnaryRequest<object, { token: string }>(
        m.path,
        m.requestSerialize,
        (b) => m.responseDeserialize(b) as { token: string },
        { name: auth.username, password: auth.password },
        new grpc.Metadata(),
        { deadline: Date.now() + this.opts.timeoutMs },
        (err, res) => {
          if (err || !res) return reject(err ?? new Error('etcd: empty reply'));
          const md = new grpc.Metadata();
          md.set('token', res.token);
          resolve(md);
        },
      );
    }).catch((e) => {
      this.token = undefined;
      throw e;
    });
    return this.token;
  }
}
