// kube/scheduler: kube-scheduler's role — pending pods to nodes through upstream's default
// profile, over informers (never the store), binding through pods/binding. `startScheduler` runs
// it behind leader election on the kube-system/kube-scheduler Lease, as kube-scheduler does.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createLogger, type Logger } from '../../common/index.js';
import { LeaderElector, type KubeClient } from '../client/index.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

export { Scheduler } from './scheduler.js';
export type { SchedulerOptions } from './scheduler.js';
export { SchedulingQueue } from './queue.js';
export { SchedulerCache } from './cache.js';
export { Profile } from './profile.js';
export { Algorithm, numFeasibleNodesToFind } from './algorithm.js';
export { fitErrorMessage, CycleState, NodeToStatus, Status } from './framework.js';
export type { Handle, Plugin, Listers, Snapshot } from './framework.js';
export { NodeInfo, PodInfo } from './nodeinfo.js';
export * as plugins from './plugins/index.js';
export { podRequests } from './resources.js';

export interface RunningScheduler {
  /** The scheduler while this process leads (undefined otherwise). */
  readonly active: Scheduler | undefined;
  readonly elector: LeaderElector;
  stop(): Promise<void>;
}

export interface StartSchedulerOptions extends SchedulerOptions {
  /** Lease timings (ms); default leaderElectionDefaults (10 s / 7 s / 2 s). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Lease name in kube-system (default kube-scheduler, the one upstream's scheduler takes). */
  leaseName?: string;
}

/** Runs a scheduler on `client` while this candidate holds the lease; on losing it the
 *  scheduler stops (its caches are dropped) and the candidate campaigns again. */
export function startScheduler(client: KubeClient, opts: StartSchedulerOptions = {}): RunningScheduler {
  const log: Logger = opts.log ?? createLogger({ component: 'scheduler' });
  // upstream's identity is hostname_uuid; the pid in between tells processes on one host apart.
  const identity = opts.identity ?? `${hostname()}_${process.pid}_${randomUUID()}`;
  let active: Scheduler | undefined;
  let current: Promise<void> = Promise.resolve();
  const elector = new LeaderElector(client, {
    namespace: 'kube-system',
    name: opts.leaseName ?? 'kube-scheduler',
    identity,
    leaseDurationMs: opts.leaseDurationMs,
    renewDeadlineMs: opts.renewDeadlineMs,
    retryPeriodMs: opts.retryPeriodMs,
    releaseOnCancel: true,
    log,
    onStartedLeading(signal) {
      const s = new Scheduler(client, { ...opts, identity, log });
      active = s;
      current = s
        .start()
        .catch((e) => log.error('scheduler failed to start', { error: e instanceof Error ? e.stack : String(e) }));
      signal.addEventListener(
        'abort',
        () => {
          active = undefined;
          current = current.then(() => s.stop());
        },
        { once: true },
      );
    },
  });
  elector.start();
  return {
    get active() {
      return active;
    },
    elector,
    async stop() {
      await elector.stop();
      await current;
    },
  };
}
