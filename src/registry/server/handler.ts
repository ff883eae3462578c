// Request routing for the distribution API. Every request passes through `handle`, which never lets
// an error escape: failures become spec error bodies, and a broken connection is just closed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { regError } from './errors.js';
import { send, sendError, drain, type Ctx } from './http.js';
import { checkName } from './names.js';
import type { RegistryStorage } from './storage.js';
import type { Uploads } from './uploads.js';
import type { Auth, Scope } from './auth.js';
import { getBlob, deleteBlob } from './routes-blobs.js';
import { postUpload, patchUpload, putUpload, getUpload, deleteUpload, type UploadDeps } from './routes-uploads.js';
import { getManifest, putManifest, deleteManifest } from './routes-manifests.js';
import { listTags, catalog, referrers } from './routes-lists.js';

export interface HandlerDeps {
  storage: RegistryStorage;
  uploads: Uploads;
  auth: Auth;
  tls: boolean;
}

type Route = { re: RegExp; methods: Record<string, (ctx: Ctx, name: string, arg: string) => Promise<void>> };

function action(method: string): string {
  return method === 'GET' || method === 'HEAD' ? 'pull' : method === 'DELETE' ? 'delete' : 'push';
}

export function makeHandler(d: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const canPull = async (ctx: Ctx, name: string) => {
    try {
      await d.auth.check(ctx, [{ type: 'repository', name, actions: ['pull'] }]);
      return true;
    } catch {
      return false;
    }
  };
  const routes: Route[] = [
    {
      re: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
      methods: {
        GET: (c, n, r) => getManifest(c, d.storage, n, r),
        HEAD: (c, n, r) => getManifest(c, d.storage, n, r),
        PUT: (c, n, r) => putManifest(c, d.storage, n, r),
        DELETE: (c, n, r) => deleteManifest(c, d.storage, n, r),
      },
    },
    {
      re: /^\/v2\/(.+)\/blobs\/uploads\/?()$/,
      methods: {
        POST: (c, n) => postUpload(c, deps(c), n),
      },
    },
    {
      re: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
      methods: {
        PATCH: (c, n, u) => patchUpload(c, deps(c), n, u),
        PUT: (c, n, u) => putUpload(c, deps(c), n, u),
        GET: (c, n, u) => getUpload(c, deps(c), n, u),
        DELETE: (c, n, u) => deleteUpload(c, deps(c), n, u),
      },
    },
    {
      re: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
      methods: {
        GET: (c, n, g) => getBlob(c, d.storage, n, g),
        HEAD: (c, n, g) => getBlob(c, d.storage, n, g),
        DELETE: (c, n, g) => deleteBlob(c, d.storage, n, g),
      },
    },
    { re: /^\/v2\/(.+)\/tags\/list()$/, methods: { GET: (c, n) => listTags(c, d.storage, n) } },
    { re: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: { GET: (c, n, g) => referrers(c, d.storage, n, g) } },
  ];
  const deps = (ctx: Ctx): UploadDeps => ({ storage: d.storage, uploads: d.uploads, canPull: (n) => canPull(ctx, n) });

  async function route(ctx: Ctx): Promise<void> {
    const { req, url } = ctx;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (path === d.auth.tokenPath() && (method === 'GET' || method === 'POST')) return d.auth.serveToken(ctx);
    if (path === '/v2/' || path === '/v2') {
      drain(req);
      await d.auth.check(ctx, []);
      return send(ctx.res, 200, { 'Content-Type': 'application/json' }, method === 'HEAD' ? undefined : '{}');
    }
    if (path === '/v2/_catalog' && method === 'GET') {
      await d.auth.check(ctx, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
      return catalog(ctx, d.storage);
    }
    for (const r of routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      const h = r.methods[method];
      if (!h) {
        drain(req);
        throw Object.assign(regError('UNSUPPORTED', `${method} is not supported on ${path}`), {
          headers: { Allow: Object.keys(r.methods).join(', ') },
        });
      }
      const name = checkName(m[1]);
      const scopes: Scope[] = [
        {
          type: 'repository',
          name,
          actions: method === 'POST' || method === 'PUT' || method === 'PATCH' ? ['pull', 'push'] : [action(method)],
        },
      ];
      await d.auth.check(ctx, scopes);
      let arg: string;
      try {
        arg = decodeURIComponent(m[2]);
      } catch {
        throw regError('UNSUPPORTED', `malformed percent-encoding in ${path}`, { path });
      }
      return h(ctx, name, arg);
    }
    drain(req);
    throw regError('UNSUPPORTED', `no such endpoint: ${method} ${path}`, { path });
  }

  return (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://registry.invalid');
    } catch {
      url = new URL('http://registry.invalid/');
    }
    const host = req.headers.host ?? 'localhost';
    const proto =
      (req.headers['x-forwarded-proto'] as string | undefined)?.split(',')[0].trim() || (d.tls ? 'https' : 'http');
    const ctx: Ctx = { req, res, url, base: `${proto}://${host}` };
    req.on('error', () => {
      /* aborted uploads surface in the handler; never crash */
    });
    res.on('error', () => {
      /* client went away */
    });
    route(ctx).catch((e: unknown) => {
      try {
        sendError(ctx, e);
      } catch {
        res.destroy();
      }
    });
  };
}
