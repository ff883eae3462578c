// What the kernel holds for peers that are gone or moved, removed (the overlay's level-triggered
// half: after a change, a restart or a missed event, the device carries exactly what the Nodes
// say). vxlan: FDB entries, neighbours and routes on the device that no peer wants; host-gw: routes
// into the cluster CIDR through a gateway that no peer wants.
import { parseCidr, parseIp } from '../../network/index.js';
import type { Sh } from './device.js';

export interface Peer {
  podCIDR: string;
  /** The peer's public IP (its VTEP's address, or its host-gw gateway). */
  ip: string;
  /** Its VTEP MAC (vxlan). */
  mac?: string;
}

export const gatewayOf = (cidr: string) => cidr.split('/')[0];

const inside = (addr: string, cidr: string) => {
  const c = parseCidr(cidr, 'cidr', false);
  const mask = c.prefix === 0 ? 0 : (~0 << (32 - c.prefix)) >>> 0;
  return (parseIp(addr) & mask) >>> 0 === (c.base & mask) >>> 0;
};

export async function pruneStale(
  sh: Sh,
  backend: 'vxlan' | 'host-gw',
  peers: Peer[],
  clusterCIDR: string,
  device = 'skiff.1',
): Promise<void> {
  const j = async <T>(cmd: string, args: string[]) => JSON.parse((await sh.must(cmd, args)) || '[]') as T[];
  if (backend === 'host-gw') {
    const routes = await j<{ dst: string; gateway?: string }>('ip', ['-j', '-4', 'route', 'show']);
    for (const r of routes) {
      if (!r.gateway || !r.dst.includes('/') || !inside(gatewayOf(r.dst), clusterCIDR)) continue;
      if (!peers.some((p) => p.podCIDR === r.dst && p.ip === r.gateway))
        await sh.run('ip', ['route', 'del', r.dst, 'via', r.gateway]);
    }
    return;
  }
  const fdb = await j<{ mac: string; dst?: string }>('bridge', ['-j', 'fdb', 'show', 'dev', device]);
  for (const e of fdb)
    if (e.dst && !peers.some((p) => p.mac === e.mac && p.ip === e.dst))
      await sh.run('bridge', ['fdb', 'del', e.mac, 'dev', device, 'dst', e.dst, 'self']);
  const neigh = await j<{ dst: string; lladdr?: string }>('ip', ['-j', '-4', 'neigh', 'show', 'dev', device]);
  for (const n of neigh)
    if (!peers.some((p) => gatewayOf(p.podCIDR) === n.dst && p.mac === n.lladdr))
      await sh.run('ip', ['neigh', 'del', n.dst, 'dev', device]);
  const routes = await j<{ dst: string }>('ip', ['-j', '-4', 'route', 'show', 'dev', device]);
  for (const r of routes)
    if (r.dst.includes('/') && !peers.some((p) => p.podCIDR === r.dst))
      await sh.run('ip', ['route', 'del', r.dst, 'dev', device]);
}
