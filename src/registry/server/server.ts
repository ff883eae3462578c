// The registry server: distribution API over node:http (or https with --tls-cert/--tls-key).
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { RegistryStorage } from './storage.js';
import { Uploads } from './uploads.js';
import { Auth, type AuthOptions } from './auth.js';
import { makeHandler } from './handler.js';

export interface RegistryServerOptions extends AuthOptions {
  dataRoot: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Upload sessions idle longer than this are purged (default 24 h). */
  uploadMaxAgeMs?: number;
}

export interface RegistryServer {
  readonly server: Server;
  readonly storage: RegistryStorage;
  /** Listens on host:port (port 0 = random); resolves to the base URL, e.g. http://127.0.0.1:5123. */
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

export async function createRegistryServer(opts: RegistryServerOptions): Promise<RegistryServer> {
  const storage = new RegistryStorage(opts.dataRoot);
  await storage.init();
  const uploads = new Uploads(storage);
  const auth = new Auth({ tokenKeyFile: join(opts.dataRoot, '_auth', 'token-key.jwk'), ...opts });
  await auth.init();
  const tls = !!(opts.tlsCert && opts.tlsKey);
  const handler = makeHandler({ storage, uploads, auth, tls });
  const server: Server = tls
    ? (createHttps(
        { cert: await fs.readFile(opts.tlsCert!), key: await fs.readFile(opts.tlsKey!) },
        handler,
      ) as unknown as Server)
    : createHttp(handler);
  // Layer uploads can take long: no overall request timeout, but headers must arrive promptly.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  const maxAge = opts.uploadMaxAgeMs ?? 24 * 3600_000;
  const purge = setInterval(
    () => {
      // a failed purge (an upload finished meanwhile) is retried at the next tick
      uploads.purge(maxAge).catch(() => undefined);
    },
    Math.min(maxAge, 3600_000),
  );
  purge.unref();
  return {
    server,
    storage,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          resolve(`${tls ? 'https' : 'http'}://${h}:${a.port}`);
        });
      });
    },
    close() {
      clearInterval(purge);
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
