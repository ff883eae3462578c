// Finalizer-based pod tracking (upstream's trackJobStatusAndRemoveFinalizers): a finished pod is
// first recorded in status.uncountedTerminatedPods, then its batch.kubernetes.io/job-tracking
// finalizer is removed, then it moves into the succeeded/failed counters (or completedIndexes).
// A crash between the steps loses no count and counts nothing twice. The Job gets its final
// condition (after the interim FailureTarget / SuccessCriteriaMet) only once no pod is uncounted
// or terminating.
import { resourcePath } from '../../client/index.js';
import { errorText, isNotFound } from '../shared/control.js';
import { omitEmpty } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Pod } from '../shared/types.js';
import { formatIntervals, podIndex } from './indexes.js';
import { isPodFailed, matchPodFailurePolicy } from './policy.js';
import { completionsOf, isIndexed, removeFinalizer, type JobCtx, type JobDeps } from './sync.js';
import { ensureCondition, hasFinalizer, jobCondition, type Job, type JobStatus } from './types.js';
import { internal } from '../../../common/index.js';

/** At most this many pods are moved through uncountedTerminatedPods per sync. */
export const MAX_UNCOUNTED = 500;

export interface FinalizerExpectations {
  expect(key: string, uids: string[]): void;
  observed(key: string, uid: string): void;
}

/** Moves uncounted UIDs whose pods lost their finalizer into the counters. */
function cleanUncounted(st: JobStatus, withFinalizer: Set<string>): boolean {
  const u = (st.uncountedTerminatedPods ??= {});
  let changed = false;
  const keepS = (u.succeeded ?? []).filter((x) => withFinalizer.has(x));
  if (keepS.length !== (u.succeeded ?? []).length) {
    st.succeeded = (st.succeeded ?? 0) + (u.succeeded ?? []).length - keepS.length;
    u.succeeded = keepS;
    changed = true;
  }
  const keepF = (u.failed ?? []).filter((x) => withFinalizer.has(x));
  if (keepF.length !== (u.failed ?? []).length) {
    st.failed = (st.failed ?? 0) + (u.failed ?? []).length - keepF.length;
    u.failed = keepF;
    changed = true;
  }
  return changed;
}

async function writeStatus(deps: JobDeps, job: Job): Promise<Job> {
  const st = job.status ?? {};
  const u = st.uncountedTerminatedPods ?? {};
  const body: Job = {
    ...job,
    // active, succeeded, failed and conditions are `omitempty` upstream; ready and terminating
    // (pointers) stay.
    status: {
      ...omitEmpty(st, ['active', 'succeeded', 'failed', 'conditions']),
      uncountedTerminatedPods: {
        ...(u.succeeded?.length ? { succeeded: u.succeeded } : {}),
        ...(u.failed?.length ? { failed: u.failed } : {}),
      },
    },
  };
  const out = await deps.client.request<Job>(
    'PUT',
    resourcePath(R.jobs, job.metadata.namespace, job.metadata.name, 'status'),
    { body },
  );
  out.status ??= {};
  out.status.uncountedTerminatedPods ??= {};
  return out;
}

