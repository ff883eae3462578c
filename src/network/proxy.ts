// Userland proxy: the fallback for published ports on 127.0.0.1 where DNAT cannot serve them
// (route_localnet cannot be set on the bridge, e.g. in a restricted sysctl namespace). A Node TCP
// listener on 127.0.0.1:hostPort piping to the container; UDP is not proxied (documented).
import { createServer, connect, type Server } from 'node:net';
import { conflict } from '../common/index.js';

export class UserlandProxies {
  private servers = new Map<string, Server>();

  async start(key: string, hostPort: number, target: { ip: string; port: number }): Promise<void> {
    if (this.servers.has(key)) return;
    const srv = createServer((client) => {
      const up = connect({ host: target.ip, port: target.port });
      client.pipe(up);
      up.pipe(client);
      const end = (): void => {
        client.destroy();
        up.destroy();
      };
      client.on('error', end);
      up.on('error', end);
      client.on('close', end);
      up.on('close', end);
    });
    await new Promise<void>((res, rej) => {
      srv.once('error', (e) =>
        rej(conflict(`Bind for 127.0.0.1:${hostPort} failed: ${(e as Error).message}`, { field: 'ports', cause: e })),
      );
      srv.listen({ host: '127.0.0.1', port: hostPort, exclusive: true }, () => res());
    });
    this.servers.set(key, srv);
  }

  async stop(key: string): Promise<void> {
    const s = this.servers.get(key);
    this.servers.delete(key);
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  keys(): string[] {
    return [...this.servers.keys()];
  }

  async close(): Promise<void> {
    for (const k of this.keys()) await this.stop(k);
  }
}
