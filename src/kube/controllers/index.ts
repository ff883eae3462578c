// kube/controllers: control loops that are clients of the API (never the store). Each controller
// lives in its own folder; `startControllers` (set.ts) runs the ones `skiff server` hosts (the role
// of kube-controller-manager) over one set of shared informers, and `startControllerManager`
// (manager.ts) runs that set only while holding the kube-system/kube-controller-manager Lease.
export { startControllers, CONTROLLER_NAMES } from './set.js';
export type { RunningControllers, StartControllersOptions } from './set.js';
export { startControllerManager } from './manager.js';
export { parseControllerManagerArgs } from './flags.js';
export type { RunningControllerManager, StartControllerManagerOptions } from './manager.js';
export { startGarbageCollector } from './garbagecollector/controller.js';
export type { GarbageCollector, GarbageCollectorOptions } from './garbagecollector/controller.js';
export { startNamespaceController } from './namespace/controller.js';
export type { NamespaceControllerOptions } from './namespace/controller.js';
export {
  reconcileKubernetesService,
  startKubernetesService,
  type KubernetesServiceOptions,
} from './kubernetes-service/controller.js';
export type { Controller, ControllerContext } from './shared/context.js';
export type { PodMetricsSource, PodUsage } from './hpa/metrics.js';
