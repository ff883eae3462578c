// The pod sandbox's CRI config (kubelet's generatePodSandboxConfig): metadata, hostname (and
// subdomain FQDN), the pod's log directory, DNS (ClusterFirst / Default / None with dnsConfig,
// as kubelet's DNS configurer), host port mappings, labels and annotations, the cgroup parent
// under the QoS tiers, pod-level resources, sysctls and the sandbox security context. Also the
// pod's /etc/hosts, written as kubelet writes it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as cri from '../../../cri/index.js';
import { podLabels } from '../labels.js';
import type { Pod } from '../types.js';
import { podCgroupParent, sandboxResources } from './resources.js';
import { sandboxSecurity } from './security.js';

export interface SandboxSettings {
  podLogsDir: string;
  cgroupDriver: 'systemd' | 'cgroupfs';
  cgroupRoot: string;
  seccompRoot: string;
  clusterDomain: string;
  /** Cluster DNS servers; none: ClusterFirst falls back to Default (event MissingClusterDNS). */
  clusterDNS: string[];
  resolvConf: string;
}

export const podLogDir = (root: string, pod: Pod) =>
  join(root, `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`);

/** Hostname and, with a subdomain, the domain (`<sub>.<ns>.svc.<cluster domain>`). */
export function podHostname(pod: Pod, clusterDomain: string): { hostname: string; domain: string } {
  let hostname = (pod.spec.hostname || pod.metadata.name).slice(0, 63).replace(/[-.]+$/, '');
  if (!hostname) hostname = 'pod';
  const domain = pod.spec.subdomain ? `${pod.spec.subdomain}.${pod.metadata.namespace}.svc.${clusterDomain}` : '';
  return { hostname, domain };
}

function parseResolvConf(text: string): { servers: string[]; searches: string[]; options: string[] } {
  const out = { servers: [] as string[], searches: [] as string[], options: [] as string[] };
  for (const line of text.split('\n')) {
    const f = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (f[0] === 'nameserver' && f[1]) out.servers.push(f[1]);
    else if ((f[0] === 'search' || f[0] === 'domain') && f.length > 1) out.searches = f.slice(1);
    else if (f[0] === 'options') out.options.push(...f.slice(1));
  }
  return out;
}

export function hostResolv(path: string): { servers: string[]; searches: string[]; options: string[] } {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { servers: [], searches: [], options: [] };
  }
  const r = parseResolvConf(text);
  // systemd-resolved's stub (127.0.0.53) is unreachable from a pod: use its upstream list.
  if (r.servers.length && r.servers.every((s) => s.startsWith('127.'))) {
    try {
      const up = parseResolvConf(readFileSync('/run/systemd/resolve/resolv.conf', 'utf8'));
      if (up.servers.length) return { ...up, searches: r.searches.length ? r.searches : up.searches };
    } catch {
      /* keep the stub */
    }
  }
  return r;
}

/** The pod's DNS settings; `fallback` is set when ClusterFirst had no cluster DNS to use. */
export function dnsConfig(pod: Pod, s: SandboxSettings): { config: cri.DNSConfigInput; fallback: boolean } {
  let policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  let fallback = false;
  if (policy === 'ClusterFirst' && pod.spec.hostNetwork) policy = 'Default';
  if ((policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') && !s.clusterDNS.length) {
    policy = 'Default';
    fallback = true;
  }
  let servers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  if (policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') {
    const host = hostResolv(s.resolvConf);
    const ns = pod.metadata.namespace;
    servers = [...s.clusterDNS];
    searches = [`${ns}.svc.${s.clusterDomain}`, `svc.${s.clusterDomain}`, s.clusterDomain, ...host.searches];
    options = ['ndots:5'];
  } else if (policy === 'Default') {
    const host = hostResolv(s.resolvConf);
    ({ servers, searches, options } = host);
  }
  const dc = pod.spec.dnsConfig;
  if (dc) {
    servers = [...new Set([...servers, ...(dc.nameservers ?? [])])];
    searches = [...new Set([...searches, ...(dc.searches ?? [])])];
    const opts = new Map(options.map((o) => [o.split(':')[0], o]));
    for (const o of dc.options ?? []) opts.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
    options = [...opts.values()];
  }
  // The resolver honours at most 3 name servers and 32 search domains.
  return { config: { servers: servers.slice(0, 3), searches: searches.slice(0, 32), options }, fallback };
}

export function sandboxConfig(pod: Pod, attempt: number, s: SandboxSettings): cri.PodSandboxConfigInput {
  const { hostname, domain } = podHostname(pod, s.clusterDomain);
  const ports: cri.PortMappingInput[] = [];
  for (const c of pod.spec.containers)
    for (const p of c.ports ?? [])
      if (p.hostPort)
        ports.push({
          protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' | 'SCTP',
          containerPort: p.containerPort,
          hostPort: p.hostPort,
          hostIp: p.hostIP ?? '',
        });
  return {
    metadata: { name: pod.metadata.name, uid: pod.metadata.uid, namespace: pod.metadata.namespace, attempt },
    hostname: pod.spec.hostNetwork ? '' : pod.spec.setHostnameAsFQDN && domain ? `${hostname}.${domain}` : hostname,
    logDirectory: podLogDir(s.podLogsDir, pod),
    dnsConfig: dnsConfig(pod, s).config,
    portMappings: ports,
    labels: podLabels(pod),
    annotations: { ...(pod.metadata.annotations ?? {}) },
    linux: {
      cgroupParent: podCgroupParent(pod, s.cgroupDriver, s.cgroupRoot),
      securityContext: sandboxSecurity(pod, s.seccompRoot),
      sysctls: Object.fromEntries((pod.spec.securityContext?.sysctls ?? []).map((x) => [x.name, x.value])),
      resources: sandboxResources(pod),
    },
  };
}

/** /etc/hosts for the pod's containers, as kubelet writes it (the node's own for host network). */
export function hostsFile(pod: Pod, podIPs: string[], clusterDomain: string, hostFile = '/etc/hosts'): string {
  const aliases = (pod.spec.hostAliases ?? []).length
    ? `\n# Entries added by HostAliases.\n${(pod.spec.hostAliases ?? []).map((a) => `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`).join('')}`
    : '';
  if (pod.spec.hostNetwork) {
    let host = '';
    try {
      host = readFileSync(hostFile, 'utf8');
    } catch {
      /* none */
    }
    return `# Kubernetes-managed hosts file (host network).\n${host}${aliases}`;
  }
  const { hostname, domain } = podHostname(pod, clusterDomain);
  let out =
    '# Kubernetes-managed hosts file.\n' +
    '127.0.0.1\tlocalhost\n' +
    '::1\tlocalhost ip6-localhost ip6-loopback\n' +
    'fe00::0\tip6-localnet\n' +
    'fe00::0\tip6-mcastprefix\n' +
    'fe00::1\tip6-allnodes\n' +
    'fe00::2\tip6-allrouters\n';
  for (const ip of podIPs) out += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  return out + aliases;
}
