// The scheduler: informers feed the cache and the queue; one loop takes the next pod, runs a
// scheduling cycle (synchronous, over the cache), assumes the pod on the chosen node and binds it
// in the background (PreBind, then pods/binding), while the loop goes on with the next pod. A pod
// that fits nowhere runs PostFilter (preemption), gets PodScheduled=False with upstream's message
// and a FailedScheduling event, and waits in the queue for a cluster event.
import { createLogger, type Logger } from '../../common/index.js';
import type { KubeClient } from '../client/index.js';
import { Algorithm, CycleState } from './algorithm.js';
import { SchedulerCache } from './cache.js';
import { EventRecorder } from './events.js';
import { fitErrorMessage, NodeToStatus, type Handle } from './framework.js';
import { ClusterInformers } from './informers.js';
import { PodInfo } from './nodeinfo.js';
import { defaultPlugins } from './plugins/index.js';
import { Profile } from './profile.js';
import { podKey, SchedulingQueue, type QueuedPodInfo, type QueueOptions } from './queue.js';
import { PodEvents } from './pod-events.js';
import { Binder } from './binder.js';
import type { Pod } from './types.js';

export interface SchedulerOptions {
  /** The profile's name: pods with another spec.schedulerName are left alone. */
  schedulerName?: string;
  /** Identity in events and leases (default: hostname_random). */
  identity?: string;
  /** 0 (default): upstream's adaptive percentage. */
  percentageOfNodesToScore?: number;
  /** At most this many bindings in flight (default 64); the loop waits beyond. */
  maxInFlightBindings?: number;
  queue?: QueueOptions;
  log?: Logger;
}

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly profile: Profile;
  readonly informers: ClusterInformers;
  readonly recorder: EventRecorder;
  readonly schedulerName: string;
  private algorithm: Algorithm;
  private binder: Binder;
  private log: Logger;
  private running = false;
  private loop?: Promise<void>;
  /** Counters (tests, benchmarks, logs). */
  readonly stats = { scheduled: 0, bound: 0, unschedulable: 0, errors: 0 };

  constructor(
    readonly client: KubeClient,
    opts: SchedulerOptions = {},
  ) {
    this.schedulerName = opts.schedulerName ?? 'default-scheduler';
    this.log = opts.log ?? createLogger({ component: 'scheduler' });
    const identity = opts.identity ?? `skiff-scheduler-${Math.random().toString(36).slice(2, 8)}`;
    this.recorder = new EventRecorder(client, this.schedulerName, identity, this.log);
    const podEvents = new PodEvents(this);
    this.informers = new ClusterInformers(client, {
      pods: podEvents,
      nodes: podEvents.nodeHandlers(),
      onEvent: (r, a) => this.queue.moveAllOnEvent(r, a),
      log: this.log,
    });
    const handle: Handle = {
      snapshot: this.cache,
      listers: this.informers,
      nominator: {
        nominatedPodsForNode: (n) => this.queue.nominatedPodsForNode(n),
        anyNominated: () => this.queue.anyNominated(),
      },
      client,
      schedulerName: this.schedulerName,
      event: (o, t, r, a, m) => this.recorder.event(o, t, r, a, m),
      runFilterWithNominatedPods: (s, pi, n) => this.profile.runFilterWithNominatedPods(s, pi, n),
      runPreFilterAddPod: (s, pi, a, n) => this.profile.runPreFilterAddPod(s, pi, a, n),
      runPreFilterRemovePod: (s, pi, r, n) => this.profile.runPreFilterRemovePod(s, pi, r, n),
    };
    const plugins = defaultPlugins(handle, () => this.informers.pdbs());
    this.queue = new SchedulingQueue(
      plugins.map((p) => p.plugin),
      opts.queue,
    );
    this.profile = new Profile(this.schedulerName, plugins, handle);
    this.algorithm = new Algorithm(this.profile, this.cache, opts.percentageOfNodesToScore ?? 0);
    this.binder = new Binder(this, handle, opts.maxInFlightBindings ?? 64);
  }

  /** Lists the cluster, then schedules until stop(). */
  async start(): Promise<void> {
    this.running = true;
    await this.informers.start();
    if (!this.running) return;
    this.queue.run();
    this.loop = this.run();
    this.log.info('scheduler started', { name: this.schedulerName, nodes: this.cache.nodeCount });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue.close();
    this.informers.stop();
    await this.loop;
    await this.binder.drain();
    await this.recorder.flush();
  }

  /** Whether this scheduler handles the pod (its schedulerName). */
  responsibleFor(pod: Pod): boolean {
    return (pod.spec.schedulerName ?? 'default-scheduler') === this.schedulerName;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const q = await this.queue.pop();
      if (!q) break;
      const cycle = this.queue.schedulingCycle;
      try {
        await this.scheduleOne(q);
      } catch (e) {
        // A bug or an odd object must not lose the pod: it is retried after a backoff.
        this.log.error('scheduling cycle failed', {
          pod: podKey(q.pi.pod),
          error: e instanceof Error ? e.stack : String(e),
        });
        this.stats.errors++;
        this.failed(q, cycle, 'SchedulerError', e instanceof Error ? e.message : String(e), new Set(), undefined);
      }
      await this.binder.capacity();
      // Let I/O (watch events, binding answers) in between cycles.
      await new Promise((r) => setImmediate(r));
    }
  }

  async scheduleOne(q: QueuedPodInfo): Promise<void> {
    const pi = q.pi;
    const pod = pi.pod;
    const cycle = this.queue.schedulingCycle;
    if (pod.metadata.deletionTimestamp) {
      this.recorder.event(
        pod,
        'Warning',
        'FailedScheduling',
        'Scheduling',
        `skip schedule deleting pod: ${pod.metadata.namespace}/${pod.metadata.name}`,
      );
      this.queue.done(pi.key);
      return;
    }
    if (this.cache.isAssumed(pi.key)) {
      this.queue.done(pi.key);
      return;
    }
    const state = new CycleState();
    const r = this.algorithm.schedule(state, pi);
    if (r.kind === 'no-nodes') {
      this.stats.unschedulable++;
      return this.failed(q, cycle, 'Unschedulable', 'no nodes available to schedule pods', new Set(), '');
    }
    if (r.kind === 'error') {
      this.stats.errors++;
      return this.failed(q, cycle, 'SchedulerError', r.message, r.diagnosis.unschedulablePlugins, '');
    }
    if (r.kind === 'unfit') {
      let nominated: string | undefined;
      if (this.profile.hasPostFilter) {
        const pf = await this.profile.runPostFilter(state, pi, r.diagnosis.nodeToStatus);
        r.diagnosis.postFilterMsg = pf.status.message;
        nominated = pf.nominatedNodeName;
      }
      this.stats.unschedulable++;
      const msg = fitErrorMessage(r.numAllNodes, r.diagnosis);
      return this.failed(q, cycle, 'Unschedulable', msg, r.diagnosis.unschedulablePlugins, nominated);
    }
    const assumed = this.cache.assumePod(pi, r.node);
    const rs = this.profile.runReserve(state, assumed, r.node);
    if (rs) {
      this.profile.runUnreserve(state, assumed, r.node);
      this.cache.forgetPod(assumed.key);
      const reason = rs.isRejected ? 'Unschedulable' : 'SchedulerError';
      const statuses = new NodeToStatus();
      statuses.set(r.node, rs);
      const msg = rs.isRejected
        ? fitErrorMessage(1, { nodeToStatus: statuses, unschedulablePlugins: new Set([rs.plugin]) })
        : rs.message;
      return this.failed(q, cycle, reason, msg, new Set([rs.plugin]), '');
    }
    this.stats.scheduled++;
    this.binder.bind(q, state, assumed, r.node, cycle);
  }

  /** upstream's handleSchedulingFailure: back to the queue (unless gone or bound meanwhile),
   *  nomination recorded, FailedScheduling event, PodScheduled=False. */
  failed(
    q: QueuedPodInfo,
    cycle: number,
    reason: 'Unschedulable' | 'SchedulerError',
    message: string,
    plugins: Set<string>,
    nominated: string | undefined,
  ): void {
    const pod = q.pi.pod;
    q.unschedulablePlugins = reason === 'Unschedulable' ? plugins : new Set();
    const current = this.informers.pod(pod.metadata.namespace ?? '', pod.metadata.name ?? '');
    if (current && !current.spec.nodeName && podKey(current) === q.pi.key) {
      q.pi = new PodInfo(this.withPriority(current));
      this.queue.addUnschedulable(q, cycle);
    } else this.queue.done(q.pi.key);
    if (nominated !== undefined) {
      if (nominated) this.queue.addNominated(q.pi, nominated);
      else this.queue.deleteNominated(q.pi.key);
    }
    this.recorder.event(pod, 'Warning', 'FailedScheduling', 'Scheduling', message);
    void this.binder.updateCondition(pod, reason, message, nominated).catch((e) =>
      this.log.warn('pod condition not updated', {
        pod: podKey(pod),
        error: e instanceof Error ? e.message : String(e),
      }),
    );
  }

  /** The pod's priority and preemption policy from its PriorityClass when admission did not fill
   *  them in (spec.priority 0 with a class that says otherwise). */
  withPriority(pod: Pod): Pod {
    const name = pod.spec.priorityClassName;
    if (!name || (pod.spec.priority ?? 0) !== 0) return pod;
    const pc = this.informers.priorityClass(name);
    if (!pc || !pc.value) return pod;
    return {
      ...pod,
      spec: {
        ...pod.spec,
        priority: pc.value,
        preemptionPolicy: pc.preemptionPolicy === 'Never' ? 'Never' : pod.spec.preemptionPolicy,
      },
    };
  }
}
