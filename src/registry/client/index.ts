export { pullImage, fetchManifest, type PullOptions, type PullResult } from './pull.js';
export { pushImage, type PushOptions, type PushResult } from './push.js';
export type { ClientOptions, ProgressEvent } from './common.js';
export { credentialsFromDockerConfig, dockerConfigPath, normalizeAuthKey, type AuthConfig } from './credentials.js';
export { RegistryTransport, isLoopback, type TransportOptions } from './transport.js';
export { parseChallenges, type Challenge } from './challenge.js';
export { loginRegistry, parseRegistryAuthHeader } from './login.js';
