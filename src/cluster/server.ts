// `skiff server` composition root: PKI and kubeconfig on first start (auth module), the store
// (SQLite by default, etcd by URL), the API server over HTTPS with client-certificate / token /
// service-account authentication, graceful shutdown. Controllers, scheduler and the in-process
// agent join here as they land; until the agent exists the server runs without one (no nodes).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { chmod, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { stringify as stringifyYaml } from 'yaml';
import { join } from 'node:path';
import { createLogger, invalidArgument, type Logger } from '../common/index.js';
import { allResources } from '../kube/api/index.js';
import { openStore, type Store } from '../kube/storage/index.js';
import { KubeClient } from '../kube/client/index.js';
import { startControllers, type RunningControllers } from '../kube/controllers/index.js';
import {
  auth as security,
  createApiServer,
  decodeRequestBody as readRequestBody,
  errForbidden,
  errNotFound,
  readObject,
  podStreamHandlers,
  type Admission,
  type ApiAuth,
  type ApiServer,
  type VirtualHandler,
} from '../kube/apiserver/index.js';

export interface ServerOptions {
  dataDir: string;
  /** host:port to serve HTTPS on (default 127.0.0.1:6443; port 0 picks a free one). */
  httpsListen?: string;
  /** sqlite://PATH | etcd://h1:2379,h2:2379 | memory:// (default sqlite://DATA_DIR/state.db). */
  datastore?: string;
  /** Run the control plane's controllers (garbage collector, namespace controller); default true. */
  controllers?: boolean;
  /** Service cluster IP range (default 10.96.0.0/12). */
  serviceCIDR?: string;
  log?: Logger;
}

