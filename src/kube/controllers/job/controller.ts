// Job controller (upstream's pkg/controller/job): runs pods to completion. Pod events enqueue
// their Job (batched: one sync per batch period); sync(key) claims the pods (adopting with the
// tracking finalizer), counts them, creates or deletes towards parallelism and remaining
// completions, and settles status through finalizer-based tracking. A second queue removes the
// tracking finalizer from pods whose Job is gone or finished (orphans).
import { fromLabelSelector, selectorMatches } from '../../api/index.js';
import { claimChildren, ownerRefFor, PodControl, recheckOwner } from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { Expectations } from '../shared/expectations.js';
import type { SharedInformer } from '../shared/informers.js';
import { controllerRef, splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Pod } from '../shared/types.js';
import { BackoffStore } from './policy.js';
import { deleteActive, manageJob, prepare, removeFinalizer, suspendConditions, type JobDeps } from './sync.js';
import { trackStatus, type FinalizerExpectations } from './tracking.js';
import { hasFinalizer, isFinished, JOB_CONTROLLER_NAME, type Job } from './types.js';

export interface JobControllerOptions {
  /** Pod events are batched per Job for this long (upstream's 1 s). */
  batchMs?: number;
  /** Back-off after pod failures: base and cap (upstream 10 s and 10 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export function startJobController(ctx: ControllerContext, opts: JobControllerOptions = {}): Controller {
  const log = ctx.log.child({ controller: 'job' });
  const jobInf: SharedInformer<Job> = ctx.informers.for<Job>(R.jobs);
  const podInf: SharedInformer<Pod> = ctx.informers.for<Pod>(R.pods);
  const events = ctx.events.for('job-controller');
  const exp = new Expectations(ctx.now);
  const rmExpected = new Map<string, Set<string>>();
  const finExp: FinalizerExpectations = {
    expect: (k, uids) => {
      const s = rmExpected.get(k) ?? new Set();
      for (const u of uids) s.add(u);
      rmExpected.set(k, s);
    },
    observed: (k, uid) => {
      const s = rmExpected.get(k);
      s?.delete(uid);
      if (s?.size === 0) rmExpected.delete(k);
    },
  };
  const backoff = new BackoffStore(opts.backoffBaseMs ?? 10_000, opts.backoffMaxMs ?? 600_000);
  const batch = opts.batchMs ?? 1000;
  const loop = new Loop({ ...ctx, log }, { name: 'job', workers: 4, sync });
  const orphans = new Loop({ ...ctx, log }, { name: 'job-orphans', workers: 1, sync: syncOrphan });
  const enqueue = (j: Job, delayed: boolean) =>
    delayed && batch > 0 ? loop.queue.addAfter(keyOf(j), batch) : loop.add(keyOf(j));

  const jobOf = (p: Pod): Job | undefined => {
    const ref = controllerRef(p);
    if (!ref || ref.kind !== 'Job' || !ref.apiVersion?.startsWith('batch/')) return undefined;
    const j = jobInf.get(p.metadata.namespace, ref.name);
    return j && j.metadata.uid === ref.uid ? j : undefined;
  };
  const matchingJobs = (p: Pod) =>
    jobInf.list(p.metadata.namespace ?? '').filter((j) => {
      try {
        const sel = fromLabelSelector(j.spec?.selector);
        return !sel.nothing && sel.requirements.length > 0 && selectorMatches(sel, p.metadata.labels);
      } catch {
        return false;
      }
    });
  const checkOrphan = (p: Pod) => {
    if (!hasFinalizer(p)) return;
    const j = jobOf(p);
    if (!j || isFinished(j)) orphans.add(keyOf(p));
  };
  const podGone = (p: Pod) => {
    const j = jobOf(p);
    if (!j) return;
    exp.deletionObserved(keyOf(j));
    finExp.observed(keyOf(j), p.metadata.uid ?? '');
    enqueue(j, true);
  };

  jobInf.addHandlers({
    add: (j) => loop.add(keyOf(j)),
    update: (_o, j) => loop.add(keyOf(j)),
    delete: (j) => {
      loop.add(keyOf(j));
      // Its pods lose the tracking finalizer so the garbage collector can remove them.
      for (const p of podInf.list(j.metadata.namespace ?? ''))
        if (controllerRef(p)?.uid === j.metadata.uid && hasFinalizer(p)) orphans.add(keyOf(p));
    },
  });
  podInf.addHandlers({
    add: (p) => {
      if (p.metadata.deletionTimestamp) podGone(p);
      const j = jobOf(p);
      if (j) {
        exp.creationObserved(keyOf(j));
        enqueue(j, true);
      } else if (!controllerRef(p)) for (const m of matchingJobs(p)) enqueue(m, true);
      checkOrphan(p);
    },
    update: (old, p) => {
      if (old.metadata.resourceVersion === p.metadata.resourceVersion) return;
      const j = jobOf(p);
      if (p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) podGone(p);
      if (j && hasFinalizer(old) && !hasFinalizer(p)) finExp.observed(keyOf(j), p.metadata.uid ?? '');
      const oj = jobOf(old);
      if (oj && oj !== j) enqueue(oj, true);
      if (j) enqueue(j, true);
      else if (!controllerRef(p)) for (const m of matchingJobs(p)) enqueue(m, true);
      checkOrphan(p);
    },
    delete: podGone,
  });

  const deps: Omit<JobDeps, 'requeueAfter'> = {
    client: ctx.client,
    events,
    pods: new PodControl(ctx.client, events),
    exp,
    backoff,
    now: ctx.now,
  };

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const cached = jobInf.get(ns, name);
    if (!cached) {
      exp.delete(key);
      rmExpected.delete(key);
      backoff.remove(key);
      return;
    }
    if (cached.spec?.managedBy && cached.spec.managedBy !== JOB_CONTROLLER_NAME) return;
    if (isFinished(cached)) {
      backoff.remove(key);
      return;
    }
    const job = structuredClone(cached);
    const mode = job.spec?.completionMode ?? 'NonIndexed';
    if (mode !== 'NonIndexed' && mode !== 'Indexed') {
      events.event(job, 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    const satisfied = exp.satisfied(key);
    const claimed = await claimChildren(
      {
        client: ctx.client,
        ref: R.pods,
        owner: job,
        ownerRef: ownerRefFor(job, 'batch/v1', 'Job'),
        selector: job.spec?.selector,
        canAdopt: recheckOwner(ctx.client, R.jobs, job),
      },
      podInf.list(ns),
    );
    // Adopted pods get the tracking finalizer on their next write; count them as tracked now.
    const pods = claimed.map((p) =>
      hasFinalizer(p) || controllerRef(p)?.uid === job.metadata.uid
        ? p
        : {
            ...p,
            metadata: {
              ...p.metadata,
              finalizers: [...(p.metadata.finalizers ?? []), 'batch.kubernetes.io/job-tracking'],
            },
          },
    );
    const d: JobDeps = { ...deps, requeueAfter: (ms) => loop.queue.addAfter(key, ms) };
    const jc = prepare(d, key, job, pods, new Set(rmExpected.get(key) ?? []));
    let active = jc.active.length;
    let manageError: unknown;
    let suspendChanged = false;
    if (jc.finished) {
      const [ready, deleted, err] = await deleteActive(d, jc);
      if (deleted !== active || !satisfied) jc.finished = undefined;
      active -= deleted;
      jc.terminating += deleted;
      jc.ready -= ready;
      manageError = err;
    } else {
      let managed = false;
      if (satisfied && !job.metadata.deletionTimestamp) {
        try {
          active = await manageJob(d, jc);
        } catch (e) {
          manageError = e;
        }
        managed = true;
      }
      const completions = job.spec?.completions;
      const complete =
        completions === undefined || completions === null
          ? jc.succeeded > 0 && active === 0
          : jc.succeeded >= completions && active === 0;
      if (complete) {
        const t = new Date(ctx.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
        jc.finished = {
          type: 'SuccessCriteriaMet',
          status: 'True',
          // upstream's words (1.32, with JobPodReplacementPolicy on), carried into Complete
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: t,
          lastTransitionTime: t,
        };
      } else if (managed) suspendChanged = suspendConditions(d, jc);
    }
    const st = job.status!;
    const needs =
      suspendChanged || active !== (st.active ?? 0) || jc.ready !== st.ready || jc.terminating !== st.terminating;
    st.active = active;
    st.ready = jc.ready;
    st.terminating = jc.terminating;
    await trackStatus(d, jc, finExp, needs);
    if (manageError) throw manageError;
  }

  /** A pod whose Job is gone or finished keeps no tracking finalizer. */
  async function syncOrphan(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const p = podInf.get(ns, name);
    if (!p || !hasFinalizer(p)) return;
    const ref = controllerRef(p);
    if (ref) {
      if (ref.kind !== 'Job' || !ref.apiVersion?.startsWith('batch/')) return;
      const j = jobInf.get(ns, ref.name);
      if (j && j.metadata.uid === ref.uid && !isFinished(j)) return;
      if (j?.spec?.managedBy && j.spec.managedBy !== JOB_CONTROLLER_NAME) return;
    }
    try {
      await removeFinalizer(ctx.client, p);
    } catch (e) {
      if ((e as { code?: string }).code !== 'NotFound') throw e;
    }
  }

  return {
    name: 'job',
    run: () => {
      loop.run();
      orphans.run();
    },
    stop: () => {
      loop.stop();
      orphans.stop();
    },
  };
}
