// One Job sync (upstream's syncJob + manageJob): count pods, decide whether the Job has finished
// (backoff limit, active deadline, a FailJob rule, completions), create or delete pods towards the
// wanted active count (parallelism, remaining completions, suspend, failure back-off, indexes).
// Status and finalizers are then settled by tracking.ts.
import { resourcePath, type KubeClient } from '../../client/index.js';
import { errorText, isNotFound, PodControl, podFromTemplate, ownerRefFor } from '../shared/control.js';
import type { EventSink } from '../shared/events.js';
import type { Expectations } from '../shared/expectations.js';
import { deletionOrder, getCondition, isPodActive, isPodReady, isTerminal } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Condition, Pod } from '../shared/types.js';
import {
  addIndexEnv,
  firstPendingIndexes,
  indexedGenerateName,
  indexedTemplate,
  parseIntervals,
  podIndex,
} from './indexes.js';
import {
  isPodFailed,
  matchPodFailurePolicy,
  onlyReplaceFailed,
  type BackoffRecord,
  type BackoffStore,
} from './policy.js';
import { ensureCondition, hasFinalizer, jobCondition, TRACKING_FINALIZER, type Job } from './types.js';
import { internal, isSkiffError } from '../../../common/index.js';

export const MAX_CREATE_DELETE = 500;

export interface JobDeps {
  client: KubeClient;
  events: EventSink;
  pods: PodControl;
  exp: Expectations;
  backoff: BackoffStore;
  now(): number;
  requeueAfter(ms: number): void;
}

/** What one sync knows about a Job (upstream's syncJobCtx). */
export interface JobCtx {
  key: string;
  job: Job;
  pods: Pod[];
  active: Pod[];
  ready: number;
  terminating: number;
  succeeded: number;
  failed: number;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  expectedRm: Set<string>;
  prevSucceededIndexes?: Set<number>;
  succeededIndexes?: Set<number>;
  finished?: Condition;
  backoffRecord: BackoffRecord;
}

export const isIndexed = (j: Job) => j.spec?.completionMode === 'Indexed';
const intOr = (v: unknown, d: number) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : d);
export const completionsOf = (j: Job) =>
  j.spec?.completions === undefined || j.spec?.completions === null ? undefined : intOr(j.spec.completions, 0);
export const suspended = (j: Job) => j.spec?.suspend === true;

/** Builds the sync context and decides `finished` (failure first, then success later in manage). */
export function prepare(deps: JobDeps, key: string, job: Job, pods: Pod[], expectedRm: Set<string>): JobCtx {
  const st = (job.status ??= {});
  st.uncountedTerminatedPods ??= {};
  const uncountedSucceeded = new Set(st.uncountedTerminatedPods.succeeded ?? []);
  const uncountedFailed = new Set(st.uncountedTerminatedPods.failed ?? []);
  const active = pods.filter(isPodActive);
  const completions = completionsOf(job) ?? 0;
  const valid = (p: Pod, uncounted: Set<string>) => {
    const uid = p.metadata.uid ?? '';
    if (!hasFinalizer(p) || uncounted.has(uid) || expectedRm.has(uid)) return false;
    if (isIndexed(job)) {
      const ix = podIndex(p);
      if (ix < 0 || ix >= completions) return false;
    }
    return true;
  };
  const newSucceeded = pods.filter((p) => valid(p, uncountedSucceeded) && p.status?.phase === 'Succeeded');
  const newFailed = pods.filter((p) => valid(p, uncountedFailed) && isPodFailed(p, job.spec ?? {}));
  const counted = newFailed.filter((p) => matchPodFailurePolicy(job.spec ?? {}, p).count).length;
  const now = deps.now();
  const ctx: JobCtx = {
    key,
    job,
    pods,
    active,
    ready: active.filter(isPodReady).length,
    terminating: pods.filter((p) => !isTerminal(p) && p.metadata.deletionTimestamp).length,
    succeeded: (st.succeeded ?? 0) + newSucceeded.length + uncountedSucceeded.size,
    failed: (st.failed ?? 0) + counted + uncountedFailed.size,
    uncountedSucceeded,
    uncountedFailed,
    expectedRm,
    backoffRecord: deps.backoff.next(key, newSucceeded, newFailed, now),
  };
  if (!st.startTime && !suspended(job)) st.startTime = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');

  const spec = job.spec ?? {};
  const backoffLimit = intOr(spec.backoffLimit, 6);
  const scm = getCondition(st.conditions, 'SuccessCriteriaMet');
  if (scm?.status === 'True') ctx.finished = scm;
  if (!ctx.finished) {
    const ft = getCondition(st.conditions, 'FailureTarget');
    if (ft?.status === 'True') ctx.finished = jobCondition('Failed', 'True', ft.reason ?? '', ft.message ?? '', now);
    else {
      for (const p of pods) {
        if (!isPodFailed(p, spec)) continue;
        const m = matchPodFailurePolicy(spec, p);
        if (m.failJob) {
          ctx.finished = jobCondition('FailureTarget', 'True', 'PodFailurePolicy', m.failJob, now);
          break;
        }
      }
    }
  }
  if (!ctx.finished) {
    if (ctx.failed > backoffLimit || pastBackoffLimitOnFailure(job, pods, backoffLimit))
      ctx.finished = jobCondition(
        'FailureTarget',
        'True',
        'BackoffLimitExceeded',
        'Job has reached the specified backoff limit',
        now,
      );
    else if (pastActiveDeadline(job, now))
      ctx.finished = jobCondition(
        'FailureTarget',
        'True',
        'DeadlineExceeded',
        'Job was active longer than specified deadline',
        now,
      );
    else if (typeof spec.activeDeadlineSeconds === 'number' && !suspended(job) && st.startTime) {
      const left = Date.parse(st.startTime) + spec.activeDeadlineSeconds * 1000 - now;
      deps.requeueAfter(Math.max(left, 0) + 10);
    }
  }
  if (isIndexed(job)) {
    const prev = parseIntervals(st.completedIndexes, completions);
    const all = new Set(prev);
    for (const p of pods) {
      const ix = podIndex(p);
      if (p.status?.phase === 'Succeeded' && ix >= 0 && ix < completions) all.add(ix);
    }
    ctx.prevSucceededIndexes = prev;
    ctx.succeededIndexes = all;
    ctx.succeeded = all.size;
  }
  return ctx;
}

