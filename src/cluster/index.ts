// Composition roots: `skiff server` (control plane) — the agent joins here when it exists.
export { startServer, parseListen } from './server.js';
export type { ServerOptions, RunningServer } from './server.js';
export { startNodeAgent, defaultNodeName } from './agent.js';
export type { NodeAgentOptions, RunningNodeAgent } from './agent.js';
