// The etcd store (`etcd://h1:2379,h2:2379`, `etcd+https://…`): see store.ts. Every call and watch
// goes through the store's own HTTP/2 gRPC client (kv.ts, h2.ts).
import type { Store } from '../types.js';
import type { StoreOptions } from '../open.js';
import { EtcdStore } from './store.js';
import { EtcdKv } from './kv.js';
import { invalidArgument, unavailable } from '../../../common/index.js';

const toBuf = (v: Buffer | string) => (typeof v === 'string' ? Buffer.from(v) : v);

export async function openEtcdStore(endpoints: string[], opts: StoreOptions = {}): Promise<Store> {
  const e = opts.etcd ?? {};
  const timeout = e.timeoutMs ?? 10_000;
  if (e.tls) {
    if (!e.tls.ca)
      throw invalidArgument('etcd TLS needs the CA certificate (etcd.tls.ca, or ?ca=FILE in the URL)', {
        field: 'etcd.tls.ca',
      });
    if (!e.tls.cert !== !e.tls.key)
      throw invalidArgument('etcd TLS: give both the client certificate and its key, or neither', {
        field: 'etcd.tls.cert',
      });
  }
  const kv = new EtcdKv({
    endpoints: endpoints.map((h) => h.replace(/^https?:\/\//, '')),
    tls: e.tls
      ? {
          ca: toBuf(e.tls.ca!),
          cert: e.tls.cert ? toBuf(e.tls.cert) : undefined,
          key: e.tls.key ? toBuf(e.tls.key) : undefined,
        }
      : // etcd+https:// without TLS options: verified against the system's CAs.
        endpoints.some((h) => h.startsWith('https:'))
        ? {}
        : undefined,
    timeoutMs: timeout,
    auth: e.username ? { username: e.username, password: e.password ?? '' } : undefined,
  });
  const store = new EtcdStore(kv, {
    ...opts,
    prefix: e.prefix ?? '',
    sharedWatch: e.sharedWatch,
    logger: opts.logger,
  });
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
