// An interface that already carries the name of the default bridge (left by an earlier engine with
// another --data-root, or by a crash): adopted, as dockerd adopts an existing docker0, when it is a
// bridge with nothing attached and its address fits the configuration; otherwise a Conflict that
// names what is in the way and what to do about it.
import { conflict } from '../common/index.js';
import { formatIp, parseCidr, parseIp, type Cidr } from './cidr.js';
import { run } from './exec.js';

export interface ExistingLink {
  name: string;
  /** iproute2's link kind ('bridge', 'veth', 'dummy', …; '' for a plain device). */
  kind: string;
  /** IPv4 addresses as `a.b.c.d/n`. */
  addrs: string[];
  /** Interfaces enslaved to it. */
  ports: string[];
}

/** What the host has under `name`, or undefined when there is no such interface. */
export async function inspectLink(name: string): Promise<ExistingLink | undefined> {
  const l = await run('ip', ['-j', '-d', 'link', 'show', 'dev', name]);
  if (l.code !== 0) return undefined;
  const link = (JSON.parse(l.stdout) as { linkinfo?: { info_kind?: string } }[])[0] ?? {};
  const a = await run('ip', ['-j', '-4', 'addr', 'show', 'dev', name]);
  const addrInfo =
    a.code === 0
      ? ((JSON.parse(a.stdout) as { addr_info?: { local: string; prefixlen: number }[] }[])[0]?.addr_info ?? [])
      : [];
  const p = await run('ip', ['-j', 'link', 'show', 'master', name]);
  const ports =
    p.code === 0 && p.stdout.trim() ? (JSON.parse(p.stdout) as { ifname: string }[]).map((x) => x.ifname) : [];
  return {
    name,
    kind: link.linkinfo?.info_kind ?? '',
    addrs: addrInfo.map((x) => `${x.local}/${x.prefixlen}`),
    ports,
  };
}

export interface Adopted {
  subnet: Cidr;
  gateway: string;
}

/**
 * Decides how an existing interface is taken over. `want` is the configured gateway/prefix (--bip),
 * if any. Returns the subnet and gateway of the bridge's own address, or undefined when the bridge
 * has no IPv4 address yet (the configured or a picked one is added). Throws Conflict otherwise.
 */
export function adoptBridge(l: ExistingLink, want?: { subnet: string; gateway: string }): Adopted | undefined {
  const del = `delete it (ip link delete ${l.name})`;
  const other = 'give the engine a bridge of its own (--bridge NAME)';
  if (l.kind !== 'bridge')
    throw conflict(
      `bridge: interface ${l.name} already exists on the host and is ${l.kind ? `a ${l.kind} device` : 'a device'}, not a bridge: ${del} or ${other}`,
      { field: 'bridge' },
    );
  if (l.ports.length)
    throw conflict(
      `bridge: interface ${l.name} already exists on the host with ${l.ports.length} attached interface(s) this engine did not make (${l.ports.slice(0, 4).join(', ')}${l.ports.length > 4 ? ', …' : ''}): another engine (another --data-root) may still run containers on it; stop them or ${del}, or ${other}`,
      { field: 'bridge' },
    );
  if (!l.addrs.length) return undefined;
  const wanted = want ? `${want.gateway}/${parseCidr(want.subnet).prefix}` : undefined;
  if (wanted && !l.addrs.includes(wanted))
    throw conflict(
      `bridge: interface ${l.name} already exists on the host with address ${l.addrs.join(', ')}, not the configured ${wanted} (--bip): start with --bip ${l.addrs[0]}, ${del}, or ${other}`,
      { field: 'bridge' },
    );
  const addr = wanted ?? l.addrs[0];
  const [ip, prefix] = addr.split('/');
  const subnet = parseCidr(`${ip}/${prefix}`, 'bridge', false);
  return { subnet, gateway: formatIp(parseIp(ip)) };
}
