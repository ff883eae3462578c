// The node's service network, k3s-style in the node's own process: the service proxy (kube-proxy's
// role, nftables) and the cluster DNS answering on the kube-dns Service address, which the proxy
// assigns to the node's service-range device (every node answers its own pods' queries: no DNS
// traffic crosses nodes). The server side keeps the kube-dns Service itself. Wiring only.
import { isSkiffError, type Logger } from '../common/index.js';
import type { KubeClient } from '../kube/client/index.js';
import { ClusterDns } from '../kube/dns/index.js';
import { Proxier } from '../kube/proxy/index.js';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';

/** The tenth address of the service range: where kubeadm and k3s put cluster DNS (10.96.0.10). */
export function clusterDnsIP(serviceCIDR: string): string {
  const [ip] = serviceCIDR.split('/');
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0) + 10;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface ServiceNetworkOptions {
  client: KubeClient;
  nodeName: string;
  serviceCIDR?: string;
  clusterCIDR?: string;
  /** nftables table and service-range device (unique per node when several share a host). */
  table?: string;
  device?: string;
  /** Cluster domain (default cluster.local). */
  domain?: string;
  log?: Logger;
}

export interface RunningServiceNetwork {
  proxier: Proxier;
  dns: ClusterDns;
  /** The address pods use as their nameserver. */
  dnsIP: string;
  /** Stops watching; the rules stay so traffic flows across a restart. */
  stop(): Promise<void>;
  /** Removes the rules and the device (the node leaves). */
  uninstall(): Promise<void>;
}

export async function startServiceNetwork(o: ServiceNetworkOptions): Promise<RunningServiceNetwork> {
  const serviceCIDR = o.serviceCIDR ?? DEFAULT_SERVICE_CIDR;
  const dnsIP = clusterDnsIP(serviceCIDR);
  const proxier = new Proxier({
    client: o.client,
    nodeName: o.nodeName,
    serviceCIDR,
    clusterCIDR: o.clusterCIDR ?? DEFAULT_CLUSTER_CIDR,
    table: o.table,
    device: o.device,
    localAddresses: [dnsIP],
    log: o.log?.child({ component: 'proxy' }),
  });
  await proxier.start();
  const dns = new ClusterDns({
    client: o.client,
    domain: o.domain,
    listen: [{ address: dnsIP, port: 53 }],
    log: o.log?.child({ component: 'dns' }),
  });
  try {
    await dns.start();
  } catch (e) {
    // undoing a half start: the start's own error (rethrown below) is the one to report
    await proxier.uninstall().catch(() => undefined);
    throw e;
  }
  return {
    proxier,
    dns,
    dnsIP,
    async stop() {
      await dns.stop();
      await proxier.stop();
    },
    async uninstall() {
      await dns.stop();
      await proxier.uninstall();
    },
  };
}

/** The kube-dns Service (kube-system, the tenth address of the range, 53/UDP and 53/TCP) as
 *  k3s's CoreDNS manifest has it, labelled node-local: each node's own DNS answers on that
 *  address, so the proxy leaves it alone. Created once; an existing one is kept. */
export async function ensureKubeDnsService(client: KubeClient, serviceCIDR = DEFAULT_SERVICE_CIDR): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: {
        'k8s-app': 'kube-dns',
        'kubernetes.io/cluster-service': 'true',
        'kubernetes.io/name': 'CoreDNS',
        'skiff.io/node-local': 'true',
      },
    },
    spec: {
      clusterIP: clusterDnsIP(serviceCIDR),
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    },
  };
  // Looked up first: a create of a Service that exists fails on its taken clusterIP (Invalid, as
  // upstream allocates before it stores) rather than AlreadyExists, e.g. on a second HA server.
  const path = '/api/v1/namespaces/kube-system/services';
  if (await exists(client, `${path}/kube-dns`)) return;
  try {
    await client.request('POST', path, { body });
  } catch (e) {
    if (isSkiffError(e, 'AlreadyExists')) return;
    // Another server created it between the lookup and the create.
    if (isSkiffError(e, 'InvalidArgument') && (await exists(client, `${path}/kube-dns`))) return;
    throw e;
  }
}

async function exists(client: KubeClient, path: string): Promise<boolean> {
  try {
    await client.request('GET', path);
    return true;
  } catch (e) {
    if (isSkiffError(e, 'NotFound')) return false;
    throw e;
  }
}
