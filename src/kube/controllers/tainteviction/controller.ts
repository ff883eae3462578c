// Taint eviction controller (upstream's taint-eviction-controller, the former NoExecute taint
// manager): a pod on a node with a NoExecute taint it does not tolerate is deleted at once; one
// that tolerates every such taint for a limited time (tolerationSeconds) is deleted when the
// shortest of those times, counted from the taint's timeAdded, has passed. Before deleting, the
// pod gets the DisruptionTarget condition (reason DeletionByTaintManager), as upstream.
import { resourcePath } from '../../client/index.js';
import { isConflict, isNotFound } from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { rfc3339, splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import { tolerates } from '../shared/scheduling.js';
import type { Node, Pod } from '../shared/types.js';

/** ms until the pod must go (0: now), or undefined when it may stay. */
export function evictionDelay(pod: Pod, node: Node, now: number): number | undefined {
  const taints = (node.spec?.taints ?? []).filter((t) => t && t.effect === 'NoExecute');
  if (!taints.length) return undefined;
  let minDeadline: number | undefined;
  for (const taint of taints) {
    const matching = (pod.spec?.tolerations ?? []).filter((t) => t && tolerates(t, taint));
    if (!matching.length) return 0;
    // The longest toleration of this taint applies; one without tolerationSeconds tolerates forever.
    if (matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null)) continue;
    const secs = Math.max(...matching.map((t) => Math.max(0, Number(t.tolerationSeconds) || 0)));
    const added = Date.parse(taint.timeAdded ?? '') || now;
    const deadline = added + secs * 1000;
    minDeadline = minDeadline === undefined ? deadline : Math.min(minDeadline, deadline);
  }
  return minDeadline === undefined ? undefined : Math.max(0, minDeadline - now);
}

export function startTaintEvictionController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'taint-eviction' });
  const nodeInf = ctx.informers.for<Node>(R.nodes);
  const podInf = ctx.informers.for<Pod>(R.pods);
  podInf.addIndexer('node', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  const events = ctx.events.for('taint-eviction-controller');
  const loop = new Loop({ ...ctx, log }, { name: 'taint-eviction', workers: 2, sync });

  const podsOn = (n: Node) => {
    for (const p of podInf.byIndex('node', n.metadata.name ?? '')) loop.add(keyOf(p));
  };
  nodeInf.addHandlers({
    add: podsOn,
    update: (o, n) => {
      if (JSON.stringify(o.spec?.taints ?? []) !== JSON.stringify(n.spec?.taints ?? [])) podsOn(n);
    },
  });
  podInf.addHandlers({
    add: (p) => {
      if (p.spec?.nodeName) loop.add(keyOf(p));
    },
    update: (o, p) => {
      if (
        p.spec?.nodeName &&
        (o.spec?.nodeName !== p.spec.nodeName ||
          JSON.stringify(o.spec?.tolerations) !== JSON.stringify(p.spec?.tolerations))
      )
        loop.add(keyOf(p));
    },
  });

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const pod = podInf.get(ns, name);
    if (!pod?.spec?.nodeName || pod.metadata.deletionTimestamp) return;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    const node = nodeInf.get(undefined, pod.spec.nodeName);
    if (!node) return;
    const delay = evictionDelay(pod, node, ctx.now());
    if (delay === undefined) return;
    if (delay > 0) {
      loop.queue.addAfter(key, delay + 20);
      return;
    }
    const path = resourcePath(R.pods, ns, name);
    try {
      await ctx.client.request('PATCH', `${path}/status`, {
        body: {
          status: {
            conditions: [
              ...(pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'),
              {
                type: 'DisruptionTarget',
                status: 'True',
                reason: 'DeletionByTaintManager',
                message: 'Taint manager: deleting due to NoExecute taint',
                lastTransitionTime: rfc3339(ctx.now()),
              },
            ],
          },
        },
        contentType: 'application/merge-patch+json',
      });
      events.event(
        { ...pod, apiVersion: 'v1', kind: 'Pod' },
        'Normal',
        'TaintManagerEviction',
        `Marking for deletion Pod ${ns}/${name}`,
      );
      await ctx.client.request('DELETE', path, {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: pod.metadata.uid } },
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  return {
    name: 'taint-eviction',
    run: () => loop.run(),
    stop: () => loop.stop(),
    resync: () => {
      for (const p of podInf.list()) if (p.spec?.nodeName) loop.add(keyOf(p));
    },
  };
}
