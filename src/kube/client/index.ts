// kube/client: what controllers, the scheduler and node agents use to talk to the API server —
// a REST client, watches, informers, a work queue and discovery. Never the store.
export { KubeClient, resourcePath, statusError } from './rest.js';
export type { ClientConfig, ResourceRef, RequestOptions } from './rest.js';
export { watchEvents, isExpired } from './watch.js';
export type { WatchEvent } from './watch.js';
export { Informer, objectKey, trimManagedFields } from './informer.js';
export type { InformerHandlers, InformerOptions } from './informer.js';
export { WorkQueue } from './workqueue.js';
export { DelayedAdds } from './delayed-adds.js';
export { discoverResources, resourceForKind } from './discovery.js';
export type { DiscoveredResource } from './discovery.js';
export {
  LeaderElector,
  microTime,
  leaderElectionDefaults,
  worstCaseTakeoverMs,
  checkLeaderElectionTimings,
} from './leaderelection.js';
export type { LeaderElectionOptions, LeaderElectionTimings } from './leaderelection.js';
