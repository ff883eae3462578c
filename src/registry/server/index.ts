export { createRegistryServer, type RegistryServer, type RegistryServerOptions } from './server.js';
export { garbageCollect, type GcResult } from './gc.js';
export { RegistryStorage } from './storage.js';
