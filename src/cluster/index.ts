// Composition roots: every `skiff` role on a machine (engine, control plane; the agent joins
// here) is started through startNode, the one composition.
export { startNode } from './node.js';
export type { NodeOptions, RunningNode } from './node.js';
export { startServer, parseListen } from './server.js';
export type { ServerOptions, RunningServer } from './server.js';
export { launchEngine } from './engine.js';
export type { LaunchOptions, LaunchedEngine } from './engine.js';
export { startNodeAgent, defaultNodeName } from './agent.js';
export type { NodeAgentOptions, RunningNodeAgent } from './agent.js';
export { joinCluster } from './join.js';
export type { JoinOptions, JoinedNode } from './join.js';
export { startServiceNetwork, ensureKubeDnsService, clusterDnsIP } from './service-network.js';
export type { ServiceNetworkOptions, RunningServiceNetwork } from './service-network.js';
