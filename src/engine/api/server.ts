// The Engine API's HTTP edge: listens on unix sockets / TCP, sets moby's headers on every response,
// checks the API version prefix, dispatches to the router (plain and upgrade requests alike) and maps
// every error once. A malformed request never takes the daemon down: every handler runs in a
// try/catch and socket errors are swallowed per connection.
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { createLogger, invalidArgument, type Logger, notFound, SkiffError, toSkiffError } from '../../common/index.js';
import { Query, Router, compareVersions, sendError, sendJson, splitVersion, type ApiRequest } from './router.js';
import type { EngineInfo } from '../services/context.js';

const JSON_LIMIT = 16 << 20;

export function createApiServer(
  router: Router,
  info: Pick<EngineInfo, 'apiVersion' | 'minApiVersion' | 'version'>,
  log: Logger = createLogger({ component: 'engine.api' }),
): Server {
  const { apiVersion, minApiVersion, version } = info;
  const serverHeader = `Docker/${version} (linux)`;

  const handle = async (req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Socket; head: Buffer }) => {
    res.setHeader('Api-Version', apiVersion);
    res.setHeader('Ostype', 'linux');
    res.setHeader('Server', serverHeader);
    res.setHeader('Docker-Experimental', 'false');
    let req0: ApiRequest | undefined;
    try {
      const url = new URL(req.url ?? '/', 'http://engine');
      const { version: v, path } = splitVersion(url.pathname);
      if (v !== undefined) {
        if (compareVersions(v, minApiVersion) < 0) {
          throw invalidArgument(
            `client version ${v} is too old. Minimum supported API version is ${minApiVersion}, please upgrade your client to a newer version`,
            { field: 'version' },
          );
        }
        if (compareVersions(v, apiVersion) > 0) {
          throw invalidArgument(`client version ${v} is too new. Maximum supported API version is ${apiVersion}`, {
            field: 'version',
          });
        }
      }
      const method = req.method ?? 'GET';
      const m = router.match(method, path);
      if (!m) throw notFound(`page not found`);
      if ('methodNotAllowed' in m) throw new SkiffError('NotFound', `page not found`);
      let bodyUsed = false;
      const r: ApiRequest = {
        method,
        path,
        params: m.params,
        query: new Query(url.searchParams),
        version: v ?? apiVersion,
        req,
        res,
        upgrade,
        json: <T>(limit = JSON_LIMIT) => {
          bodyUsed = true;
          return readJson<T>(bodyOf(req, upgrade), limit);
        },
        bodyStream: () => {
          bodyUsed = true;
          return bodyOf(req, upgrade);
        },
      };
      req0 = r;
      const out = await m.handler(r);
      void bodyUsed;
      if (r.hijacked) return;
      if (out !== undefined && !res.headersSent && !res.writableEnded) sendJson(res, 200, out);
      else if (!res.headersSent && !res.writableEnded && !upgrade) {
        res.writeHead(204);
        res.end();
      }
    } catch (e) {
      // An internal error (a 500: a bug or an unexpected failure below) is always logged, with the
      // request it failed; the client's own errors (4xx) are its answer and are not.
      const se = toSkiffError(e);
      if (se.code === 'Internal')
        log.error('request failed', {
          method: req.method,
          path: req.url,
          error: se.message,
          ...(process.env.SKIFF_DEBUG ? { stack: (e as Error)?.stack } : {}),
        });
      if (req0?.hijacked) {
        (req0.upgrade?.socket ?? req.socket).destroy();
        return;
      }
      try {
        sendError(res, e);
      } catch {
        /* connection gone */
      }
    }
  };

  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 }, (req, res) => {
    void handle(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {
      /* client went away */
    });
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    void handle(req, res, { socket, head });
  });
  server.on('clientError', (_e, socket) => {
    try {
      socket.end(
        'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"message":"malformed HTTP request"}',
      );
    } catch {
      /* gone */
    }
  });
  server.on('connection', (s: Socket) => {
    s.on('error', () => {
      /* per-connection errors are the client's */
    });
  });
  return server;
}

/** The request body: the IncomingMessage itself, or for upgrade requests the Content-Length bytes
 *  that follow the headers (in `head` and then on the socket). */
function bodyOf(req: IncomingMessage, upgrade?: { socket: Socket; head: Buffer }): Readable {
  if (!upgrade) return req;
  const len = Number(req.headers['content-length'] ?? 0);
  const out = new PassThrough();
  if (!len) {
    out.end();
    return out;
  }
  let have = upgrade.head.subarray(0, len);
  const rest = upgrade.head.subarray(len);
  upgrade.head = rest;
  out.write(have);
  if (have.length >= len) {
    out.end();
    return out;
  }
  const onData = (d: Buffer) => {
    const need = len - have.length;
    const take = d.subarray(0, need);
    have = Buffer.concat([have, take]);
    out.write(take);
    if (have.length >= len) {
      upgrade.socket.removeListener('data', onData);
      upgrade.socket.pause();
      if (d.length > need) upgrade.head = Buffer.concat([upgrade.head, d.subarray(need)]);
      out.end();
    }
  };
  upgrade.socket.on('data', onData);
  return out;
}

async function readJson<T>(body: Readable, limit: number): Promise<T | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += (c as Buffer).length;
    if (size > limit) throw invalidArgument(`request body larger than ${limit} bytes`, { field: 'body' });
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw invalidArgument(`invalid JSON body: ${(e as Error).message}`, { field: 'body' });
  }
}
