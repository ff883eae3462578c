// Pod garbage collector (upstream's podgc), every gc period: finished pods (Succeeded/Failed)
// beyond the threshold are deleted oldest first; pods bound to a node that no longer exists
// (checked live after a quarantine, so a node just registering is not mistaken for a missing one)
// are deleted with the DisruptionTarget condition (DeletionByPodGC); unscheduled pods that are
// terminating are deleted at once. Deletes are forced (grace period 0): no kubelet will finish them.
import { resourcePath } from '../../client/index.js';
import { isConflict, isNotFound } from '../shared/control.js';
import type { Controller, ControllerContext } from '../shared/context.js';
import { isTerminal, rfc3339 } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Node, Pod } from '../shared/types.js';

export interface PodGCOptions {
  /** Finished pods kept before the oldest go (upstream --terminated-pod-gc-threshold, 12500). */
  terminatedThreshold?: number;
  /** How often to collect (upstream 20 s). */
  periodMs?: number;
  /** How long a node must be missing before its pods are orphans (upstream 40 s). */
  quarantineMs?: number;
}

export function startPodGC(ctx: ControllerContext, opts: PodGCOptions = {}): Controller {
  const log = ctx.log.child({ controller: 'pod-garbage-collector' });
  const threshold = opts.terminatedThreshold ?? 12_500;
  const quarantine = opts.quarantineMs ?? 40_000;
  const podInf = ctx.informers.for<Pod>(R.pods);
  const nodeInf = ctx.informers.for<Node>(R.nodes);
  const missingSince = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  async function forceDelete(p: Pod, reason?: string): Promise<void> {
    const path = resourcePath(R.pods, p.metadata.namespace, p.metadata.name);
    try {
      if (reason && !isTerminal(p))
        await ctx.client.request('PATCH', `${path}/status`, {
          body: {
            status: {
              phase: 'Failed',
              conditions: [
                ...(p.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'),
                {
                  type: 'DisruptionTarget',
                  status: 'True',
                  reason: 'DeletionByPodGC',
                  message: reason,
                  lastTransitionTime: rfc3339(ctx.now()),
                },
              ],
            },
          },
          contentType: 'application/merge-patch+json',
        });
      await ctx.client.request('DELETE', path, {
        query: { gracePeriodSeconds: 0 },
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid: p.metadata.uid },
        },
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  async function gc(): Promise<void> {
    if (!ctx.informers.hasSynced) return;
    const pods = podInf.list();
    // 1. Finished pods over the threshold, oldest first.
    const finished = pods.filter((p) => isTerminal(p) && !p.metadata.deletionTimestamp);
    if (threshold > 0 && finished.length > threshold) {
      finished.sort(
        (a, b) =>
          (Date.parse(a.metadata.creationTimestamp ?? '') || 0) - (Date.parse(b.metadata.creationTimestamp ?? '') || 0),
      );
      for (const p of finished.slice(0, finished.length - threshold)) await forceDelete(p);
    }
    // 2. Pods on nodes that are gone (after the quarantine and a live check).
    const now = ctx.now();
    const nodes = new Set(nodeInf.list().map((n) => n.metadata.name));
    const orphanNodes = new Set<string>();
    for (const p of pods) {
      const n = p.spec?.nodeName;
      if (!n || nodes.has(n)) continue;
      orphanNodes.add(n);
    }
    for (const n of [...missingSince.keys()]) if (!orphanNodes.has(n)) missingSince.delete(n);
    for (const n of orphanNodes) {
      const since = missingSince.get(n) ?? now;
      missingSince.set(n, since);
      if (now - since < quarantine) continue;
      try {
        await ctx.client.request('GET', resourcePath(R.nodes, undefined, n));
        missingSince.delete(n);
        continue; // it exists after all (the cache lagged)
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      for (const p of pods.filter((x) => x.spec?.nodeName === n)) {
        log.info('deleting orphaned pod', { pod: `${p.metadata.namespace}/${p.metadata.name}`, node: n });
        await forceDelete(p, 'PodGC: node no longer exists');
      }
      missingSince.delete(n);
    }
    // 3. Unscheduled pods being deleted: nothing else will finish them.
    for (const p of pods)
      if (!p.spec?.nodeName && p.metadata.deletionTimestamp && !(p.metadata.finalizers ?? []).length)
        await forceDelete(p);
  }

  return {
    name: 'pod-garbage-collector',
    run: () => {
      timer = setInterval(() => {
        if (running) return;
        running = true;
        gc()
          .catch((e) => log.info('pod gc failed', { error: e instanceof Error ? e.message : String(e) }))
          .finally(() => {
            running = false;
          });
      }, opts.periodMs ?? 20_000);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
    },
    resync: () => {
      if (running) return;
      running = true;
      void gc()
        .catch((e) => log.info('pod gc failed', { error: e instanceof Error ? e.message : String(e) }))
        .finally(() => {
          running = false;
        });
    },
  };
}
