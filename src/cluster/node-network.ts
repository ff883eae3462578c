// The node's network services in `skiff start` (server and node in one process, as k3s): the
// service proxy and the cluster DNS (service-network.ts) and NetworkPolicy enforcement, on a client
// of their own issued by the cluster CA (they watch Services, EndpointSlices, Pods, Namespaces and
// NetworkPolicies cluster-wide, which a node's identity may not). Wiring only.
import type { Logger } from '../common/index.js';
import { KubeClient } from '../kube/client/index.js';
import { auth as security } from '../kube/apiserver/index.js';
import { startNetworkPolicy, type NetworkPolicyController } from '../kube/netpol/index.js';
import type { RunningServer } from './server.js';
import { startServiceNetwork, type RunningServiceNetwork } from './service-network.js';

export interface NodeNetworkPart {
  /** Service proxy and cluster DNS (default true). */
  services?: boolean;
  /** NetworkPolicy enforcement (default true). */
  networkPolicy?: boolean;
  serviceCIDR?: string;
  clusterCIDR?: string;
  /** nftables tables and the service-range device (unique per node when several share a host). */
  proxyTable?: string;
  netpolTable?: string;
  serviceDevice?: string;
}

export interface RunningNodeNetwork {
  services?: RunningServiceNetwork;
  networkPolicy?: NetworkPolicyController;
  stop(): Promise<void>;
}

export async function startNodeNetwork(
  server: RunningServer,
  o: NodeNetworkPart & { nodeName: string; log?: Logger },
): Promise<RunningNodeNetwork> {
  const cert = await security.issueClientCertificate(server.pki, {
    commonName: `system:skiff:node-network:${o.nodeName}`,
    organizations: ['system:masters'],
  });
  const client = new KubeClient({
    server: server.url,
    ca: server.pki.ca.certPem,
    cert: cert.certPem,
    key: cert.keyPem,
    userAgent: `skiff-node-network/${o.nodeName}`,
  });
  const running: RunningNodeNetwork = {
    async stop() {
      await running.networkPolicy?.stop();
      await running.services?.stop();
      client.close();
    },
  };
  try {
    if (o.services !== false)
      running.services = await startServiceNetwork({
        client,
        nodeName: o.nodeName,
        serviceCIDR: o.serviceCIDR,
        clusterCIDR: o.clusterCIDR,
        table: o.proxyTable,
        device: o.serviceDevice,
        log: o.log,
      });
    if (o.networkPolicy !== false)
      running.networkPolicy = await startNetworkPolicy(client, {
        nodeName: o.nodeName,
        table: o.netpolTable,
        log: o.log?.child({ component: 'netpol' }),
      });
  } catch (e) {
    // undoing a half start: the start's own error (rethrown below) is the one to report
    await running.stop().catch(() => undefined);
    throw e;
  }
  return running;
}