/** restartPolicy OnFailure: container restarts of running pods count against backoffLimit. */
function pastBackoffLimitOnFailure(job: Job, pods: Pod[], limit: number): boolean {
  if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
  let n = 0;
  for (const p of pods)
    if (p.status?.phase === 'Running' || p.status?.phase === 'Pending')
      for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])])
        n += Number(cs?.restartCount) || 0;
  return limit === 0 ? n > 0 : n >= limit;
}

function pastActiveDeadline(job: Job, now: number): boolean {
  const ads = job.spec?.activeDeadlineSeconds;
  const start = Date.parse(job.status?.startTime ?? '');
  if (typeof ads !== 'number' || !Number.isFinite(start) || suspended(job)) return false;
  return now - start >= ads * 1000;
}

/** Pods to delete first: for Indexed Jobs those with a bad or repeated index, then the least useful. */
function podsForRemoval(job: Job, active: Pod[], atLeast: number): Pod[] {
  let rm: Pod[] = [];
  let left = active;
  if (isIndexed(job)) {
    const completions = completionsOf(job) ?? 0;
    left = [];
    const seen = new Map<number, Pod>();
    for (const p of [...active].sort(deletionOrder()).reverse()) {
      const ix = podIndex(p);
      if (ix < 0 || ix >= completions || seen.has(ix)) rm.push(p);
      else {
        seen.set(ix, p);
        left.push(p);
      }
    }
  }
  if (rm.length < atLeast) rm = [...rm, ...[...left].sort(deletionOrder()).slice(0, atLeast - rm.length)];
  return rm;
}

/** Removes the tracking finalizer (strategic merge, so nothing else is touched). */
export async function removeFinalizer(client: KubeClient, p: Pod): Promise<void> {
  await client.request('PATCH', resourcePath(R.pods, p.metadata.namespace, p.metadata.name), {
    body: { metadata: { '$deleteFromPrimitiveList/finalizers': [TRACKING_FINALIZER] } },
    contentType: 'application/strategic-merge-patch+json',
  });
}

/** Deletes pods (finalizer removed first, so they go); returns [deleted ready, deleted, first error]. */
async function deletePods(
  deps: JobDeps,
  ctx: JobCtx,
  pods: Pod[],
  dropFinalizer: boolean,
): Promise<[number, number, unknown]> {
  let deleted = 0,
    ready = 0;
  let error: unknown;
  await Promise.all(
    pods.map(async (p) => {
      try {
        if (dropFinalizer && hasFinalizer(p)) await removeFinalizer(deps.client, p);
        if (!(await deps.pods.delete(ctx.job, p)) && dropFinalizer) deps.exp.deletionObserved(ctx.key);
        deleted++;
        if (isPodReady(p)) ready++;
      } catch (e) {
        if (dropFinalizer) deps.exp.deletionObserved(ctx.key);
        if (isNotFound(e)) {
          deleted++;
          return;
        }
        error ??= e;
      }
    }),
  );
  return [ready, deleted, error];
}

