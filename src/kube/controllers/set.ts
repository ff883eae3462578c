// The controller set `skiff server` hosts (kube-controller-manager's role): `startControllers`
// starts the chosen controllers over one set of shared informers and stops them all at once.
import type { Logger } from '../../common/index.js';
import type { KubeClient } from '../client/index.js';
import { startDeploymentController } from './deployment/controller.js';
import { startGarbageCollector } from './garbagecollector/controller.js';
import { startKubernetesService, type KubernetesServiceOptions } from './kubernetes-service/controller.js';
import { startNamespaceController } from './namespace/controller.js';
import { startReplicaSetController } from './replicaset/controller.js';
import { startServiceAccountController } from './serviceaccount/controller.js';
import { startRootCAPublisher } from './rootca/controller.js';
import { startEndpointsController } from './endpoints/controller.js';
import { startEndpointSliceController } from './endpointslice/controller.js';
import { startJobController, type JobControllerOptions } from './job/controller.js';
import { startTTLAfterFinishedController } from './ttlafterfinished/controller.js';
import { startCronJobController } from './cronjob/controller.js';
import { startDaemonSetController } from './daemonset/controller.js';
import { startStatefulSetController } from './statefulset/controller.js';
import { startNodeLifecycleController, type NodeLifecycleOptions } from './nodelifecycle/controller.js';
import { startTaintEvictionController } from './tainteviction/controller.js';
import { startPodGC, type PodGCOptions } from './podgc/controller.js';
import { startDisruptionController } from './disruption/controller.js';
import { startResourceQuotaController, type ResourceQuotaOptions } from './resourcequota/controller.js';
import { startVolumeBindingController } from './volumebinding/controller.js';
import { startHPAController, type HpaOptions } from './hpa/controller.js';
import { startServiceLBController } from './servicelb/controller.js';
import { startTTLController } from './ttl/controller.js';
import { startStorageProtectionController } from './storageprotection/controller.js';
import type { Controller, ControllerContext } from './shared/context.js';
import { EventRecorder } from './shared/events.js';
import { SharedInformers } from './shared/informers.js';

export interface RunningControllers {
  stop(): void;
  /** Makes the workload controllers re-examine every object now (tests that move the clock). */
  resync(): void;
}

/** The workload controllers by name (the names `controllers` selects from). */
const WORKLOAD: Record<string, (ctx: ControllerContext, o: StartControllersOptions) => Controller | undefined> = {
  replicaset: (c) => startReplicaSetController(c),
  deployment: (c) => startDeploymentController(c),
  serviceaccount: (c) => startServiceAccountController(c),
  'root-ca-cert-publisher': (c, o) => (o.rootCA ? startRootCAPublisher(c, { caPem: o.rootCA }) : undefined),
  endpoints: (c) => startEndpointsController(c),
  endpointslice: (c, o) => startEndpointSliceController(c, { maxEndpointsPerSlice: o.maxEndpointsPerSlice }),
  job: (c, o) => startJobController(c, o.job),
  'ttl-after-finished': (c) => startTTLAfterFinishedController(c),
  cronjob: (c) => startCronJobController(c),
  daemonset: (c) => startDaemonSetController(c),
  statefulset: (c) => startStatefulSetController(c),
  'node-lifecycle': (c, o) => startNodeLifecycleController(c, o.nodeLifecycle),
  'taint-eviction': (c) => startTaintEvictionController(c),
  'pod-garbage-collector': (c, o) => startPodGC(c, o.podGC),
  disruption: (c) => startDisruptionController(c),
  resourcequota: (c, o) => startResourceQuotaController(c, o.resourceQuota),
  'persistentvolume-binder': (c) => startVolumeBindingController(c),
  'horizontal-pod-autoscaler': (c, o) => startHPAController(c, o.hpa),
  servicelb: (c) => startServiceLBController(c),
  ttl: (c) => startTTLController(c),
  'storage-protection': (c) => startStorageProtectionController(c),
};

/** Every controller name startControllers knows, in start order. */
export const CONTROLLER_NAMES = ['garbagecollector', 'namespace', 'kubernetes-service', ...Object.keys(WORKLOAD)];

export interface StartControllersOptions {
  log: Logger;
  /** The `kubernetes` Service's address and the API server's endpoint (skiff server). */
  kubernetesService?: Omit<KubernetesServiceOptions, 'log'>;
  /** Run only these (default: all of CONTROLLER_NAMES). */
  controllers?: string[];
  /** The cluster CA (PEM) the root-CA publisher puts in every namespace's kube-root-ca.crt. */
  rootCA?: string;
  /** Endpoints per EndpointSlice (default 100, as upstream's --max-endpoints-per-slice). */
  maxEndpointsPerSlice?: number;
  /** Job controller tuning (batching of pod events, failure back-off). */
  job?: JobControllerOptions;
  /** Node lifecycle tuning (grace period, monitor period). */
  nodeLifecycle?: NodeLifecycleOptions;
  /** Pod GC tuning (threshold, period, quarantine). */
  podGC?: PodGCOptions;
  /** ResourceQuota tuning (full recount period). */
  resourceQuota?: ResourceQuotaOptions;
  /** HPA tuning (sync period) and its metrics source (default: the metrics.k8s.io API). */
  hpa?: HpaOptions;
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
    .map(([, start]) => start(ctx, opts))
    .filter((c): c is Controller => c !== undefined);
  const settled = await Promise.allSettled([
    ...(opts.kubernetesService && want.has('kubernetes-service')
      ? [
          startKubernetesService(client, {
            ...opts.kubernetesService,
            log: opts.log.child({ controller: 'kubernetes-service' }),
          }),
        ]
      : []),
    ...(want.has('garbagecollector')
      ? [startGarbageCollector(client, { log: opts.log.child({ controller: 'garbagecollector' }), shared: informers })]
      : []),
    ...(want.has('namespace')
      ? [startNamespaceController(client, { log: opts.log.child({ controller: 'namespace' }) })]
      : []),
  ]);
  const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = () => {
    for (const c of workload) c.stop();
    informers.stop();
    events.close();
    for (const c of started) c.stop();
  };
  // A failed start leaves nothing running behind (the caller may try again).
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  try {
    if (failed) throw failed.reason;
    await informers.start();
  } catch (e) {
    stopAll();
    throw e;
  }
  for (const c of workload) c.run();
  return {
    resync() {
      for (const c of workload) c.resync?.();
    },
    stop: stopAll,
  };
}
