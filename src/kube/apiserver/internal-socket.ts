// The control plane's private door: a plain-HTTP listener on a 0600 unix socket in the data dir
// for the in-process controllers, scheduler and agent (as upstream's loopback client). Whoever
// can open the socket can already read the admin key beside it; requests arriving there are
// marked, and the server authenticates them as `system:kube-controller-manager` in
// `system:masters` (the HTTPS listener never accepts that identity).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UserInfo } from './context.js';

const INTERNAL = new WeakSet<http.IncomingMessage>();

export const INTERNAL_USER: UserInfo = {
  username: 'system:kube-controller-manager',
  groups: ['system:masters', 'system:authenticated'],
};

/** Whether the request came in through the internal socket. */
export const isInternal = (req: http.IncomingMessage) => INTERNAL.has(req);

export interface InternalSocket {
  path: string;
  close(): Promise<void>;
}

/** Listens on DATA_DIR/run/api.sock (a private temp dir when that path is too long for a socket). */
export async function listenInternal(
  dataDir: string,
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<InternalSocket> {
  let dir = join(dataDir, 'run');
  let path = join(dir, 'api.sock');
  let cleanup = () => rmSync(path, { force: true });
  if (Buffer.byteLength(path) > 100) {
    // sun_path limit
    dir = mkdtempSync(join(tmpdir(), 'skiff-api-'));
    path = join(dir, 'api.sock');
    cleanup = () => rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await rm(path, { force: true });
  const server = http.createServer((req, res) => {
    INTERNAL.add(req);
    handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return {
    path,
    async close() {
      // close() waits for every connection to end: a request still in flight (a watch, or a
      // request of a client that was closed while it ran) would hold it forever, so all are ended.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      cleanup();
    },
  };
}
