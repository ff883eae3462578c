// kube/controllers: control loops that are clients of the API (never the store). Each controller
// lives in its own folder; `startControllers` runs the ones `skiff server` hosts (the role of
// kube-controller-manager) over one set of shared informers.
import type { Logger } from '../../common/index.js';
import type { KubeClient } from '../client/index.js';
import { startDeploymentController } from './deployment/controller.js';
import { startGarbageCollector } from './garbagecollector/controller.js';
import { startKubernetesService, type KubernetesServiceOptions } from './kubernetes-service/controller.js';
import { startNamespaceController } from './namespace/controller.js';
import { startReplicaSetController } from './replicaset/controller.js';
import type { Controller, ControllerContext } from './shared/context.js';
import { EventRecorder } from './shared/events.js';
import { SharedInformers } from './shared/informers.js';

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

export interface RunningControllers {
  stop(): void;
}

/** The workload controllers by name (the names `controllers` selects from). */
const WORKLOAD: Record<string, (ctx: ControllerContext) => Controller> = {
  replicaset: (c) => startReplicaSetController(c),
  deployment: (c) => startDeploymentController(c),
};

/** Every controller name startControllers knows, in start order. */
export const CONTROLLER_NAMES = ['garbagecollector', 'namespace', 'kubernetes-service', ...Object.keys(WORKLOAD)];

export interface StartControllersOptions {
  log: Logger;
  /** The `kubernetes` Service's address and the API server's endpoint (skiff server). */
  kubernetesService?: Omit<KubernetesServiceOptions, 'log'>;
  /** Run only these (default: all of CONTROLLER_NAMES). */
  controllers?: string[];
  /** Clock for the controllers (tests); default Date.now. */
  now?: () => number;
}

/** Starts the control plane's controllers; `stop()` ends them and their informers. */
export async function startControllers(client: KubeClient, opts: StartControllersOptions): Promise<RunningControllers> {
  const want = new Set(opts.controllers ?? CONTROLLER_NAMES);
  const now = opts.now ?? Date.now;
  const informers = new SharedInformers(client, opts.log.child({ component: 'informers' }));
  const events = new EventRecorder(client, opts.log, now);
  const ctx: ControllerContext = { client, informers, events, log: opts.log, now };
  const workload = Object.entries(WORKLOAD)
    .filter(([n]) => want.has(n))
    .map(([, start]) => start(ctx));
  const started = await Promise.all([
    ...(opts.kubernetesService && want.has('kubernetes-service')
      ? [
          startKubernetesService(client, {
            ...opts.kubernetesService,
            log: opts.log.child({ controller: 'kubernetes-service' }),
          }),
        ]
      : []),
    ...(want.has('garbagecollector')
      ? [startGarbageCollector(client, { log: opts.log.child({ controller: 'garbagecollector' }) })]
      : []),
    ...(want.has('namespace')
      ? [startNamespaceController(client, { log: opts.log.child({ controller: 'namespace' }) })]
      : []),
  ]);
  await informers.start();
  for (const c of workload) c.run();
  return {
    stop() {
      for (const c of workload) c.stop();
      informers.stop();
      events.close();
      for (const c of started) c.stop();
    },
  };
}
