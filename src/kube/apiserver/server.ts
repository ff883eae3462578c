// Composition of the API server: the HTTP(S) listener, non-resource endpoints (health, version,
// discovery, OpenAPI), authentication/authorization hooks, and dispatch of resource requests to
// the verb handlers. Errors of every handler become Status objects here (through status.ts).
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../common/index.js';
import type { KubeObject, ResourceDefinition } from '../api/index.js';
import type { Store } from '../storage/index.js';
import type { ApiAuth, ApiContext, HandlerResult, RequestScope, UserInfo } from './context.js';
import { KindCache } from './admission/cache.js';
import { namespaceLifecycle } from './admission/lifecycle.js';
import { defaultAdmissionPlugins } from './admission/defaults.js';
import { SYSTEM_PRIORITY_CLASSES } from './admission/priority.js';
import { createObjectReader } from './admission/reader.js';
import type { AdmissionPlugin } from './admission/types.js';
import {
  AGGREGATED_CONTENT_TYPE,
  aggregatedDiscovery,
  legacyApiGroup,
  legacyApiGroupList,
  legacyApiVersions,
  legacyResourceList,
  wantsAggregated,
} from './discovery.js';
import { handleCreate } from './handlers/create.js';
import { handleDelete, handleDeleteCollection } from './handlers/delete.js';
import { handleGet } from './handlers/get.js';
import { handleList } from './handlers/list.js';
import { handlePatch } from './handlers/patch.js';
import { handleSubresource } from './handlers/subresources.js';
import { handleUpdate } from './handlers/update.js';
import { writeJSON, writeStatus } from './http.js';
import { openApiCaches, serveOpenApi } from './openapi-v2.js';
import { Registry, type ValueTransformer } from './registry.js';
import { requestInfo, requestTarget, type RequestTarget, type ResourceRequest } from './router.js';
import { apiServerChecks, serveHealth } from './health.js';
import { ApiMetrics } from './metrics.js';
import { ApiError, errForbidden, errMethodNotAllowed, statusOf, toStatus } from './status.js';
import { handleWatch } from './watch.js';
import { createIfMissing } from './system.js';
import { startCrdController, type CrdController } from './crd.js';
import { DEFAULT_EVENT_TTL_MS, observeEventWrites, startEventReaper, type EventReaper } from './event-ttl.js';
import { customResourceDefinition } from './crd-definition.js';
import { ServiceAllocator, type ServiceNetworkOptions } from './service-ips.js';
import { createVirtualHandlers, VIRTUAL_DEFINITIONS, type VirtualHandler } from './virtual.js';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
/** Kinds admission reads, kept in caches (group, plural). */
const CACHED_KINDS: [string, string][] = [
  ['', 'namespaces'],
  ['', 'serviceaccounts'],
  ['', 'limitranges'],
  ['', 'resourcequotas'],
  ['scheduling.k8s.io', 'priorityclasses'],
  ['storage.k8s.io', 'storageclasses'],
  // (the RBAC authorizer reads these on every request)
  ['rbac.authorization.k8s.io', 'clusterroles'],
  ['rbac.authorization.k8s.io', 'clusterrolebindings'],
  ['rbac.authorization.k8s.io', 'roles'],
  ['rbac.authorization.k8s.io', 'rolebindings'],
];
export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-skiff' };

export interface ApiServerOptions {
  store: Store;
  resources: ResourceDefinition[];
  auth?: ApiAuth;
  /** Admission plugins after NamespaceLifecycle (which always runs first), in order. Default:
   *  upstream's default set without ServiceAccount (defaults.ts says why); `skiff server` runs
   *  the whole set (control-plane.ts). */
  admission?: AdmissionPlugin[];
  /** Stored-bytes transformers by `group/plural` (e.g. `/secrets` → encryption at rest). */
  transformers?: Record<string, ValueTransformer>;
  /** Create-only virtual resources by `group/plural` (access reviews, token reviews). */
  virtual?: Record<string, VirtualHandler>;
  /** Extra subresource handlers by `group/plural/subresource` (e.g. `/serviceaccounts/token`). */
  subresources?: Record<string, VirtualHandler>;
  /** Read-only kinds answered by a handler instead of the store (get and list), e.g. metrics.k8s.io. */
  readers?: { def: ResourceDefinition; handle: VirtualHandler }[];
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
  log?: Logger;
  /** Service cluster IP range and node port range (default 10.96.0.0/12, 30000-32767); false: no allocation. */
  serviceNetwork?: ServiceNetworkOptions | false;
  /** Namespaces created at start (default: default, kube-system, kube-public, kube-node-lease). */
  systemNamespaces?: string[];
  /** Events are deleted this long after their last write (--event-ttl; default 1 h; 0: kept). */
  eventTtlMs?: number;
}

