// kube/agent: the node agent (kubelet's role). It drives the node's runtime only through the
// ContainerRuntime interface (src/cri) and talks to the API server only through kube/client.
export { startAgent } from './agent.js';
export type { AgentOptions, RunningAgent } from './agent.js';
export {
  LocalPathProvisioner,
  CLASS as LOCAL_PATH_CLASS,
  PROVISIONER as LOCAL_PATH_PROVISIONER,
} from './volumes/local-path.js';
export { parseKubeletArgs, KUBELET_FLAGS, type KubeletTunables } from './flags.js';
export { KUBELET_VERSION } from './node/node-status.js';
export { nodeIP as defaultNodeIP } from './node/machine.js';
export type { Pod, Node } from './types.js';