export interface RunningServer {
  url: string;
  /** DATA_DIR/kubeconfig.yaml (admin credentials for kubectl). */
  kubeconfigPath: string;
  /** Same as kubeconfigPath (kept for existing callers). */
  kubeconfig: string;
  api: ApiServer;
  store: Store;
  /** Milliseconds from start to ready. */
  startupMs: number;
  close(): Promise<void>;
}

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535)
    throw invalidArgument(`--https-listen: expected HOST:PORT, got ${JSON.stringify(s)}`, { field: 'https-listen' });
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const t0 = performance.now();
  const log = opts.log ?? createLogger({ component: 'server' });
  const { host, port } = parseListen(opts.httpsListen ?? '127.0.0.1:6443');
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const clientHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const marks: Record<string, number> = {};
  const mark = (k: string) => {
    marks[k] = Math.round(performance.now() - t0);
  };
  // PKI and store open concurrently: both are I/O and neither needs the other.
  const [pki, store] = await Promise.all([
    security
      .ensurePki(opts.dataDir, { hosts: [...new Set([clientHost, ...security.defaultHosts()])] })
      .finally(() => mark('pki')),
    openStore(opts.datastore ?? `sqlite://${join(opts.dataDir, 'state.db')}`).finally(() => mark('store')),
  ]);
  const authenticateExternal = security.createAuthenticator({
    pki,
    onReject: (reason) => log.debug('authentication refused', { reason }),
  });
  // The in-process controllers reach the API over a private unix socket (0600, in the data dir);
  // what arrives there is the control plane itself.
  const authenticate = async (req: http.IncomingMessage) =>
    (req as { [INTERNAL]?: boolean })[INTERNAL] ? INTERNAL_USER : authenticateExternal(req);
  await ensureBootstrapPolicy(store);
  mark('rbac-bootstrap');
  const rbac = await storeRbacSource(store, log);
  const authorizer = security.createRbacAuthorizer(rbac.source);
  const auth: ApiAuth = {
    authenticate: (req) => authenticate(req),
    authorize: (a) =>
      authorizer.authorize(a.user, {
        verb: a.verb,
        resourceRequest: a.resourceRequest,
        path: a.path,
        apiGroup: a.group,
        apiVersion: a.version,
        resource: a.resource,
        subresource: a.subresource,
        namespace: a.namespace,
        name: a.name,
      }),
    impersonate: async (user, req) => {
      const r = await security.impersonate(authorizer, user, req.headers);
      return 'forbidden' in r ? { status: { ...r.forbidden } } : { user: r.user };
    },
  };
  // RBAC objects may not grant more than their writer holds (upstream's escalation check).
  const rbacWrites: Admission = async (op, def, obj, old, user) => {
    if (!user) return;
    const d = await security.checkRbacWrite(authorizer, user, {
      op,
      group: def.group,
      kind: def.kind,
      object: obj,
      old,
    });
    if (!d.allowed)
      throw errForbidden(`${def.plural}.${def.group} "${obj.metadata.name ?? ''}" is forbidden: ${d.reason}`, {
        resource: def.plural,
        group: def.group,
        name: obj.metadata.name,
      });
  };
  const virtual: Record<string, VirtualHandler> = {
    'authentication.k8s.io/tokenreviews': async (r) => {
      const body = ((await readRequestBody(r.req)) ?? {}) as { spec?: unknown };
      const status = await security.reviewToken(authenticateExternal, body.spec ?? {});
      return {
        code: 201,
        body: {
          kind: 'TokenReview',
          apiVersion: 'authentication.k8s.io/v1',
          metadata: { creationTimestamp: null },
          spec: body.spec ?? {},
          status,
        },
      };
    },
    // `kubectl auth can-i --list`: the rules that apply to the requesting user in a namespace.
    'authorization.k8s.io/selfsubjectrulesreviews': async (r) => {
      const body = ((await readRequestBody(r.req)) ?? {}) as { spec?: { namespace?: string } };
      const status = await security.reviewRules(
        authorizer,
        r.user ?? { username: 'system:anonymous', groups: ['system:unauthenticated'] },
        body.spec?.namespace ?? '',
      );
      return {
        code: 201,
        body: {
          kind: 'SelfSubjectRulesReview',
          apiVersion: 'authorization.k8s.io/v1',
          metadata: { creationTimestamp: null },
          spec: body.spec ?? {},
          status,
        },
      };
    },
  };
  // Secrets are encrypted at rest by default (AES-GCM, key file in the data dir).
  const secrets = security.createSecretTransformer(await security.loadOrCreateEncryptionKey(opts.dataDir));
  const transformers = {
    '/secrets': {
      toStorage: (b: Uint8Array, k: string) => secrets.encrypt(b, k),
      fromStorage: (b: Uint8Array, k: string) => secrets.decrypt(b, k),
    },
  };
  // `kubectl create token SA`: POST serviceaccounts/NAME/token (TokenRequest).
  const subresources: Record<string, VirtualHandler> = {
    ...podStreamHandlers(),
    '/serviceaccounts/token': async (r) => {
      if (r.info.verb !== 'create') throw errNotFound({ resource: 'serviceaccounts/token', name: r.info.name });
      const body = ((await readRequestBody(r.req)) ?? {}) as { spec?: unknown };
      const sa = await readObject(r.ctx, r.def, r.info.namespace, r.info.name!);
      if (!sa) throw errNotFound({ resource: 'serviceaccounts', name: r.info.name });
      const lookup = async (ref: { kind: string; name: string; namespace: string }) => {
        const def = r.ctx.registry.byKind('', ref.kind);
        const got = def
          ? await readObject(r.ctx, def, def.namespaced ? ref.namespace : undefined, ref.name)
          : undefined;
        return got?.obj.metadata.uid ? { uid: got.obj.metadata.uid } : undefined;
      };
      const status = await security.requestServiceAccountToken(
        pki.serviceAccountKey,
        { namespace: r.info.namespace!, name: r.info.name!, uid: sa.obj.metadata.uid! },
        body.spec ?? {},
        { lookupBoundObject: lookup },
      );
      return {
        code: 201,
        body: {
          kind: 'TokenRequest',
          apiVersion: 'authentication.k8s.io/v1',
          metadata: { name: r.info.name, namespace: r.info.namespace, creationTimestamp: null },
          spec: body.spec ?? {},
          status,
        },
      };
    },
  };
  const api = createApiServer({
    store,
    resources: allResources(),
    auth,
    virtual,
    subresources,
    admission: [rbacWrites],
    transformers,
    tls: security.serverTlsOptions(pki),
    log: log.child({ component: 'apiserver' }),
    ...(opts.serviceCIDR ? { serviceNetwork: { cidr: opts.serviceCIDR } } : {}),
  });
  let addr;
  try {
    addr = await api.listen(port, host);
  } catch (e) {
    await store.close();
    throw e;
  }
  mark('listen');
  const url = `https://${clientHost.includes(':') ? `[${clientHost}]` : clientHost}:${addr.port}`;
  const kubeconfig = join(opts.dataDir, 'kubeconfig.yaml');
  // Rewritten only when it changes (an fsync'd atomic write costs more than the rest of a restart).
  const wanted = stringifyYaml(security.kubeconfigObject({ server: url, pki }));
  if ((await readFile(kubeconfig, 'utf8').catch(() => '')) !== wanted)
    await security.writeKubeconfig(kubeconfig, { server: url, pki });
  const startupMs = performance.now() - t0;
  log.info('API server ready', { url, kubeconfig, startupMs: Math.round(startupMs), phases: marks });
  // Controllers start after readiness (they are clients; the API is what they wait for).
  let internal: { server: http.Server; path: string; cleanup(): void } | undefined;
  let controllers: Promise<RunningControllers | undefined> = Promise.resolve(undefined);
  let client: KubeClient | undefined;
  if (opts.controllers !== false) {
    controllers = (async () => {
      internal = await listenInternal(opts.dataDir, api);
      client = new KubeClient({ socketPath: internal.path, userAgent: 'skiff-controller-manager' });
      const clusterIP = api.context.services?.firstIP;
      return startControllers(client, {
        log: log.child({ component: 'controllers' }),
        kubernetesService: clusterIP ? { clusterIP, endpointIP: clientHost, endpointPort: addr.port } : undefined,
      });
    })().catch((e) => {
      log.error('controllers failed to start', { error: e instanceof Error ? e.stack : String(e) });
      return undefined;
    });
  }
  return {
    url,
    kubeconfig,
    kubeconfigPath: kubeconfig,
    api,
    store,
    startupMs,
    async close() {
      (await controllers)?.stop();
      client?.close();
      if (internal) {
        const i = internal;
        await new Promise<void>((r) => i.server.close(() => r()));
        i.server.closeAllConnections();
        i.cleanup();
      }
      rbac.stop();
      await api.close();
      await store.close();
    },
  };
}