export interface ApiServer {
  registry: Registry;
  context: ApiContext;
  /** Handles one request (in-process tests use this without a port). */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Creates system namespaces and starts the CRD controller; idempotent. */
  start(): Promise<void>;
  listen(port: number, host?: string): Promise<{ port: number; host: string; url: string }>;
  close(): Promise<void>;
}

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const virtual = { ...createVirtualHandlers(), ...opts.virtual };
  const registry = new Registry([
    ...VIRTUAL_DEFINITIONS.filter(
      (v) =>
        virtual[`${v.group}/${v.plural}`] && !opts.resources.some((d) => d.group === v.group && d.plural === v.plural),
    ),
    ...opts.resources,
    ...(opts.readers ?? []).map((x) => x.def),
    ...(opts.resources.some((d) => d.kind === 'CustomResourceDefinition') ? [] : [customResourceDefinition]),
  ]);
  const readers = new Map((opts.readers ?? []).map((x) => [`${x.def.group}/${x.def.plural}`, x.handle]));
  // Upgrade requests (exec, attach, port-forward) carry their client connection to the handler.
  const upgrades = new WeakMap<http.IncomingMessage, { socket: import('node:stream').Duplex; head: Buffer }>();
  for (const [k, t] of Object.entries(opts.transformers ?? {})) registry.transformers.set(k, t);
  const log = opts.log ?? createLogger({ component: 'apiserver' });
  const caches = new Map<string, KindCache>();
  let reaper: EventReaper | undefined;
  const eventTtl = opts.eventTtlMs ?? DEFAULT_EVENT_TTL_MS;
  const ctx: ApiContext = {
    // (the Events this server writes are reported to its reaper, which deletes them ttl later)
    store: eventTtl > 0 ? observeEventWrites(opts.store, (kv) => reaper?.written(kv)) : opts.store,
    registry,
    log,
    auth: opts.auth,
    admission: [namespaceLifecycle, ...(opts.admission ?? defaultAdmissionPlugins({ serviceAccount: false }))],
    reader: createObjectReader(opts.store, registry, caches),
    caches,
    version: KUBE_VERSION,
  };
  const openapi = openApiCaches(registry, KUBE_VERSION.gitVersion);
  let ready = false;
  let closing = false;
  const metrics = new ApiMetrics();
  const health = apiServerChecks(
    ctx.store,
    () => ready,
    () => closing,
  );
  let crd: CrdController | undefined;
  let server: http.Server | https.Server | undefined;
  const sockets = new Set<import('node:net').Socket>();

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    // A client going away mid-request surfaces as stream errors; they end this request only.
    req.on('error', () => {});
    res.on('error', () => {});
    serve(req, res).catch((e) => {
      log.error('request failed', { path: req.url, error: e instanceof Error ? e.stack : String(e) });
      if (!res.headersSent) writeStatus(res, toStatus(e));
      else res.end();
    });
  };

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = requestTarget(req.url ?? '/');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const info = requestInfo(method, path, url.searchParams);
    // Health endpoints are open (as upstream's system:public-info-viewer allows).
    if (['/healthz', '/livez', '/readyz'].includes(path) || /^\/(healthz|livez|readyz)\//.test(path)) {
      req.resume();
      return serveHealth(res, path, url.searchParams, health);
    }
    if (info.kind === 'resource') metrics.track(req, res, info, url.searchParams.get('dryRun') ?? '');
    let user: UserInfo | undefined;
    if (ctx.auth) {
      user = await ctx.auth.authenticate(req);
      if (!user) {
        req.resume();
        return writeStatus(res, statusOf(401, 'Unauthorized', 'Unauthorized'));
      }
      if (ctx.auth.impersonate) {
        const imp = await ctx.auth.impersonate(user, req);
        if ('status' in imp) {
          req.resume();
          return writeJSON(res, imp.status.code, imp.status);
        }
        user = imp.user;
      }
      const attrs =
        info.kind === 'resource'
          ? {
              user,
              verb: info.verb,
              resourceRequest: true,
              path,
              group: info.group,
              version: info.version,
              resource: info.resource,
              subresource: info.subresource,
              namespace: info.namespace,
              name: info.name,
            }
          : { user, verb: info.verb, resourceRequest: false, path };
      const d = await ctx.auth.authorize(attrs);
      if (!d.allowed) {
        req.resume();
        const who = `User "${user.username}"`;
        const msg =
          info.kind === 'resource'
            ? `${info.resource}${info.group ? '.' + info.group : ''}${info.name ? ` "${info.name}"` : ''} is forbidden: ${who} cannot ${info.verb} resource "${info.resource}${info.subresource ? '/' + info.subresource : ''}" in API group "${info.group}"${info.namespace ? ` in the namespace "${info.namespace}"` : info.resource === 'namespaces' ? '' : ' at the cluster scope'}${d.reason ? `: ${d.reason}` : ''}`
            : `forbidden: ${who} cannot ${info.verb} path "${path}"`;
        return writeStatus(
          res,
          toStatus(
            errForbidden(
              msg,
              info.kind === 'resource' ? { resource: info.resource, group: info.group, name: info.name } : undefined,
            ),
          ),
        );
      }
    }
    if (info.kind === 'nonresource') return nonResource(req, res, path, method);
    return resource(req, res, url, info, user);
  }

  function nonResource(req: http.IncomingMessage, res: http.ServerResponse, path: string, method: string): void {
    req.resume();
    if (method !== 'GET' && method !== 'HEAD')
      return writeStatus(
        res,
        toStatus(errMethodNotAllowed(`the server does not allow this method on the requested resource`)),
      );
    const host = `${req.socket.localAddress ?? '127.0.0.1'}:${req.socket.localPort ?? 6443}`;
    if (path === '/version') {
      return writeJSON(res, 200, {
        ...KUBE_VERSION,
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: `node${process.versions.node}`,
        compiler: 'tsc',
        platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
      });
    }
    if (path === '/api' || path === '/apis') {
      const agg = wantsAggregated(req);
      if (agg) {
        const body = JSON.stringify(aggregatedDiscovery(registry, path === '/api', agg));
        res.writeHead(200, {
          'Content-Type': AGGREGATED_CONTENT_TYPE.replace('v=v2', `v=${agg}`),
          Vary: 'Accept',
          'Content-Length': Buffer.byteLength(body),
        });
        res.end(body);
        return;
      }
      return writeJSON(res, 200, path === '/api' ? legacyApiVersions(host) : legacyApiGroupList(registry));
    }
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts.length === 2) {
      const l = legacyResourceList(registry, '', parts[1]);
      if (l) return writeJSON(res, 200, l);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = legacyApiGroup(registry, parts[1]);
      if (g) return writeJSON(res, 200, g);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const l = legacyResourceList(registry, parts[1], parts[2]);
      if (l) return writeJSON(res, 200, l);
    }
    if (path.startsWith('/openapi/') && serveOpenApi(req, res, path, openapi)) return;
    if (path === '/metrics') {
      const text = metrics.render();
      res.writeHead(200, {
        'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    if (path === '/')
      return writeJSON(res, 200, {
        paths: '/api /api/v1 /apis /healthz /livez /metrics /openapi/v2 /openapi/v3 /readyz /version'.split(' '),
      });
    writeStatus(res, statusOf(404, 'NotFound', 'the server could not find the requested resource', {}));
  }

  async function resource(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: RequestTarget,
    info: ResourceRequest,
    user?: UserInfo,
  ): Promise<void> {
    const def = registry.lookup(info.group, info.version, info.resource);
    const target = { resource: info.resource, group: info.group, name: info.name };
    if (!def || (!def.namespaced && info.namespace !== undefined && info.resource !== 'namespaces')) {
      req.resume();
      return writeStatus(res, statusOf(404, 'NotFound', 'the server could not find the requested resource', {}));
    }
    const scope: RequestScope = {
      ctx,
      req,
      res,
      query: url.searchParams,
      info,
      def,
      target,
      warnings: [],
      user,
      upgrade: upgrades.get(req),
      // (set by write handlers: present from the start, one object shape for every request)
      shareWritten: false,
    };
    try {
      const reader = info.subresource ? undefined : readers.get(`${def.group}/${def.plural}`);
      if (reader) {
        if (info.verb !== 'get' && info.verb !== 'list')
          throw errMethodNotAllowed(`${info.verb} is not supported on ${def.plural}`);
        req.resume();
        const out = await reader(scope);
        return writeJSON(res, out.code, out.body, scope.warnings);
      }
      const v = virtual[`${def.group}/${def.plural}`];
      if (v) {
        if (info.verb !== 'create') throw errMethodNotAllowed(`${info.verb} is not supported on ${def.plural}`);
        const out = await v(scope);
        return writeJSON(res, out.code, out.body, scope.warnings);
      }
      const verbs = def.verbs?.length
        ? def.verbs
        : ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
      if (!info.subresource && !verbs.includes(info.verb))
        throw errMethodNotAllowed(`${info.verb} is not supported on ${def.plural}`);
      if (info.verb === 'watch') {
        await handleWatch(scope);
        return;
      }
      let out: HandlerResult;
      const extra = info.subresource
        ? opts.subresources?.[`${def.group}/${def.plural}/${info.subresource}`]
        : undefined;
      if (extra) out = await extra(scope);
      else if (info.subresource) {
        if (req.method === 'GET' || req.method === 'HEAD') req.resume();
        out = await handleSubresource(scope);
      } else
        switch (info.verb) {
          case 'get':
            req.resume();
            out = await handleGet(scope);
            break;
          case 'list':
            req.resume();
            out = await handleList(scope);
            break;
          case 'create':
            out = await handleCreate(scope);
            break;
          case 'update':
            out = await handleUpdate(scope);
            break;
          case 'patch':
            out = await handlePatch(scope);
            break;
          case 'delete':
            out = await handleDelete(scope);
            break;
          case 'deletecollection':
            out = await handleDeleteCollection(scope);
            break;
        }
      if (out.handled) return;
      writeJSON(res, out.code, out.body, scope.warnings, out.raw);
    } catch (e) {
      if (e instanceof ApiError || (e as { code?: unknown }).code !== undefined) {
        if (!req.complete) req.resume();
      }
      if (!(e instanceof ApiError))
        log.debug('request error', { path: url.pathname, error: e instanceof Error ? e.message : String(e) });
      writeStatus(res, toStatus(e, target), scope.warnings);
    }
  }

  /** The system namespaces, created when missing through the write pipeline. */
  async function ensureNamespaces(): Promise<void> {
    const nsDef = registry.preferred('', 'namespaces');
    if (!nsDef) return;
    for (const name of opts.systemNamespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      if (await ctx.reader.get('', 'namespaces', undefined, name)) continue;
      await createIfMissing(ctx, nsDef, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
  }

  return {
    registry,
    context: ctx,
    handle,
    async start() {
      if (ready) return;
      // Caches of the kinds admission reads on every write it admits.
      for (const [group, plural] of CACHED_KINDS) {
        const def = registry.preferred(group, plural);
        if (!def || registry.transformers.has(`${group}/${plural}`)) continue;
        const c = new KindCache(ctx, def);
        await c.start();
        caches.set(`${group}/${plural}`, c);
      }
      await ensureNamespaces();
      // The system PriorityClasses, as upstream's scheduling post-start hook creates them.
      const pcDef = registry.preferred('scheduling.k8s.io', 'priorityclasses');
      if (pcDef)
        for (const pc of SYSTEM_PRIORITY_CLASSES)
          if (!(await ctx.reader.get('scheduling.k8s.io', 'priorityclasses', undefined, pc.metadata.name!)))
            await createIfMissing(ctx, pcDef, pc);
      const svcDef = registry.lookup('', 'v1', 'services');
      if (svcDef && opts.serviceNetwork !== false) {
        ctx.services = new ServiceAllocator(ctx.store, opts.serviceNetwork ?? { cidr: DEFAULT_SERVICE_CIDR });
        await ctx.services.start(ctx, registry.prefix(svcDef));
      }
      crd = await startCrdController(ctx);
      reaper = startEventReaper(registry, opts.store, eventTtl, opts.log);
      ready = true;
    },
    async listen(port, host = '127.0.0.1') {
      await this.start();
      server = opts.tls
        ? https.createServer(
            {
              key: opts.tls.key,
              cert: opts.tls.cert,
              ca: opts.tls.ca,
              requestCert: true,
              rejectUnauthorized: false,
              ALPNProtocols: ['http/1.1'],
            },
            handle,
          )
        : http.createServer(handle);
      server.keepAliveTimeout = 65_000;
      server.requestTimeout = 0;
      server.headersTimeout = 60_000;
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.on('secureConnection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.on('upgrade', (req: http.IncomingMessage, socket: import('node:net').Socket, head: Buffer) => {
        socket.on('error', () => {});
        upgrades.set(req, { socket, head });
        const res = new http.ServerResponse(req);
        res.assignSocket(socket);
        res.shouldKeepAlive = false;
        // An error answer ends the connection (there is no keep-alive after an upgrade request).
        res.on('finish', () => socket.end());
        handle(req, res);
      });
      server.on('clientError', (_e, s) => {
        if (s.writable) s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, host, () => resolve());
      });
      const a = server.address() as AddressInfo;
      return {
        port: a.port,
        host: a.address,
        url: `${opts.tls ? 'https' : 'http'}://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`,
      };
    },
    async close() {
      ready = false;
      closing = true;
      crd?.stop();
      await reaper?.stop();
      reaper = undefined;
      for (const c of caches.values()) c.stop();
      caches.clear();
      ctx.services?.stop();
      ctx.services = undefined;
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          for (const so of sockets) so.destroy();
        });
      }
    },
  };
}