/** Deletes every active pod of a finishing Job (finalizers kept: tracking counts them as failed). */
export async function deleteActive(deps: JobDeps, ctx: JobCtx): Promise<[number, number, unknown]> {
  return deletePods(deps, ctx, ctx.active, false);
}

/** Upstream's manageJob: returns the active count after this sync's creates and deletes. */
export async function manageJob(deps: JobDeps, ctx: JobCtx): Promise<number> {
  const job = ctx.job;
  const spec = job.spec ?? {};
  let active = ctx.active.length;
  const parallelism = intOr(spec.parallelism, 1);
  if (suspended(job)) {
    const victims = podsForRemoval(job, ctx.active, active);
    deps.exp.expectDeletions(ctx.key, victims.length);
    const [ready, deleted, err] = await deletePods(deps, ctx, victims, true);
    ctx.ready -= ready;
    ctx.terminating += deleted;
    if (err) throw err;
    return active - deleted;
  }
  const completions = completionsOf(job);
  let want: number;
  if (completions === undefined) want = ctx.succeeded > 0 ? active : parallelism;
  else want = Math.max(0, Math.min(completions - ctx.succeeded, parallelism));
  const rmAtLeast = Math.max(0, active - want);
  const victims = podsForRemoval(job, ctx.active, rmAtLeast).slice(0, MAX_CREATE_DELETE);
  if (victims.length) {
    deps.exp.expectDeletions(ctx.key, victims.length);
    const [ready, deleted, err] = await deletePods(deps, ctx, victims, true);
    ctx.ready -= ready;
    ctx.terminating += deleted;
    if (err) throw err;
    return active - deleted;
  }
  const terminating = onlyReplaceFailed(spec) ? ctx.terminating : 0;
  let diff = want - terminating - active;
  if (diff <= 0) return active;
  const wait = deps.backoff.remaining(ctx.backoffRecord, deps.now());
  if (wait > 0) {
    deps.requeueAfter(wait);
    return active;
  }
  diff = Math.min(diff, MAX_CREATE_DELETE);
  let indexes: number[] = [];
  if (isIndexed(job)) {
    indexes = firstPendingIndexes(ctx.succeededIndexes ?? new Set(), ctx.active, diff, completions ?? 0);
    diff = indexes.length;
    if (!diff) return active;
  }
  const template = structuredClone(spec.template ?? {});
  if (isIndexed(job)) addIndexEnv(template);
  template.metadata = { ...(template.metadata ?? {}) };
  template.metadata.finalizers = [...new Set([...(template.metadata.finalizers ?? []), TRACKING_FINALIZER])];
  const ref = ownerRefFor(job, 'batch/v1', 'Job');
  deps.exp.expectCreations(ctx.key, diff);
  let created = 0;
  let error: unknown;
  for (let batch = 1, i = 0; i < diff; batch *= 2) {
    const n = Math.min(batch, diff - i);
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, k) => {
        const ix = indexes[i + k];
        const t = ix === undefined ? template : indexedTemplate(template, job.metadata.name ?? '', ix);
        const pod = podFromTemplate(t, job.metadata.namespace ?? '', ref);
        if (ix !== undefined) pod.metadata.generateName = indexedGenerateName(job.metadata.name ?? '', ix);
        return deps.pods.create(job, pod);
      }),
    );
    i += n;
    for (const r of results) {
      if (r.status === 'fulfilled') created++;
      else error ??= r.reason;
    }
    if (error) break;
  }
  const missed = diff - created;
  if (missed) deps.exp.lowerExpectations(ctx.key, missed, 0);
  if (error) {
    if (isSkiffError(error, 'FailedPrecondition')) return active + created; // namespace terminating
    // Internal, not the cause's code: an InvalidArgument would stop the queue's retries (shared/context.ts).
    throw internal(`creating pods: ${errorText(error)}`, { cause: error });
  }
  return active + created;
}

/** The Suspended condition and its events, and StartTime reset on resume (upstream). */
export function suspendConditions(deps: JobDeps, ctx: JobCtx): boolean {
  const job = ctx.job;
  const st = job.status!;
  const now = deps.now();
  if (suspended(job)) {
    const [conds, changed] = ensureCondition(st.conditions, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now);
    st.conditions = conds;
    if (changed) deps.events.event(job, 'Normal', 'Suspended', 'Job suspended');
    return changed;
  }
  const [conds, changed] = ensureCondition(st.conditions, 'Suspended', 'False', 'JobResumed', 'Job resumed', now);
  st.conditions = conds;
  if (changed) {
    deps.events.event(job, 'Normal', 'Resumed', 'Job resumed');
    st.startTime = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return changed;
}
