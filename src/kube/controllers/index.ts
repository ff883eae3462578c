// kube/controllers: control loops that are clients of the API (never the store). Each controller
// lives in its own folder; `startControllers` runs the ones `skiff server` hosts.
import type { Logger } from '../../common/index.js';
import type { KubeClient } from '../client/index.js';
import { startGarbageCollector } from './garbagecollector/controller.js';
import { startNamespaceController } from './namespace/controller.js';
import { startKubernetesService, type KubernetesServiceOptions } from './kubernetes-service/controller.js';

export { startGarbageCollector } from './garbagecollector/controller.js';
export type { GarbageCollector, GarbageCollectorOptions } from './garbagecollector/controller.js';
export { startNamespaceController } from './namespace/controller.js';
export type { NamespaceControllerOptions } from './namespace/controller.js';

export {
  reconcileKubernetesService,
  startKubernetesService,
  type KubernetesServiceOptions,
} from './kubernetes-service/controller.js';

export interface RunningControllers {
  stop(): void;
}

/** The control plane's own controllers: garbage collector and namespace controller. */
export async function startControllers(
  client: KubeClient,
  opts: { log: Logger; kubernetesService?: Omit<KubernetesServiceOptions, 'log'> },
): Promise<RunningControllers> {
  const started = await Promise.all([
    ...(opts.kubernetesService
      ? [
          startKubernetesService(client, {
            ...opts.kubernetesService,
            log: opts.log.child({ controller: 'kubernetes-service' }),
          }),
        ]
      : []),
    startGarbageCollector(client, { log: opts.log.child({ controller: 'garbagecollector' }) }),
    startNamespaceController(client, { log: opts.log.child({ controller: 'namespace' }) }),
  ]);
  return {
    stop() {
      for (const c of started) c.stop();
    },
  };
}
