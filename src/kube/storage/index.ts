// kube/storage: the revisioned key-value store under the API server (etcd's data model), with
// SQLite (embedded default), etcd (HA) and memory (tests) backends. See docs/storage.md.
export type { KeyValue, ListOptions, ListResult, WatchEvent, Watch, Store } from './types.js';
export { openStore, type StoreOptions, type EtcdTlsOptions } from './open.js';
export { createMemoryStore } from './memory/index.js';
export type { CompactorOptions } from './compactor.js';
export { isCompacted, isKeyExists, isFutureRevision } from './reasons.js';
