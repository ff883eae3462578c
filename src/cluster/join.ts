// `skiff agent`: a node that joins a cluster over the network (k3s agent). The engine with its CRI
// on this machine, the node's credentials by TLS bootstrap (join token → CSR → client and serving
// certificates, renewed before they expire), then the node agent with that identity. Wiring only:
// the parts are kube/certificates, cluster/engine and kube/agent.
import { join } from 'node:path';
import { createLogger, type Logger, sleep, internal, unavailable } from '../common/index.js';
import { KubeClient } from '../kube/client/index.js';
import { startAgent, type RunningAgent } from '../kube/agent/index.js';
import { NodeCredentials } from '../kube/certificates/index.js';
import { launchEngine, type LaunchedEngine } from './engine.js';
import { defaultNodeName, kubeletTunables } from './agent.js';
import { startServiceNetwork, type RunningServiceNetwork } from './service-network.js';
import { PodOverlay, type Backend } from '../kube/podnet/index.js';
import { startNetworkPolicy, type NetworkPolicyController } from '../kube/netpol/index.js';
import { isSkiffError } from '../common/index.js';
import { NodeAddressWatcher, type NodeAddressState } from '../network/index.js';

/** The pod network's iptables chain prefix (the CRI's default, named so the overlay can order it). */
const POD_CHAINS = 'SKIFF-POD';

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
  /** kubelet flags the agent honours (NAME=VALUE, as k3s's --kubelet-arg). */
  kubeletArgs?: string[];
  /** This node's pod CIDR, instead of the one the server allocates (its node IPAM). */
  podCIDR?: string;
  /** How pods reach other nodes' pods: vxlan (default), host-gw, or none (single node). */
  podNetwork?: Backend | 'none';
  /** How long to wait for the server's pod CIDR allocation (ms, default 60 s). */
  podCIDRTimeoutMs?: number;
  /** Requested certificate validity (seconds). */
  certSeconds?: number;
  /** The service proxy and the node's cluster DNS (default true); the server's service range. */
  serviceNetwork?: boolean;
  /** NetworkPolicy enforcement for this node's pods (default true). */
  networkPolicy?: boolean;
  serviceCIDR?: string;
  clusterCIDR?: string;
  log?: Logger;
}

export interface JoinedNode {
  nodeName: string;
  engine: LaunchedEngine;
  agent: RunningAgent;
  services?: RunningServiceNetwork;
  netpol?: NetworkPolicyController;
  overlay?: PodOverlay;
  credentials: NodeCredentials;
  client: KubeClient;
  close(): Promise<void>;
}

