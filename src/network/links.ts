// Bridge and veth plumbing through iproute2 batch mode: a bridge is one `ip -batch -`; an attach is
// two spawns (the container side inside its netns through nsenter, creating the pair and pushing
// the host end out to our netns; then the host side enslaving it to the bridge).
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { internal } from '../common/index.js';
import { mustRun, mustRunShort, run, runShort } from './exec.js';

export async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name])).code === 0;
}

/** Creates the bridge with its gateway address if missing (idempotent) and sets route_localnet so
 *  DNAT of 127.0.0.1 traffic can leave through it.
 *  The bridge's MAC address is set explicitly (a random locally administered one, as dockerd and
 *  the CNI bridge plugin do): a bridge left to the kernel takes the lowest MAC of its ports, so it
 *  changes whenever a container or pod with a lower one comes or goes, and every other member's
 *  neighbour entry for the gateway then points nowhere until it is probed again (seconds of lost
 *  traffic, e.g. DNS queries timing out while pods start or stop). A bridge found without a set
 *  address keeps its current one, now pinned. */
export async function ensureBridge(name: string, gatewayCidr: string, mtu: number): Promise<void> {
  const r = await run('ip', ['-j', 'addr', 'show', 'dev', name]);
  const lines: string[] = [];
  if (r.code !== 0)
    lines.push(
      `link add name ${name} mtu ${mtu} address ${randomBridgeMac()} type bridge`,
      `addr add ${gatewayCidr} dev ${name}`,
    );
  else {
    const info = JSON.parse(r.stdout) as {
      address?: string;
      addr_info?: { family: string; local: string; prefixlen: number }[];
    }[];
    const have = (info[0]?.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === gatewayCidr);
    if (!have) lines.push(`addr add ${gatewayCidr} dev ${name}`);
    if (readSys(`/sys/class/net/${name}/addr_assign_type`) !== NET_ADDR_SET && info[0]?.address)
      lines.push(`link set dev ${name} address ${info[0].address}`);
  }
  lines.push(`link set ${name} up`);
  await mustRun('ip', ['-batch', '-'], lines.join('\n') + '\n');
  setSysctl(`net/ipv4/conf/${name}/route_localnet`, '1');
}

/** The kernel's addr_assign_type of an address set from user space (include/uapi/linux/netdevice.h). */
const NET_ADDR_SET = '3';

const readSys = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** A random unicast, locally administered MAC address. */
export function randomBridgeMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Deletes a link of our namespace; no spawn when it is already gone (a veth dies with the
 *  container's namespace, so after an exit there is usually nothing left to delete). */
export async function deleteLink(name: string): Promise<void> {
  if (!existsSync(`/sys/class/net/${name}`)) return;
  await runShort('ip', ['link', 'del', 'dev', name]);
}

export function setSysctl(path: string, value: string): boolean {
  try {
    if (readFileSync(`/proc/sys/${path}`, 'utf8').trim() === value) return true;
    writeFileSync(`/proc/sys/${path}`, value);
    return true;
  } catch {
    return false;
  }
}

/** Stable host-side veth name for (network, container): reconciliation can find it again. */
export function hostVethName(network: string, id: string): string {
  return `vsk${createHash('sha256').update(`${network}\0${id}`).digest('hex').slice(0, 8)}`;
}

export interface AttachSpec {
  netns: string;
  bridge: string;
  hostVeth: string;
  ifname: string;
  mac: string;
  ipCidr: string;
  gateway?: string;
  mtu: number;
}

export async function attachVeth(a: AttachSpec): Promise<void> {
  const inner = [
    `link add ${a.ifname} mtu ${a.mtu} address ${a.mac} type veth peer name ${a.hostVeth} mtu ${a.mtu} netns ${process.pid}`,
    `addr add ${a.ipCidr} dev ${a.ifname}`,
    'link set lo up',
    `link set ${a.ifname} up`,
    ...(a.gateway ? [`route add default via ${a.gateway} dev ${a.ifname}`] : []),
  ];
  try {
    const r = await runShort('nsenter', [`--net=${a.netns}`, 'ip', '-batch', '-'], inner.join('\n') + '\n');
    if (r.code !== 0 && /exists/i.test(r.stderr)) {
      // a leftover of a crash holds the name: remove it and retry once
      await deleteLink(a.hostVeth);
      // the leftover may not exist inside the namespace; the retry below reports a real failure
      await mustRun('nsenter', [`--net=${a.netns}`, 'ip', 'link', 'del', 'dev', a.ifname]).catch(() => undefined);
      await mustRun('nsenter', [`--net=${a.netns}`, 'ip', '-batch', '-'], inner.join('\n') + '\n');
    } else if (r.code !== 0) throw internal(`ip -batch in ${a.netns} failed: ${r.stderr.trim()}`);
    await mustRunShort(
      'ip',
      ['-batch', '-'],
      [
        `link set ${a.hostVeth} master ${a.bridge}`,
        `link set ${a.hostVeth} type bridge_slave hairpin on`,
        `link set ${a.hostVeth} up`,
      ].join('\n') + '\n',
    );
  } catch (e) {
    await deleteLink(a.hostVeth);
    throw e;
  }
}

/** Whether a file (a sysctl) can be written by this process. */
export function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
