// Composition roots: every `skiff` role on a machine (engine, control plane; the agent joins
// here) is started through startNode, the one composition.
//
// The server, the node agent, joining and the service network are exported as wrappers that load
// their modules on first call: importing this index must not load the API server, controllers and
// scheduler for a command that runs none of them (`skiff engine`: ~18 MB of idle RSS).
import type * as Server from './server.js';
import type * as Agent from './agent.js';
import type * as Join from './join.js';
import type * as ServiceNetwork from './service-network.js';
import type * as Bootstrap from './bootstrap.js';

export { startNode } from './node.js';
export type { NodeOptions, RunningNode } from './node.js';
export { launchEngine } from './engine.js';
export type { LaunchOptions, LaunchedEngine } from './engine.js';
export { parseListen } from './listen.js';
export type { ServerOptions, RunningServer } from './server.js';
export type { NodeAgentOptions, RunningNodeAgent } from './agent.js';
export type { JoinOptions, JoinedNode } from './join.js';
export type { ServiceNetworkOptions, RunningServiceNetwork } from './service-network.js';

export const startServer: typeof Server.startServer = async (...a) => (await import('./server.js')).startServer(...a);
export const startNodeAgent: typeof Agent.startNodeAgent = async (...a) =>
  (await import('./agent.js')).startNodeAgent(...a);
export const joinCluster: typeof Join.joinCluster = async (...a) => (await import('./join.js')).joinCluster(...a);
export const startServiceNetwork: typeof ServiceNetwork.startServiceNetwork = async (...a) =>
  (await import('./service-network.js')).startServiceNetwork(...a);
export const rotateServerToken: typeof Bootstrap.rotateServerToken = async (...a) =>
  (await import('./bootstrap.js')).rotateServerToken(...a);
/** A worker thread's side of the server's control loops (src/cli/main.ts calls it in a worker). */
export const runControlWorker = async (): Promise<void> => (await import('./control-worker.js')).runControlWorker();
