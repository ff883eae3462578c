// The Container Runtime Interface component: the ContainerRuntime interface the node agent uses, in
// CRI's vocabulary, and the CRI v1 message types generated from the upstream wire contract.
export type { ContainerRuntime, ImageService, RuntimeService } from './runtime.js';
export * from './generated/index.js';
export { serveCri, grpcStatusOf, protoPath, LOADER_OPTIONS, type CriServer } from './server.js';
