// Published ports: `-p [ip:][host:]container[/tcp|udp]` parsing, ephemeral host ports from Linux's
// default local range 32768–60999, and the conflict check run before anything is configured.
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { conflict, invalidArgument, unavailable } from '../common/index.js';
import { parseIp } from './cidr.js';
import type { PortMapping } from './state.js';

export interface PortRequest {
  hostIp?: string;
  hostPort?: number;
  /** With hostPort: the last port of a host range (`-p 127.0.0.1:18090-18095:80`); the first free
   *  port of the range is taken, as dockerd's port allocator does. */
  hostPortEnd?: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

const port = (s: string, field: string): number => {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw invalidArgument(`${field}: invalid port "${s}"`, { field });
  return n;
};

export function parsePortSpec(spec: string, field = 'ports'): PortRequest {
  const [addr, protoRaw = 'tcp'] = spec.split('/');
  const proto = protoRaw.toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp')
    throw invalidArgument(`${field}: invalid protocol "${protoRaw}" in "${spec}"`, { field });
  const parts = addr.split(':');
  if (parts.length > 3 || parts.length === 0)
    throw invalidArgument(`${field}: invalid port mapping "${spec}"`, { field });
  const containerPort = port(parts[parts.length - 1], field);
  const hostPort =
    parts.length >= 2 && parts[parts.length - 2] !== '' ? port(parts[parts.length - 2], field) : undefined;
  const hostIp = parts.length === 3 && parts[0] !== '' ? parts[0] : undefined;
  if (hostIp) parseIp(hostIp, field);
  return { hostIp, hostPort, containerPort, proto };
}

/** True when nothing on the host listens on (ip, port, proto); an address that is not the host's
 *  is an InvalidArgument. */
export function portFree(ip: string, p: number, proto: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException): void => {
      if (e.code === 'EADDRNOTAVAIL')
        reject(invalidArgument(`ports: host IP ${ip} is not an address of this host`, { field: 'ports' }));
      else resolve(false);
    };
    if (proto === 'udp') {
      const s = createSocket('udp4');
      s.once('error', fail);
      s.bind(p, ip, () => s.close(() => resolve(true)));
    } else {
      const s = createServer();
      s.once('error', fail);
      s.listen({ port: p, host: ip, exclusive: true }, () => s.close(() => resolve(true)));
    }
  });
}

const key = (m: { hostIp: string; hostPort: number; proto: string }): string => `${m.proto}/${m.hostPort}`;
const clash = (a: PortMapping, b: PortMapping): boolean =>
  key(a) === key(b) && (a.hostIp === '0.0.0.0' || b.hostIp === '0.0.0.0' || a.hostIp === b.hostIp);

/** Resolves requests to concrete mappings, failing with a Conflict naming the port if a host port
 *  is taken by us (`inUse`) or by any host process. */
export async function resolvePorts(reqs: PortRequest[], inUse: PortMapping[]): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  for (const r of reqs) {
    const hostIp = r.hostIp ?? '0.0.0.0';
    if (r.hostPort !== undefined && r.hostPortEnd !== undefined && r.hostPortEnd > r.hostPort) {
      // A range: its first port neither we nor a host process hold (dockerd's allocator knows only
      // its own ports and fails on one a host process holds; skipping it is what the range is for).
      let found: PortMapping | undefined;
      for (let p = r.hostPort; p <= r.hostPortEnd && !found; p++) {
        const m: PortMapping = { hostIp, hostPort: p, containerPort: r.containerPort, proto: r.proto };
        if (![...inUse, ...out].some((x) => clash(x, m)) && (await portFree(hostIp, p, r.proto))) found = m;
      }
      if (!found) throw conflict('all ports are allocated', { field: 'ports' }); // dockerd's words
      out.push(found);
      continue;
    }
    if (r.hostPort !== undefined) {
      const m: PortMapping = { hostIp, hostPort: r.hostPort, containerPort: r.containerPort, proto: r.proto };
      if ([...inUse, ...out].some((x) => clash(x, m)) || !(await portFree(hostIp, r.hostPort, r.proto))) {
        throw conflict(`Bind for ${hostIp}:${r.hostPort} failed: port is already allocated`, { field: 'ports' });
      }
      out.push(m);
      continue;
    }
    let found: PortMapping | undefined;
    for (let i = 0; i < 200 && !found; i++) {
      const p = 32768 + Math.floor(Math.random() * (60999 - 32768 + 1));
      const m: PortMapping = { hostIp, hostPort: p, containerPort: r.containerPort, proto: r.proto };
      if (![...inUse, ...out].some((x) => clash(x, m)) && (await portFree(hostIp, p, r.proto))) found = m;
    }
    if (!found) throw unavailable(`no free host port for ${r.containerPort}/${r.proto}`);
    out.push(found);
  }
  return out;
}