export async function joinCluster(o: JoinOptions): Promise<JoinedNode> {
  const log = o.log ?? createLogger({ component: 'agent' });
  const tunables = kubeletTunables(o.kubeletArgs);
  const name = o.nodeName ?? defaultNodeName();
  const listen = o.listen ?? { host: '0.0.0.0', port: 10250 };
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    // closing on the way out: one closer failing must not keep the others from running
    for (const c of closers.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    // The node's address: --node-ip, else re-derived whenever the host's addresses or routes
    // change (kubelet's behaviour without --node-ip); the overlay, the Node and the serving
    // certificate follow it (follow() below).
    const addresses = new NodeAddressWatcher({ configured: o.nodeIP, log: log.child({ component: 'node-address' }) });
    const ip = (await addresses.start()).address;
    closers.push(() => addresses.stop());
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
    // The Node first (registered by name only), so the server's node IPAM gives it a pod CIDR
    // before anything uses one (as flannel waits for the Node's podCIDR).
    const podCIDR = o.podCIDR ?? (await allocatedPodCIDR(client, name, o.podCIDRTimeoutMs ?? 60_000));
    let overlay: PodOverlay | undefined;
    if (o.podNetwork !== 'none') {
      overlay = new PodOverlay({
        client,
        nodeName: name,
        nodeIP: ip,
        podCIDR,
        clusterCIDR: o.clusterCIDR,
        backend: o.podNetwork,
        podChainPrefix: POD_CHAINS,
        log: log.child({ component: 'podnet' }),
      });
      const ov = overlay;
      closers.push(() => ov.stop());
      await overlay.start();
    }
    const engine = await launchEngine({
      dataRoot: join(o.dataDir, 'engine'),
      execRoot: join(o.dataDir, 'run'),
      hosts: [`unix://${join(o.dataDir, 'engine.sock')}`],
      cgroupParent: o.cgroupParent,
      cri: { socket: join(o.dataDir, 'cri.sock'), podCidr: podCIDR, mtu: overlay?.mtu, chainPrefix: POD_CHAINS },
    });
    closers.push(() => engine.close());
    await overlay?.ensureRules(true);
    if (!engine.cri) throw internal('the engine started without its CRI');
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
    // NetworkPolicy for this node's pods (k3s's embedded kube-router controller); its rules stay
    // across a restart, as the proxy's.
    let netpol: NetworkPolicyController | undefined;
    if (o.networkPolicy !== false) {
      netpol = await startNetworkPolicy(client, { nodeName: name, log: log.child({ component: 'netpol' }) });
      const np = netpol;
      closers.push(() => np.stop());
    }
    const agent = await startAgent({
      client,
      runtime: engine.cri,
      nodeName: name,
      nodeIP: ip,
      rootDir: join(o.dataDir, 'agent'),
      podLogsDir: join(o.dataDir, 'pod-logs'),
      defaultPodCIDR: podCIDR,
      cgroupRoot: o.cgroupRoot,
      clusterDNS: o.clusterDNS ?? (services ? [services.dnsIP] : undefined),
      ...tunables,
      server: { ...listen, cert: credentials.serving.certPem, key: credentials.serving.keyPem, ca: credentials.ca },
      log,
    });
    closers.push(() => agent.stop());
    credentials.onRotate((kind, p) => {
      if (kind === 'serving') agent.setServingCertificate(p.certPem, p.keyPem);
    });
    let following = Promise.resolve();
    const follow = (s: NodeAddressState) => {
      following = following
        .then(() => followAddress(s, { name, agent, overlay, credentials, client, log }))
        .catch((e) => log.warn('following the node address failed', { error: (e as Error).message }));
    };
    addresses.onChange(follow);
    if (addresses.current.address !== ip || !addresses.current.link) follow(addresses.current);
    return { nodeName: name, engine, agent, services, netpol, overlay, credentials, client, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** The node's address moved (or its link, or a configured one left or came back). */
async function followAddress(
  s: NodeAddressState,
  p: {
    name: string;
    agent: RunningAgent;
    overlay?: PodOverlay;
    credentials: NodeCredentials;
    client: KubeClient;
    log: Logger;
  },
): Promise<void> {
  if (!s.link) {
    // A configured address gone is reported; a derived one between a removal and the next
    // address keeps the last known (nothing to follow yet).
    // Connections from a configured address that left are dead too: closed, so the report (and
    // everything else) goes out through new ones from whatever address the host has now.
    if (s.configured) {
      p.client.resetConnections();
      await p.agent.setNodeAddress(s.address, true);
    } else p.log.warn('the node has no usable address; keeping the last one', { address: s.address });
    return;
  }
  // Connections to the API server from the old address are dead (its watches would hang until
  // TCP gave up): all closed, informers list and watch again from the new one.
  if (s.address !== p.agent.node.ip) p.client.resetConnections();
  await p.overlay?.setNodeIP(s.address);
  await p.agent.setNodeAddress(s.address);
  await p.credentials.setServingHosts([s.address, p.name]);
}

/** Registers the Node by name (if missing) and waits for the pod CIDR the server allocates. */
async function allocatedPodCIDR(client: KubeClient, name: string, timeoutMs: number): Promise<string> {
  const path = `/api/v1/nodes/${encodeURIComponent(name)}`;
  try {
    await client.request('POST', '/api/v1/nodes', {
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } },
    });
  } catch (e) {
    if (!isSkiffError(e, 'AlreadyExists')) throw e;
  }
  const end = Date.now() + timeoutMs;
  for (;;) {
    const node = await client.request<{ spec?: { podCIDR?: string } }>('GET', path);
    if (node.spec?.podCIDR) return node.spec.podCIDR;
    if (Date.now() > end)
      throw unavailable(
        `node ${name}: the server allocated no pod CIDR in ${timeoutMs / 1000} s (is its node IPAM running?)`,
      );
    await sleep(250);
  }
}
