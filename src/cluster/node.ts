// One composition for every way Skiff runs on a machine: `skiff start` (engine + control plane +
// node agent, k3s-style), `skiff server` (control plane), `skiff engine`, and next `skiff agent`
// (agent + engine). The engine starts first (an agent drives it), the control plane after, the
// node agent last (it needs both: the engine's CRI and the server's API and CA); on failure what
// already started is closed, and close() goes in reverse order (the agent first: it leaves pods
// running for the next start to adopt).
import { invalidArgument, type Logger } from '../common/index.js';
import type { NodeAgentOptions, RunningNodeAgent } from './agent.js';
import { launchEngine, type LaunchedEngine, type LaunchOptions } from './engine.js';
import type { RunningServer, ServerOptions } from './server.js';
import type { NodeNetworkPart, RunningNodeNetwork } from './node-network.js';

/** The node agent's part: it runs on this node's engine (its in-process CRI) against this node's
 *  server. `clusterDNS` is the hook for the cluster DNS service's addresses (pods' resolv.conf). */
export type NodeAgentPart = Omit<NodeAgentOptions, 'server' | 'runtime' | 'controlPlane'>;

export interface NodeOptions {
  engine?: LaunchOptions;
  server?: ServerOptions;
  /** Needs `engine` (with `cri`) and `server`. */
  agent?: NodeAgentPart;
  /** With the agent: the service proxy, the node's cluster DNS and NetworkPolicy (default on;
   *  `false` for none, as k3s's --disable-kube-proxy / --disable-network-policy). */
  network?: NodeNetworkPart | false;
  log?: Logger;
}

export interface RunningNode {
  engine?: LaunchedEngine;
  server?: RunningServer;
  agent?: RunningNodeAgent;
  network?: RunningNodeNetwork;
  close(): Promise<void>;
}

export async function startNode(o: NodeOptions): Promise<RunningNode> {
  if (o.agent && (!o.engine?.cri || !o.server))
    throw invalidArgument('the node agent needs the engine with CRI and the server on this node', { field: 'agent' });
  const closers: (() => Promise<void>)[] = [];
  const node: RunningNode = {
    async close() {
      for (const c of closers.splice(0).reverse()) await c();
    },
  };
  try {
    if (o.engine) {
      node.engine = await launchEngine(o.engine);
      closers.push(() => node.engine!.close());
    }
    // The server, the node network and the agent load only when this node runs them: `skiff
    // engine` runs none, and loading them (API server, controllers, scheduler, their schemas)
    // cost the engine ~18 MB of idle RSS.
    if (o.server) {
      const { startServer } = await import('./server.js');
      node.server = await startServer({ log: o.log, ...o.server });
      closers.push(() => node.server!.close());
    }
    if (o.agent) {
      const runtime = node.engine?.cri;
      if (!runtime) throw invalidArgument('the engine started without its CRI runtime', { field: 'agent' });
      const { defaultNodeName, startNodeAgent } = await import('./agent.js');
      if (o.network !== false) {
        const { startNodeNetwork } = await import('./node-network.js');
        node.network = await startNodeNetwork(node.server!, {
          nodeName: o.agent.nodeName ?? defaultNodeName(),
          serviceCIDR: o.server?.serviceCIDR,
          log: o.log,
          ...o.network,
        });
        closers.push(() => node.network!.stop());
      }
      node.agent = await startNodeAgent({
        log: o.log?.child({ component: 'agent' }),
        clusterDNS: node.network?.services ? [node.network.services.dnsIP] : undefined,
        ...o.agent,
        server: node.server!,
        runtime,
        controlPlane: true,
      });
      closers.push(() => node.agent!.stop());
    }
  } catch (e) {
    // undoing a half start: the start's own error (rethrown below) is the one to report
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw e;
  }
  return node;
}
