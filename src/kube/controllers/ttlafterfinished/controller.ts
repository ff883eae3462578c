// TTL-after-finished controller (upstream's ttlafterfinished): a finished Job with
// spec.ttlSecondsAfterFinished is deleted (foreground, so its pods go first) that many seconds
// after its Complete/Failed condition; the Job is re-read before deleting in case the TTL changed.
import { resourcePath } from '../../client/index.js';
import { isNotFound } from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import { finishedCondition, type Job } from '../job/types.js';

/** ms until the Job expires (≤ 0: expired), or undefined when it never does. */
export function timeLeft(j: Job, now: number): number | undefined {
  const ttl = j.spec?.ttlSecondsAfterFinished;
  if (typeof ttl !== 'number' || ttl < 0 || j.metadata.deletionTimestamp) return undefined;
  const c = finishedCondition(j);
  if (!c) return undefined;
  const at = Date.parse(c.lastTransitionTime ?? '');
  if (!Number.isFinite(at)) return undefined;
  return at + ttl * 1000 - now;
}

export function startTTLAfterFinishedController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'ttl-after-finished' });
  const jobInf = ctx.informers.for<Job>(R.jobs);
  const loop = new Loop({ ...ctx, log }, { name: 'ttl-after-finished', sync });
  const consider = (j: Job) => {
    if (timeLeft(j, ctx.now()) !== undefined) loop.add(keyOf(j));
  };
  jobInf.addHandlers({ add: consider, update: (_o, j) => consider(j) });

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const cached = jobInf.get(ns, name);
    if (!cached) return;
    const left = timeLeft(cached, ctx.now());
    if (left === undefined) return;
    if (left > 0) {
      loop.queue.addAfter(key, left + 10);
      return;
    }
    let fresh: Job;
    try {
      fresh = await ctx.client.request<Job>('GET', resourcePath(R.jobs, ns, name));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    const freshLeft = timeLeft(fresh, ctx.now());
    if (freshLeft === undefined) return;
    if (freshLeft > 0) {
      loop.queue.addAfter(key, freshLeft + 10);
      return;
    }
    try {
      await ctx.client.request('DELETE', resourcePath(R.jobs, ns, name), {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy: 'Foreground',
          preconditions: { uid: fresh.metadata.uid },
        },
      });
    } catch (e) {
      if (!isNotFound(e) && (e as { code?: string }).code !== 'Conflict') throw e;
    }
  }

  return { name: 'ttl-after-finished', run: () => loop.run(), stop: () => loop.stop() };
}
