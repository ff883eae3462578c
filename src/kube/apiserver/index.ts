// The Kubernetes API server machinery, generic over ResourceDefinitions.
export { createApiServer, KUBE_VERSION } from './server.js';
export type { ApiServer, ApiServerOptions } from './server.js';
export type { ApiAuth, AuthzAttributes, UserInfo, Admission } from './context.js';
export type { ValueTransformer } from './registry.js';
export type { VirtualHandler } from './virtual.js';
export { humanAge } from './table.js';
export { decodeRequestBody } from './handlers/create.js';
export * as auth from './auth/index.js';
export { ApiError, errForbidden, errNotFound } from './status.js';
export { readObject } from './rest.js';
export { podStreamHandlers } from './pod-streams.js';
export type { RequestScope } from './context.js';
export { metricsReaders } from './metrics-api.js';
export type { KubeletClientConfig } from './node-client.js';
