// Informer events → cache and queue, as upstream's eventhandlers.go: an assigned pod goes to the
// cache (confirming an assumed one), a pending pod of this scheduler to the queue; a pod that got
// bound leaves the queue. Node and assigned-pod changes are cluster events for the unschedulable
// pods (an added pod only for pods whose required affinity terms it matches, as upstream).
import type { NodeHandlers, PodHandlers } from './informers.js';
import { nodeUpdateActions } from './informers.js';
import { PodInfo, termMatches } from './nodeinfo.js';
import { podResources } from './resources.js';
import type { Node, Pod } from './types.js';
import type { SchedulerCache } from './cache.js';
import type { SchedulingQueue } from './queue.js';
import type { ClusterInformers } from './informers.js';

/** What the handlers need of the scheduler. */
export interface PodEventTarget {
  readonly cache: SchedulerCache;
  readonly queue: SchedulingQueue;
  readonly informers: ClusterInformers;
  responsibleFor(pod: Pod): boolean;
  withPriority(pod: Pod): Pod;
}

export class PodEvents implements PodHandlers {
  constructor(private s: PodEventTarget) {}

  add(pod: Pod): void {
    if (pod.spec.nodeName) {
      this.s.cache.addPod(pod);
      this.assignedPodAdded(pod);
    } else if (this.s.responsibleFor(pod) && !pod.metadata.deletionTimestamp)
      this.s.queue.add(this.s.withPriority(pod));
  }

  update(old: Pod, pod: Pod): void {
    if (pod.spec.nodeName) {
      if (!old.spec.nodeName) {
        this.s.queue.delete(pod);
        this.s.cache.addPod(pod);
        this.assignedPodAdded(pod);
        return;
      }
      this.s.cache.updatePod(pod);
      if (JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(pod.metadata.labels ?? {}))
        this.s.queue.moveAllOnEvent('AssignedPod', 'UpdatePodLabel');
      const a = podResources(old).requests,
        b = podResources(pod).requests;
      if (b.milliCPU < a.milliCPU || b.memory < a.memory)
        this.s.queue.moveAllOnEvent('AssignedPod', 'UpdatePodScaleDown');
      return;
    }
    if (!this.s.responsibleFor(pod)) return;
    if (pod.metadata.deletionTimestamp) this.s.queue.delete(pod);
    else this.s.queue.update(old, this.s.withPriority(pod));
  }

  delete(pod: Pod): void {
    if (pod.spec.nodeName) {
      this.s.cache.removePod(pod);
      this.s.queue.moveAllOnEvent('AssignedPod', 'Delete');
    } else this.s.queue.delete(pod);
  }

  private assignedPodAdded(pod: Pod): void {
    const nsLabels = this.s.informers.namespaceLabels(pod.metadata.namespace ?? '');
    this.s.queue.moveAllOnEvent('AssignedPod', 'Add', (p) => {
      const pi = new PodInfo(p);
      return pi.requiredAffinityTerms.some((t) => termMatches(t, pod, nsLabels));
    });
  }

  nodeHandlers(): NodeHandlers {
    return {
      add: (n: Node) => {
        this.s.cache.addNode(n);
        this.s.queue.moveAllOnEvent('Node', 'Add');
      },
      update: (old: Node, n: Node) => {
        this.s.cache.addNode(n);
        for (const a of nodeUpdateActions(old, n)) this.s.queue.moveAllOnEvent('Node', a);
      },
      delete: (n: Node) => this.s.cache.removeNode(n.metadata.name ?? ''),
    };
  }
}
