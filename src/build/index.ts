// The build component: Dockerfile parsing and the classic builder with its persistent cache.
export * from './dockerfile/index.js';
export {
  Builder,
  PREDEFINED_ARGS,
  type BuilderOptions,
  type BuildOptions,
  type BuildResult,
  type RegistryAuth,
} from './builder.js';
export { BuildCache } from './cache.js';
export type { BuildCacheRecord } from './usage.js';
export type { NetworkSandbox, NetworkSandboxFn } from './state.js';
