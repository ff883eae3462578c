// `skiff server` composition root: PKI and kubeconfig on first start (auth module), the store
// (SQLite by default, etcd by URL), the API server over HTTPS with client-certificate / token /
// service-account authentication, graceful shutdown. Controllers, scheduler and the in-process
// agent join here as they land; until the agent exists the server runs with --disable-agent only.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, invalidArgument, type Logger } from '../common/index.js';
import { allResources } from '../kube/api/index.js';
import { openStore, type Store } from '../kube/storage/index.js';
import { createApiServer, type ApiAuth, type ApiServer } from '../kube/apiserver/index.js';
import { createAuthenticator, defaultHosts, ensurePki, serverTlsOptions, writeKubeconfig } from '../kube/apiserver/auth/index.js';
import * as authModule from '../kube/apiserver/auth/index.js';

export interface ServerOptions {
  dataDir: string;
  /** host:port to serve HTTPS on (default 127.0.0.1:6443; port 0 picks a free one). */
  httpsListen?: string;
  /** sqlite://PATH | etcd://h1:2379,h2:2379 | memory:// (default sqlite://DATA_DIR/state.db). */
  datastore?: string;
  log?: Logger;
}

export interface RunningServer {
  url: string;
  kubeconfig: string;
  api: ApiServer;
  store: Store;
  /** Milliseconds from start to ready. */
  startupMs: number;
  close(): Promise<void>;
}

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw invalidArgument(`--https-listen: expected HOST:PORT, got ${JSON.stringify(s)}`, { field: 'https-listen' });
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const t0 = performance.now();
  const log = opts.log ?? createLogger({ component: 'server' });
  const { host, port } = parseListen(opts.httpsListen ?? '127.0.0.1:6443');
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const clientHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const pki = await ensurePki(opts.dataDir, { hosts: [...new Set([clientHost, ...defaultHosts()])] });
  const store = await openStore(opts.datastore ?? `sqlite://${join(opts.dataDir, 'state.db')}`);
  const authenticate = createAuthenticator({ pki, onReject: (reason) => log.debug('authentication refused', { reason }) });
  const auth: ApiAuth = {
    authenticate: (req) => authenticate(req),
    // RBAC is wired here once the auth module exports its authorizer; until then every
    // authenticated user is allowed (anonymous requests are refused by authentication).
    authorize: async () => ({ allowed: true }),
  };
  const rbac = (authModule as Record<string, unknown>).createRbacAuthorizer;
  void rbac;
  const api = createApiServer({ store, resources: allResources(), auth, tls: serverTlsOptions(pki), log: log.child({ component: 'apiserver' }) });
  let addr;
  try { addr = await api.listen(port, host); }
  catch (e) { await store.close(); throw e; }
  const url = `https://${clientHost.includes(':') ? `[${clientHost}]` : clientHost}:${addr.port}`;
  const kubeconfig = join(opts.dataDir, 'kubeconfig.yaml');
  await writeKubeconfig(kubeconfig, { server: url, pki });
  const startupMs = performance.now() - t0;
  log.info('API server ready', { url, kubeconfig, startupMs: Math.round(startupMs) });
  return {
    url, kubeconfig, api, store, startupMs,
    async close() { await api.close(); await store.close(); },
  };
}
