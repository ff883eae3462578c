// TTL controller (upstream's `ttl`): every Node carries `node.alpha.kubernetes.io/ttl`, the
// seconds a kubelet may cache the Secrets and ConfigMaps its pods use, from the cluster's size:
// 0 up to 100 nodes, then 15, 30, 60, 300 and 600 s, with upstream's overlapping boundaries so a
// cluster at a boundary does not flap.
import { resourcePath } from '../../client/index.js';
import { isNotFound } from '../shared/control.js';
import { Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { R } from '../shared/resources.js';
import type { Node } from '../shared/types.js';

export const TTL_ANNOTATION = 'node.alpha.kubernetes.io/ttl';

/** Upstream's ttlBoundaries: a step holds while the node count stays within [min, max]. */
const STEPS = [
  { min: 0, max: 100, ttl: 0 },
  { min: 90, max: 500, ttl: 15 },
  { min: 450, max: 1000, ttl: 30 },
  { min: 900, max: 2000, ttl: 60 },
  { min: 1800, max: 10000, ttl: 300 },
  { min: 9000, max: Number.POSITIVE_INFINITY, ttl: 600 },
];

/** The step after a change of the node count, from the current one (upstream's hysteresis). */
export function ttlStep(step: number, nodes: number): number {
  let s = step;
  while (nodes > STEPS[s].max && s < STEPS.length - 1) s++;
  while (nodes < STEPS[s].min && s > 0) s--;
  return s;
}

export function startTTLController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'ttl' });
  const nodeInf = ctx.informers.for<Node>(R.nodes);
  const loop = new Loop({ ...ctx, log }, { name: 'ttl', sync });
  let step = 0;
  let count = 0;

  const recount = (delta: number) => {
    count = Math.max(0, count + delta);
    const next = ttlStep(step, count);
    if (next === step) return;
    step = next;
    for (const n of nodeInf.list()) loop.add(n.metadata.name ?? '');
  };
  nodeInf.addHandlers({
    add: (n) => {
      recount(1);
      loop.add(n.metadata.name ?? '');
    },
    update: (_o, n) => loop.add(n.metadata.name ?? ''),
    delete: () => recount(-1),
  });

  async function sync(name: string): Promise<void> {
    const node = nodeInf.get(undefined, name);
    if (!node) return;
    const want = String(STEPS[step].ttl);
    if (node.metadata.annotations?.[TTL_ANNOTATION] === want) return;
    try {
      await ctx.client.request('PATCH', resourcePath(R.nodes, undefined, name), {
        body: { metadata: { annotations: { [TTL_ANNOTATION]: want } } },
        contentType: 'application/merge-patch+json',
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  return {
    name: 'ttl',
    run: () => loop.run(),
    stop: () => loop.stop(),
    resync: () => {
      for (const n of nodeInf.list()) loop.add(n.metadata.name ?? '');
    },
  };
}