export async function trackStatus(
  deps: JobDeps,
  ctx: JobCtx,
  finExp: FinalizerExpectations,
  needsFlushIn: boolean,
): Promise<void> {
  let needsFlush = needsFlushIn;
  const job = ctx.job;
  const st = job.status!;
  const indexed = isIndexed(job);
  const completions = completionsOf(job) ?? 0;
  const pods = indexed ? [...ctx.pods].sort((a, b) => podIndex(a) - podIndex(b)) : ctx.pods;
  const withFinalizer = new Set<string>();
  for (const p of pods)
    if (hasFinalizer(p) && !ctx.expectedRm.has(p.metadata.uid ?? '')) withFinalizer.add(p.metadata.uid ?? '');
  if (cleanUncounted(st, withFinalizer)) needsFlush = true;
  const u = st.uncountedTerminatedPods!;
  u.succeeded ??= [];
  u.failed ??= [];
  const toRemove: Pod[] = [];
  const newIndexes: number[] = [];
  let reachedMax = false;
  for (const p of pods) {
    const uid = p.metadata.uid ?? '';
    if (!hasFinalizer(p) || ctx.expectedRm.has(uid)) continue;
    const failed = isPodFailed(p, job.spec ?? {});
    const canRemove =
      Boolean(job.metadata.deletionTimestamp) || Boolean(ctx.finished) || p.status?.phase === 'Succeeded' || failed;
    if (!canRemove) continue;
    toRemove.push(p);
    if (p.status?.phase === 'Succeeded' && !ctx.uncountedFailed.has(uid)) {
      if (indexed) {
        const ix = podIndex(p);
        if (ix >= 0 && ix < completions && !ctx.prevSucceededIndexes?.has(ix)) {
          newIndexes.push(ix);
          needsFlush = true;
        }
      } else if (!ctx.uncountedSucceeded.has(uid)) {
        u.succeeded.push(uid);
        needsFlush = true;
      }
    } else if (failed || (ctx.finished && ctx.finished.type !== 'SuccessCriteriaMet')) {
      const ix = podIndex(p);
      if (!ctx.uncountedFailed.has(uid) && (!indexed || (ix >= 0 && ix < completions))) {
        if (matchPodFailurePolicy(job.spec ?? {}, p).count) {
          u.failed.push(uid);
          needsFlush = true;
        }
      }
    }
    if (newIndexes.length + u.succeeded.length + u.failed.length >= MAX_UNCOUNTED) {
      reachedMax = true;
      break;
    }
  }
  if (indexed) {
    const all = new Set([...(ctx.prevSucceededIndexes ?? []), ...newIndexes]);
    const s = formatIntervals(all);
    if (s !== (st.completedIndexes ?? '')) needsFlush = true;
    st.succeeded = all.size;
    st.completedIndexes = s;
  }
  const now = deps.now();
  if (ctx.finished?.type === 'FailureTarget') {
    st.conditions = [...(st.conditions ?? []), ctx.finished];
    needsFlush = true;
    ctx.finished = jobCondition('Failed', 'True', ctx.finished.reason ?? '', ctx.finished.message ?? '', now);
  }
  if (ctx.finished?.type === 'SuccessCriteriaMet') {
    if (!(st.conditions ?? []).some((c) => c.type === 'SuccessCriteriaMet' && c.status === 'True')) {
      st.conditions = [...(st.conditions ?? []), ctx.finished];
      needsFlush = true;
    }
    ctx.finished = jobCondition('Complete', 'True', ctx.finished.reason ?? '', ctx.finished.message ?? '', now);
  }

  // 1. Record the finished pods as uncounted.
  if (needsFlush) {
    ctx.job = await writeStatus(deps, ctx.job);
    deps.backoff.store(ctx.key, ctx.backoffRecord);
    needsFlush = false;
  }
  const cur = ctx.job;
  const cst = cur.status!;
  // 2. Remove their finalizers.
  let rmError: unknown;
  if (toRemove.length) {
    finExp.expect(
      ctx.key,
      toRemove.map((p) => p.metadata.uid ?? ''),
    );
    await Promise.all(
      toRemove.map(async (p) => {
        try {
          await removeFinalizer(deps.client, p);
          withFinalizer.delete(p.metadata.uid ?? '');
        } catch (e) {
          finExp.observed(ctx.key, p.metadata.uid ?? '');
          if (isNotFound(e)) withFinalizer.delete(p.metadata.uid ?? '');
          else rmError ??= e;
        }
      }),
    );
  }
  // 3. Count them.
  if (cleanUncounted(cst, withFinalizer)) needsFlush = true;
  if (rmError) {
    if (needsFlush) ctx.job = await writeStatus(deps, cur);
    // Internal, not the cause's code: the queue retries it (an InvalidArgument would stop retries).
    throw internal(`removing tracking finalizers: ${errorText(rmError)}`, { cause: rmError });
  }
  // 4. Finished once nothing is uncounted or terminating.
  let finished = false;
  if (!reachedMax && ctx.finished) {
    const uc = cst.uncountedTerminatedPods ?? {};
    if (!(uc.succeeded?.length || uc.failed?.length) && ctx.terminating === 0) {
      const f = ctx.finished;
      [cst.conditions] = ensureCondition(cst.conditions, f.type, f.status, f.reason ?? '', f.message ?? '', now);
      if (f.type === 'Complete') cst.completionTime = f.lastTransitionTime;
      finished = true;
      needsFlush = true;
    }
  }
  if (needsFlush) {
    ctx.job = await writeStatus(deps, cur);
    if (finished) {
      const f = ctx.finished!;
      if (f.type === 'Complete') {
        const c = completionsOf(cur);
        if (c !== undefined && (ctx.job.status?.succeeded ?? 0) > c)
          deps.events.event(
            cur,
            'Warning',
            'TooManySucceededPods',
            'Too many succeeded pods running after completion count reached',
          );
        deps.events.event(cur, 'Normal', 'Completed', 'Job completed');
      } else deps.events.event(cur, 'Warning', f.reason ?? 'Failed', f.message ?? '');
    }
  }
}
