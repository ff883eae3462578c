// `skiff agent`: a node that joins a cluster over the network (k3s agent). The engine with its CRI
// on this machine, the node's credentials by TLS bootstrap (join token → CSR → client and serving
// certificates, renewed before they expire), then the node agent with that identity. Wiring only:
// the parts are kube/certificates, cluster/engine and kube/agent.
import { join } from 'node:path';
import { createLogger, type Logger } from '../common/index.js';
import { KubeClient } from '../kube/client/index.js';
import { defaultNodeIP, startAgent, type RunningAgent } from '../kube/agent/index.js';
import { NodeCredentials } from '../kube/certificates/index.js';
import { launchEngine, type LaunchedEngine } from './engine.js';
import { defaultNodeName } from './agent.js';
import { startServiceNetwork, type RunningServiceNetwork } from './service-network.js';

export interface JoinOptions {
  /** https://HOST:PORT of a server. */
  server: string;
  /** The server's DATA_DIR/node-token. */
  token: string;
  nodeName?: string;
  nodeIP?: string;
  /** Everything of this node: engine/, agent/, pki/, pod-logs/, engine.sock, cri.sock. */
  dataDir: string;
  /** The node's HTTPS server (default 0.0.0.0:10250). */
  listen?: { host: string; port: number };
  /** Cgroup parent of the engine's containers and of pods (default /skiff and /kubepods). */
  cgroupParent?: string;
  cgroupRoot?: string;
  clusterDNS?: string[];
  /** Pod CIDR until the server allocates one (default 10.42.0.0/24). */
  podCIDR?: string;
  /** Requested certificate validity (seconds). */
  certSeconds?: number;
  /** The service proxy and the node's cluster DNS (default true); the server's service range. */
  serviceNetwork?: boolean;
  serviceCIDR?: string;
  clusterCIDR?: string;
  log?: Logger;
}

export interface JoinedNode {
  nodeName: string;
  engine: LaunchedEngine;
  agent: RunningAgent;
  services?: RunningServiceNetwork;
  credentials: NodeCredentials;
  client: KubeClient;
  close(): Promise<void>;
}

export async function joinCluster(o: JoinOptions): Promise<JoinedNode> {
  const log = o.log ?? createLogger({ component: 'agent' });
  const name = o.nodeName ?? defaultNodeName();
  const ip = o.nodeIP ?? defaultNodeIP();
  const listen = o.listen ?? { host: '0.0.0.0', port: 10250 };
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const c of closers.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const credentials = await NodeCredentials.obtain({
      server: o.server,
      token: o.token,
      nodeName: name,
      servingHosts: [ip, name],
      dir: join(o.dataDir, 'pki'),
      expirationSeconds: o.certSeconds,
      log: log.child({ component: 'certificates' }),
    });
    closers.push(() => credentials.stop());
    log.info('node credentials ready', { node: name, server: o.server });
    const client = new KubeClient({
      server: o.server,
      ca: credentials.ca,
      cert: credentials.client.certPem,
      key: credentials.client.keyPem,
      userAgent: `skiff-agent/${name}`,
    });
    closers.push(() => client.close());
    credentials.onRotate((kind, p) => {
      if (kind === 'client') client.setClientCertificate(p.certPem, p.keyPem);
    });
    const engine = await launchEngine({
      dataRoot: join(o.dataDir, 'engine'),
      execRoot: join(o.dataDir, 'run'),
      hosts: [`unix://${join(o.dataDir, 'engine.sock')}`],
      cgroupParent: o.cgroupParent,
      cri: { socket: join(o.dataDir, 'cri.sock'), podCidr: o.podCIDR },
    });
    closers.push(() => engine.close());
    if (!engine.cri) throw new Error('the engine started without its CRI');
    // The service proxy and the node's DNS on the kube-dns address (k3s runs both in its agent).
    let services: RunningServiceNetwork | undefined;
    if (o.serviceNetwork !== false) {
      services = await startServiceNetwork({
        client,
        nodeName: name,
        serviceCIDR: o.serviceCIDR,
        clusterCIDR: o.clusterCIDR,
        log,
      });
      const s = services;
      closers.push(() => s.stop());
    }
    const agent = await startAgent({
      client,
      runtime: engine.cri,
      nodeName: name,
      nodeIP: ip,
      rootDir: join(o.dataDir, 'agent'),
      podLogsDir: join(o.dataDir, 'pod-logs'),
      defaultPodCIDR: o.podCIDR,
      cgroupRoot: o.cgroupRoot,
      clusterDNS: o.clusterDNS ?? (services ? [services.dnsIP] : undefined),
      server: { ...listen, cert: credentials.serving.certPem, key: credentials.serving.keyPem, ca: credentials.ca },
      log,
    });
    closers.push(() => agent.stop());
    return { nodeName: name, engine, agent, services, credentials, client, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
