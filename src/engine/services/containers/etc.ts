// The files the engine bind-mounts over a container's /etc/resolv.conf, /etc/hosts and /etc/hostname.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord } from './record.js';

function hostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** resolv.conf: Dns/DnsSearch/DnsOptions when given, else the host's (minus loopback resolvers, which
 *  cannot be reached from a container's own network namespace). */
export function resolvConf(rec: ContainerRecord, dnsServer?: string): string {
  const hc = rec.HostConfig;
  const dns = (hc.Dns as string[] | null | undefined) ?? [];
  const search = (hc.DnsSearch as string[] | null | undefined) ?? [];
  const opts = (hc.DnsOptions as string[] | null | undefined) ?? [];
  const host = hostResolvConf().split('\n');
  const isHostNet = hc.NetworkMode === 'host';
  const hostNs = host
    .filter((l) => /^\s*nameserver\s/.test(l))
    .map((l) => l.trim().split(/\s+/)[1])
    .filter((ip) => isHostNet || !/^127\.|^::1$/.test(ip));
  const hostSearch = host.filter((l) => /^\s*search\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  const hostOpts = host.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
  // user networks: the embedded DNS on the gateway (it forwards other names to the host's resolvers)
  const ns = dns.length ? dns : dnsServer ? [dnsServer] : hostNs.length ? hostNs : ['8.8.8.8', '8.8.4.4'];
  // dockerd's order: search, nameservers, options.
  const s = search.length ? search : hostSearch;
  const lines = [...(s.length ? [`search ${s.join(' ')}`] : []), ...ns.map((n) => `nameserver ${n}`)];
  const o = opts.length ? opts : hostOpts;
  if (o.length) lines.push(`options ${o.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** Lines /etc/hosts gets besides the container's own: --link entries, and the address that an
 *  ExtraHosts "name:host-gateway" stands for (the default bridge's gateway, as dockerd's). */
export interface EtcExtras {
  links?: string[];
  hostGateway?: string;
}

export function hostsFile(rec: ContainerRecord, ip = '', names: string[] = [], x: EtcExtras = {}): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const h of (rec.HostConfig.ExtraHosts as string[] | null | undefined) ?? []) {
    const i = h.indexOf(':');
    const addr = h.slice(i + 1);
    if (i > 0) lines.push(`${addr === 'host-gateway' ? (x.hostGateway ?? addr) : addr}\t${h.slice(0, i)}`);
  }
  lines.push(...(x.links ?? []));
  // with a domain name, the FQDN comes first (libnetwork's "hostname.domainname hostname")
  const { Hostname: h, Domainname: dn } = rec.Config;
  const own = dn ? [`${h}.${dn}`, h] : [h];
  if (ip) lines.push(`${ip}\t${[...own, ...names].filter((x, i, a) => x && a.indexOf(x) === i).join(' ')}`);
  return lines.join('\n') + '\n';
}

export function writeEtcFiles(
  dir: string,
  rec: ContainerRecord,
  x: EtcExtras = {},
): { resolvConf: string; hosts: string; hostname: string } {
  const f = { resolvConf: join(dir, 'resolv.conf'), hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname') };
  writeFileSync(f.resolvConf, resolvConf(rec));
  writeFileSync(f.hosts, hostsFile(rec, '', [], x));
  writeFileSync(f.hostname, `${rec.Config.Hostname}\n`);
  return f;
}

/** After the network attach (before the process starts): the container's own address and names
 *  in /etc/hosts, the embedded DNS in /etc/resolv.conf. Rewritten in place — the files are
 *  already bind-mounted into the container. */
export function writeNetworkEtc(
  dir: string,
  rec: ContainerRecord,
  net: { ip: string; names: string[]; dnsServer?: string },
  x: EtcExtras = {},
): void {
  writeFileSync(join(dir, 'hosts'), hostsFile(rec, net.ip, net.names, x));
  writeFileSync(join(dir, 'resolv.conf'), resolvConf(rec, net.dnsServer));
}

/** `--network container:NAME`: the joined container's /etc/hosts and /etc/resolv.conf contents
 *  (its address, names and DNS server are this container's too). */
export function shareNetworkEtc(dir: string, otherDir: string): void {
  for (const f of ['hosts', 'resolv.conf']) {
    try {
      writeFileSync(join(dir, f), readFileSync(join(otherDir, f)));
    } catch {
      /* keep ours */
    }
  }
}