const INTERNAL = Symbol('skiff.internal-request');
const INTERNAL_USER = {
  username: 'system:kube-controller-manager',
  groups: ['system:masters', 'system:authenticated'],
};

/** A plain-HTTP listener on a 0600 unix socket for the in-process controllers. */
async function listenInternal(
  dataDir: string,
  api: ApiServer,
): Promise<{ server: http.Server; path: string; cleanup(): void }> {
  let dir = join(dataDir, 'run');
  let path = join(dir, 'api.sock');
  let cleanup = () => {
    rmSync(path, { force: true });
  };
  if (Buffer.byteLength(path) > 100) {
    // sun_path limit
    dir = mkdtempSync(join(tmpdir(), 'skiff-api-'));
    path = join(dir, 'api.sock');
    cleanup = () => {
      rmSync(dir, { recursive: true, force: true });
    };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await rm(path, { force: true });
  const server = http.createServer((req, res) => {
    (req as { [INTERNAL]?: boolean })[INTERNAL] = true;
    api.handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return { server, path, cleanup };
}

const RBAC_PREFIX = '/registry/rbac.authorization.k8s.io/';
const te = new TextEncoder(),
  td = new TextDecoder();

/** Upstream's bootstrap roles and bindings, created when missing (as kube-apiserver does at start). */
async function ensureBootstrapPolicy(store: Store): Promise<void> {
  const { clusterRoles, clusterRoleBindings } = security.bootstrapPolicy();
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const present = new Set<string>();
  for (const plural of ['clusterroles', 'clusterrolebindings']) {
    let cont: string | undefined;
    do {
      const page = await store.list(`${RBAC_PREFIX}${plural}/`, { limit: 1000, continue: cont });
      for (const kv of page.items) present.add(kv.key);
      cont = page.continue;
    } while (cont);
  }
  const put = async (plural: string, kind: string, o: { metadata: { name?: string } }) => {
    const key = `${RBAC_PREFIX}${plural}/${o.metadata.name ?? ''}`;
    if (present.has(key)) return;
    const obj = {
      ...o,
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      metadata: { ...o.metadata, uid: crypto.randomUUID(), creationTimestamp: now },
    };
    try {
      await store.create(key, te.encode(JSON.stringify(obj)));
    } catch {
      /* created concurrently by another server */
    }
  };
  for (const r of clusterRoles) await put('clusterroles', 'ClusterRole', r);
  for (const b of clusterRoleBindings) await put('clusterrolebindings', 'ClusterRoleBinding', b);
}

/** RBAC objects read from the store, cached until a watch reports a change to their kind. */
async function storeRbacSource(store: Store, log: Logger): Promise<{ source: security.RbacSource; stop(): void }> {
  const list = async <T>(prefix: string): Promise<T[]> => {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const page = await store.list(prefix, { limit: 1000, continue: cont });
      for (const kv of page.items) out.push(JSON.parse(td.decode(kv.value)) as T);
      cont = page.continue;
    } while (cont);
    return out;
  };
  const cached = security.createCachedRbacSource({
    listClusterRoles: () => list(`${RBAC_PREFIX}clusterroles/`),
    listClusterRoleBindings: () => list(`${RBAC_PREFIX}clusterrolebindings/`),
    listRoles: (ns) => list(`${RBAC_PREFIX}roles/${ns}/`),
    listRoleBindings: (ns) => list(`${RBAC_PREFIX}rolebindings/${ns}/`),
  });
  const ac = new AbortController();
  let rev = await store.currentRevision();
  void (async () => {
    while (!ac.signal.aborted) {
      try {
        const w = store.watch(RBAC_PREFIX, rev, { signal: ac.signal });
        ac.signal.addEventListener('abort', () => w.close(), { once: true });
        for await (const ev of w) {
          if (ev.type === 'PROGRESS') continue;
          rev = ev.kv.modRevision;
          const [kind, ns] = ev.kv.key.slice(RBAC_PREFIX.length).split('/');
          cached.onChange(kind as security.RbacKind, kind === 'roles' || kind === 'rolebindings' ? ns : undefined);
        }
      } catch (e) {
        if (ac.signal.aborted) break;
        log.warn('rbac watch ended; dropping the cache', { error: e instanceof Error ? e.message : String(e) });
        cached.onChange();
        await new Promise((r) => setTimeout(r, 200));
        try {
          rev = await store.currentRevision();
        } catch {
          /* retry */
        }
      }
    }
  })();
  return { source: cached, stop: () => ac.abort() };
}
