// openStore(url): the backend is picked by URL, as ARCHITECTURE.md says.
//   sqlite://PATH            (default; `sqlite:///abs/file.db` or `sqlite://rel/file.db`; durable: every
//                             acknowledged write is fsynced; ?sync=normal opts into the faster mode that
//                             survives a crash of the process but not of the machine)
//   etcd://h1:2379,h2:2379   (etcd+https:// for TLS, with ?ca=FILE&cert=FILE&key=FILE or opts.etcd.tls;
//                             ?prefix=/skiff to keep keys under a prefix)
//   memory://                (tests only)
// The SQLite and etcd backends are imported lazily so a caller using one does not load the others.
import { readFile } from 'node:fs/promises';
import { invalidArgument } from '../../common/index.js';
import type { Store } from './types.js';
import type { LogStoreOptions } from './log/store.js';
import { createMemoryStore } from './memory/index.js';

export interface EtcdTlsOptions {
  /** PEM of the CA that signed etcd's serving certificate. */
  ca?: Buffer | string;
  /** PEM client certificate and key, when etcd wants client certificates. */
  cert?: Buffer | string;
  key?: Buffer | string;
}

export interface StoreOptions extends LogStoreOptions {
  sqlite?: {
    /** `FULL` (default: an acknowledged write survives power loss; writes are fsynced in groups, off
     *  the event loop) or `NORMAL` (opt-in, `?sync=normal`: survives a process crash or SIGKILL only). */
    synchronous?: 'NORMAL' | 'FULL';
    /** How often the worker thread checkpoints the WAL into the database file (default 1000 ms). */
    checkpointIntervalMs?: number;
  };
  etcd?: {
    /** Prefix put before every key in etcd (default none: keys are stored as given, e.g. /registry/…). */
    prefix?: string;
    tls?: EtcdTlsOptions;
    username?: string;
    password?: string;
    /** Per-call deadline in ms (default 10 000). */
    timeoutMs?: number;
    /** Share one etcd watch per prefix between Store watches (default true). */
    sharedWatch?: boolean;
  };
}

export async function openStore(url: string, opts: StoreOptions = {}): Promise<Store> {
  if (typeof url !== 'string' || url === '') throw invalidArgument('datastore URL is empty', { field: 'datastore' });
  const m = /^([a-z0-9+]+):\/\/([^?]*)(?:\?(.*))?$/i.exec(url);
  if (!m)
    throw invalidArgument(
      `datastore URL ${JSON.stringify(url)} is not of the form sqlite://PATH, etcd://HOST:PORT[,…] or memory://`,
      { field: 'datastore' },
    );
  const [, scheme, rest, query] = m;
  const params = new URLSearchParams(query ?? '');
  switch (scheme.toLowerCase()) {
    case 'memory':
      return createMemoryStore(opts);
    case 'sqlite': {
      if (!rest)
        throw invalidArgument('sqlite:// needs a file path, e.g. sqlite:///var/lib/skiff/state.db', {
          field: 'datastore',
        });
      const sync = params.get('sync');
      if (sync !== null && !/^(normal|full)$/i.test(sync))
        throw invalidArgument(`sync must be normal or full, got ${JSON.stringify(sync)}`, { field: 'datastore' });
      const { openSqliteStore } = await import('./sqlite/index.js');
      return openSqliteStore(decodeURIComponent(rest), {
        ...opts,
        sqlite: { ...opts.sqlite, ...(sync ? { synchronous: sync.toUpperCase() as 'NORMAL' | 'FULL' } : {}) },
      });
    }
    case 'etcd':
    case 'etcd+http':
    case 'etcd+https': {
      const hostPart = rest.split('/')[0];
      const hosts = hostPart.split(',').filter(Boolean);
      if (hosts.length === 0) throw invalidArgument('etcd:// needs at least one HOST:PORT', { field: 'datastore' });
      for (const h of hosts) {
        if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i.test(h))
          throw invalidArgument(`etcd endpoint ${JSON.stringify(h)} is not HOST[:PORT]`, { field: 'datastore' });
      }
      const tls = scheme.toLowerCase() === 'etcd+https';
      const endpoints = hosts.map((h) => `${tls ? 'https' : 'http'}://${/:\d+$/.test(h) ? h : `${h}:2379`}`);
      const prefix = params.get('prefix') ?? opts.etcd?.prefix ?? '';
      // TLS material may come as files in the URL (…?ca=/etc/etcd/ca.crt&cert=…&key=…), so one
      // --datastore flag is enough; options given in code win.
      const fileTls: EtcdTlsOptions = {};
      for (const name of ['ca', 'cert', 'key'] as const) {
        const path = params.get(name);
        if (path === null) continue;
        try {
          fileTls[name] = await readFile(path);
        } catch (e) {
          throw invalidArgument(
            `datastore URL: cannot read ${name} file ${JSON.stringify(path)}: ${(e as Error).message}`,
            { field: 'datastore' },
          );
        }
      }
      if (!tls && Object.keys(fileTls).length)
        throw invalidArgument('ca, cert and key apply to etcd+https:// only', { field: 'datastore' });
      const tlsOpts =
        tls && (Object.keys(fileTls).length || opts.etcd?.tls) ? { tls: { ...fileTls, ...opts.etcd?.tls } } : {};
      const { openEtcdStore } = await import('./etcd/index.js');
      return openEtcdStore(endpoints, { ...opts, etcd: { ...opts.etcd, ...tlsOpts, prefix } });
    }
    default:
      throw invalidArgument(`unknown datastore scheme ${JSON.stringify(scheme)}: use sqlite://, etcd:// or memory://`, {
        field: 'datastore',
      });
  }
}
