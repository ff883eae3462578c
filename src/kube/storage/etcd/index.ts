// The etcd store (`etcd://h1:2379,h2:2379`, `etcd+https://…`): see store.ts.
import { Etcd3, type IOptions } from 'etcd3';
import type { Store } from '../types.js';
import type { StoreOptions } from '../open.js';
import * as grpc from '@grpc/grpc-js';
import { EtcdStore } from './store.js';
import { EtcdKv } from './kv.js';
import { invalidArgument, unavailable } from '../../../common/index.js';

const toBuf = (v: Buffer | string) => (typeof v === 'string' ? Buffer.from(v) : v);

export async function openEtcdStore(endpoints: string[], opts: StoreOptions = {}): Promise<Store> {
  const e = opts.etcd ?? {};
  const timeout = e.timeoutMs ?? 10_000;
  const options: IOptions = {
    hosts: endpoints,
    dialTimeout: timeout,
    // gRPC's default 4 MiB reply cap is below a large range (the store pages big lists anyway).
    grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
    // Writes are never retried blindly (a lost reply to a create would come back as KeyExists):
    // the store retries reads itself and reports write failures as Unavailable.
    faultHandling: {
      global: {
        execute: (fn: (ctx: { signal: AbortSignal }) => unknown) =>
          Promise.resolve(fn({ signal: new AbortController().signal })),
      } as never,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  };
  if (e.tls) {
    if (!e.tls.ca)
      throw invalidArgument('etcd TLS needs the CA certificate (etcd.tls.ca, or ?ca=FILE in the URL)', {
        field: 'etcd.tls.ca',
      });
    if (!e.tls.cert !== !e.tls.key)
      throw invalidArgument('etcd TLS: give both the client certificate and its key, or neither', {
        field: 'etcd.tls.cert',
      });
    options.credentials = {
      rootCertificate: toBuf(e.tls.ca),
      privateKey: e.tls.key ? toBuf(e.tls.key) : undefined,
      certChain: e.tls.cert ? toBuf(e.tls.cert) : undefined,
    };
  }
  // etcd+https:// without TLS options: the client library verifies against the system's CAs.
  if (e.username) options.auth = { username: e.username, password: e.password ?? '' };
  const client = new Etcd3(options);
  const kv = new EtcdKv({
    endpoints: endpoints.map((h) => h.replace(/^https?:\/\//, '')),
    credentials: options.credentials
      ? grpc.credentials.createSsl(
          options.credentials.rootCertificate,
          options.credentials.privateKey,
          options.credentials.certChain,
        )
      : endpoints.some((h) => h.startsWith('https:'))
        ? grpc.credentials.createSsl()
        : grpc.credentials.createInsecure(),
    channelOptions: options.grpcOptions,
    timeoutMs: timeout,
    auth: options.auth,
  });
  const store = new EtcdStore(client, kv, { ...opts, prefix: e.prefix ?? '', sharedWatch: e.sharedWatch });
  try {
    await store.currentRevision();
  } catch (err) {
    await store.close();
    throw unavailable(
      `cannot reach etcd at ${endpoints.join(', ')}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err, field: 'datastore' },
    );
  }
  return store;
}
