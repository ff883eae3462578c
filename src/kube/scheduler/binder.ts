// The binding cycle, in the background of the scheduling loop: PreBind (volumes), then the
// pods/binding subresource, then a Scheduled event. A failure undoes the assumption (Unreserve,
// forget) and hands the pod back to the failure handler. Also the pod status writes the
// scheduler makes (PodScheduled=False, nominatedNodeName), as strategic merge patches.
import type { KubeClient } from '../client/index.js';
import { fitErrorMessage, NodeToStatus, type CycleState, type Handle } from './framework.js';
import type { PodInfo } from './nodeinfo.js';
import type { Profile } from './profile.js';
import { podKey, type QueuedPodInfo, type SchedulingQueue } from './queue.js';
import type { SchedulerCache } from './cache.js';
import type { EventRecorder } from './events.js';
import type { ClusterInformers } from './informers.js';
import type { Pod } from './types.js';

export interface BinderTarget {
  readonly client: KubeClient;
  readonly cache: SchedulerCache;
  readonly queue: SchedulingQueue;
  readonly profile: Profile;
  readonly recorder: EventRecorder;
  readonly informers: ClusterInformers;
  readonly stats: { bound: number; errors: number };
  failed(
    q: QueuedPodInfo,
    cycle: number,
    reason: 'Unschedulable' | 'SchedulerError',
    message: string,
    plugins: Set<string>,
    nominated: string | undefined,
  ): void;
}

const podPath = (p: Pod) =>
  `/api/v1/namespaces/${encodeURIComponent(p.metadata.namespace ?? '')}/pods/${encodeURIComponent(p.metadata.name ?? '')}`;
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class Binder {
  private inFlight = new Set<Promise<void>>();
  private slotWaiters: (() => void)[] = [];
  private ac = new AbortController();

  constructor(
    private s: BinderTarget,
    private h: Pick<Handle, 'client'>,
    private max: number,
  ) {}

  /** Resolves when another binding may start. */
  capacity(): Promise<void> {
    if (this.inFlight.size < this.max) return Promise.resolve();
    return new Promise((r) => this.slotWaiters.push(r));
  }

  async drain(): Promise<void> {
    this.ac.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  bind(q: QueuedPodInfo, state: CycleState, assumed: PodInfo, node: string, cycle: number): void {
    const p = this.cycle(q, state, assumed, node, cycle).finally(() => {
      this.inFlight.delete(p);
      this.slotWaiters.shift()?.();
    });
    this.inFlight.add(p);
  }

  private async cycle(
    q: QueuedPodInfo,
    state: CycleState,
    assumed: PodInfo,
    node: string,
    cycle: number,
  ): Promise<void> {
    const { cache, queue, profile, recorder } = this.s;
    const pod = assumed.pod;
    const key = assumed.key;
    try {
      const pre = await profile.runPreBind(state, assumed, node, this.ac.signal);
      if (pre) {
        const statuses = new NodeToStatus();
        statuses.set(node, pre);
        const msg = pre.isRejected
          ? fitErrorMessage(1, { nodeToStatus: statuses, unschedulablePlugins: new Set([pre.plugin]) })
          : `running PreBind plugin "${pre.plugin}": ${pre.message}`;
        throw Object.assign(new Error(msg), { rejected: pre.isRejected, plugin: pre.plugin });
      }
      queue.done(key);
      await this.s.client.request('POST', `${podPath(pod)}/binding`, {
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: node },
        },
      });
      cache.finishBinding(key);
      this.s.stats.bound++;
      recorder.event(
        pod,
        'Normal',
        'Scheduled',
        'Binding',
        `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}`,
      );
    } catch (e) {
      this.s.stats.errors++;
      profile.runUnreserve(state, assumed, node);
      cache.forgetPod(key);
      queue.moveAllOnEvent('AssignedPod', 'Delete', (p) => podKey(p) !== key);
      const rejected = (e as { rejected?: boolean }).rejected === true;
      const plugin = (e as { plugin?: string }).plugin;
      const msg = e instanceof Error ? e.message : String(e);
      this.s.failed(
        q,
        cycle,
        rejected ? 'Unschedulable' : 'SchedulerError',
        msg,
        new Set(rejected && plugin ? [plugin] : []),
        '',
      );
    }
  }

  /** PodScheduled=False with the reason and message (only when it changes), and the nominated
   *  node: a name sets it, '' clears it, undefined leaves it. */
  async updateCondition(pod: Pod, reason: string, message: string, nominated: string | undefined): Promise<void> {
    if (!this.h.client) return;
    const cur = this.s.informers.pod(pod.metadata.namespace ?? '', pod.metadata.name ?? '') ?? pod;
    const old = cur.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const condChanged = !old || old.status !== 'False' || old.reason !== reason || old.message !== message;
    const nnnChanged = nominated !== undefined && (cur.status?.nominatedNodeName ?? '') !== nominated;
    if (!condChanged && !nnnChanged) return;
    const status: Record<string, unknown> = {};
    if (condChanged)
      status.conditions = [
        {
          type: 'PodScheduled',
          status: 'False',
          reason,
          message,
          lastProbeTime: null,
          lastTransitionTime: old && old.status === 'False' ? old.lastTransitionTime : now(),
        },
      ];
    if (nnnChanged) status.nominatedNodeName = nominated || null;
    await this.h.client.request('PATCH', `${podPath(cur)}/status`, {
      body: { metadata: { uid: cur.metadata.uid }, status },
      contentType: 'application/strategic-merge-patch+json',
    });
  }
}
