// kube-controller-manager's leader election: the whole controller set runs only while this
// process holds the kube-system/kube-controller-manager Lease (upstream's name; the LeaderElector's
// defaults: 10 s lease, 7 s renew deadline, 2 s retry, for a takeover within 15 s), through the same LeaderElector the scheduler uses.
//
// Each term of leadership gets a client of its own. When the term ends (the lease could not be
// renewed in time, another holder took it, or stop()), every controller and informer stops and
// that client is closed before anything else happens: requests in flight fail, and a sync still
// running cannot write any more, so a deposed set is fenced off before the lease is released or
// another candidate's term begins. Upstream's controller manager exits on losing the lease; here
// the candidate campaigns again with a fresh set, as the scheduler does.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { LeaderElector, KubeClient } from '../client/index.js';
import { startControllers, type RunningControllers, type StartControllersOptions } from './set.js';
import { sleep } from '../../common/index.js';

export interface StartControllerManagerOptions extends StartControllersOptions {
  /** Holder identity (default hostname_pid_uuid; upstream's is hostname_uuid). */
  identity?: string;
  /** Lease timings (ms); default leaderElectionDefaults (10 s / 7 s / 2 s). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Lease name in kube-system (default kube-controller-manager, upstream's). */
  leaseName?: string;
}

export interface RunningControllerManager {
  readonly identity: string;
  /** The controllers while this candidate leads and they have started (undefined otherwise). */
  readonly active: RunningControllers | undefined;
  readonly elector: LeaderElector;
  /** Terms of leadership begun so far. */
  readonly terms: number;
  /** Gives the lease up (released at once, so another candidate need not wait) and stops. */
  stop(): Promise<void>;
}

/** Campaigns for the controller manager's Lease through `client` and runs the controllers (on a
 *  client of their own, made from `client.config`) while it is held. */
export function startControllerManager(
  client: KubeClient,
  opts: StartControllerManagerOptions,
): RunningControllerManager {
  const log = opts.log;
  const identity = opts.identity ?? `${hostname()}_${process.pid}_${randomUUID()}`;
  let active: RunningControllers | undefined;
  let terms = 0;
  const elector = new LeaderElector(client, {
    namespace: 'kube-system',
    name: opts.leaseName ?? 'kube-controller-manager',
    identity,
    leaseDurationMs: opts.leaseDurationMs,
    renewDeadlineMs: opts.renewDeadlineMs,
    retryPeriodMs: opts.retryPeriodMs,
    releaseOnCancel: true,
    log,
    async onStartedLeading(signal) {
      terms++;
      const termClient = new KubeClient({ ...client.config });
      let running: RunningControllers | undefined;
      // Runs synchronously inside the elector's abort, before it releases the lease or campaigns.
      signal.addEventListener(
        'abort',
        () => {
          active = undefined;
          running?.stop();
          termClient.close();
        },
        { once: true },
      );
      // A failed start (the API answering errors) is tried again while the lease is held: the
      // lease must not be held by a candidate that runs nothing.
      while (!signal.aborted) {
        try {
          running = await startControllers(termClient, opts);
          break;
        } catch (e) {
          if (signal.aborted) return; // the term ended while starting: its client is closed
          log.error('controllers failed to start; retrying', { error: e instanceof Error ? e.message : String(e) });
          await sleep(opts.retryPeriodMs ?? 2000);
        }
      }
      if (!running) return;
      if (signal.aborted) running.stop();
      else active = running;
    },
  });
  elector.start();
  return {
    identity,
    get active() {
      return active;
    },
    get terms() {
      return terms;
    },
    elector,
    stop: () => elector.stop(),
  };
}
