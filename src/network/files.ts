// /etc/hosts, /etc/resolv.conf and /etc/hostname contents for a container (the engine writes them
// and bind-mounts them in).
import { hostResolvers } from './dns.js';

export interface HostsOptions {
  hostname: string;
  ip?: string;
  aliases?: string[];
  extraHosts?: string[];
}

export function hostsFile(o: HostsOptions): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const e of o.extraHosts ?? []) {
    const i = e.indexOf(':'); // name:ip — the address may itself hold colons (IPv6)
    const [name, addr] = [e.slice(0, i), e.slice(i + 1)];
    if (name && addr) lines.push(`${addr}\t${name}`);
  }
  if (o.ip)
    lines.push(`${o.ip}\t${[o.hostname, ...(o.aliases ?? [])].filter((x, i, a) => a.indexOf(x) === i).join(' ')}`);
  return lines.join('\n') + '\n';
}

export interface ResolvOptions {
  gateway?: string;
  dns?: string[];
  search?: string[];
  options?: string[];
  hostFile?: string;
}

/** User networks point at the embedded DNS on the gateway; the default bridge copies the host's
 *  resolvers without loopback ones (unreachable from a container), as Docker does. */
export function resolvConf(o: ResolvOptions): string {
  const servers = o.dns?.length ? o.dns : o.gateway ? [o.gateway] : hostResolvers(o.hostFile);
  const out = (servers.length ? servers : ['8.8.8.8', '8.8.4.4']).map((s) => `nameserver ${s}`);
  if (o.search?.length) out.push(`search ${o.search.join(' ')}`);
  if (o.options?.length) out.push(`options ${o.options.join(' ')}`);
  return out.join('\n') + '\n';
}

export const hostnameFile = (hostname: string): string => `${hostname}\n`;
