// CronJob controller (upstream's cronjob_controllerv2): at each scheduled time (in spec.timeZone,
// UTC by default) creates a Job named <cronjob>-<minutes since the epoch> from the job template,
// honouring suspend, startingDeadlineSeconds, concurrencyPolicy (Allow, Forbid, Replace), and the
// successful/failed history limits. status.active lists the running Jobs; lastScheduleTime and
// lastSuccessfulTime record what happened. sync(key) requeues itself for the next schedule.
import { isKnownTimeZone, nextCronTime, parseCron, type CronSchedule } from '../../api/index.js';
import { resourcePath } from '../../client/index.js';
import { errorText, isAlreadyExists, isNotFound, ownerRefFor } from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { controllerRef, omitEmpty, rfc3339, splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { ObjectMeta, Workload } from '../shared/types.js';
import { finishedCondition, isFinished, type Job } from '../job/types.js';

const SCHEDULED_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

interface JobRef {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}
interface CronJobSpec {
  schedule?: string;
  timeZone?: string;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: string;
  suspend?: boolean;
  jobTemplate?: { metadata?: ObjectMeta; spec?: Job['spec'] };
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
}
interface CronJobStatus {
  active?: JobRef[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
}
type CronJob = Workload<CronJobSpec, CronJobStatus>;

/** The most recent unmet schedule time in (earliest, now], by walking the schedule (capped). */
function mostRecent(s: CronSchedule, earliest: number, now: number, tz?: string): number | undefined {
  const first = nextCronTime(s, new Date(earliest), tz)?.getTime();
  if (first === undefined || first > now) return undefined;
  let t: number = first;
  for (let i = 0; i < 1000; i++) {
    const n: number | undefined = nextCronTime(s, new Date(t), tz)?.getTime();
    if (n === undefined || n > now) return t;
    t = n;
  }
  return t; // more than 1000 missed: the last one found (upstream also stops counting)
}

export function startCronJobController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'cronjob' });
  const cjInf = ctx.informers.for<CronJob>(R.cronjobs);
  const jobInf = ctx.informers.for<Job>(R.jobs);
  const events = ctx.events.for('cronjob-controller');
  const loop = new Loop({ ...ctx, log }, { name: 'cronjob', sync });

  const ownerOf = (j: Job): CronJob | undefined => {
    const ref = controllerRef(j);
    if (!ref || ref.kind !== 'CronJob') return undefined;
    const cj = cjInf.get(j.metadata.namespace, ref.name);
    return cj && cj.metadata.uid === ref.uid ? cj : undefined;
  };
  const jobChanged = (j: Job) => {
    const cj = ownerOf(j);
    if (cj) loop.add(keyOf(cj));
  };
  cjInf.addHandlers({ add: (c) => loop.add(keyOf(c)), update: (_o, c) => loop.add(keyOf(c)) });
  jobInf.addHandlers({ add: jobChanged, update: (_o, j) => jobChanged(j), delete: jobChanged });

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const cached = cjInf.get(ns, name);
    if (!cached) return;
    let cj = structuredClone(cached);
    cj.status ??= {};
    const jobs = jobInf.list(ns).filter((j) => controllerRef(j)?.uid === cj.metadata.uid);
    // A running child missing from status.active is usually our own Job seen before our status
    // write reached the cache: read the CronJob itself first (as upstream does), so that neither an
    // UnexpectedJob warning nor a second create follows.
    if (jobs.some((j) => !isFinished(j) && !inActive(cj, j.metadata.uid))) {
      const fresh = await ctx.client.request<CronJob>('GET', resourcePath(R.cronjobs, ns, name)).catch((e) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      if (!fresh || fresh.metadata.uid !== cj.metadata.uid) return;
      cj = fresh;
      cj.status ??= {};
    }
    let update = false;
    let requeue: number | undefined;
    try {
      [update, requeue] = await reconcile(cj, jobs, ctx.now());
    } catch (e) {
      if (update) await writeStatus(cj);
      throw e;
    }
    const { changed, deletes } = cleanupFinished(cj, jobs);
    for (const d of deletes) await deleteJob(cj, d.name, d.uid);
    if (update || changed) await writeStatus(cj);
    if (requeue !== undefined) loop.queue.addAfter(key, Math.max(requeue, 0) + 100);
  }

  const inActive = (cj: CronJob, uid?: string) => (cj.status?.active ?? []).some((r) => r.uid === uid);
  const dropActive = (cj: CronJob, uid?: string) => {
    cj.status!.active = (cj.status?.active ?? []).filter((r) => r.uid !== uid);
  };

  async function reconcile(cj: CronJob, jobs: Job[], now: number): Promise<[boolean, number | undefined]> {
    let update = false;
    const st = cj.status!;
    const children = new Set(jobs.map((j) => j.metadata.uid));
    for (const j of jobs) {
      const found = inActive(cj, j.metadata.uid);
      if (!found && !isFinished(j)) {
        events.event(
          cj,
          'Warning',
          'UnexpectedJob',
          `Saw a job that the controller did not create or forgot: ${j.metadata.name}`,
        );
      } else if (found && isFinished(j)) {
        dropActive(cj, j.metadata.uid);
        const c = finishedCondition(j);
        events.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${c?.type}`);
        update = true;
      }
      const ct = j.status?.completionTime;
      if (isFinished(j) && ct && (!st.lastSuccessfulTime || Date.parse(ct) > Date.parse(st.lastSuccessfulTime))) {
        st.lastSuccessfulTime = ct;
        update = true;
      }
    }
    for (const ref of [...(st.active ?? [])]) {
      if (children.has(ref.uid)) continue;
      try {
        await ctx.client.request('GET', resourcePath(R.jobs, ref.namespace ?? cj.metadata.namespace, ref.name));
      } catch (e) {
        if (!isNotFound(e)) throw e;
        events.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
        dropActive(cj, ref.uid);
        update = true;
      }
    }
    if (cj.metadata.deletionTimestamp) return [update, undefined];
    const spec = cj.spec ?? {};
    if (spec.timeZone && !isKnownTimeZone(spec.timeZone)) {
      events.event(
        cj,
        'Warning',
        'UnknownTimeZone',
        `invalid timeZone: "${spec.timeZone}": unknown time zone ${spec.timeZone}`,
      );
      return [update, undefined];
    }
    if (spec.suspend) return [update, undefined];
    let sched: CronSchedule;
    try {
      sched = parseCron(spec.schedule ?? '');
    } catch (e) {
      events.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: "${spec.schedule}" : ${errorText(e)}`);
      return [update, undefined];
    }
    const tz = spec.timeZone;
    let earliest = Date.parse(st.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '') || now;
    if (typeof spec.startingDeadlineSeconds === 'number')
      earliest = Math.max(earliest, now - spec.startingDeadlineSeconds * 1000);
    const nextAfter = (from: number) => {
      const n = nextCronTime(sched, new Date(from), tz)?.getTime();
      return n === undefined ? undefined : n - now;
    };
    const scheduled = mostRecent(sched, earliest, now, tz);
    if (scheduled === undefined) return [update, nextAfter(Math.max(now, earliest))];
    const requeue = nextAfter(now);
    if (typeof spec.startingDeadlineSeconds === 'number' && scheduled + spec.startingDeadlineSeconds * 1000 < now) {
      events.event(
        cj,
        'Warning',
        'MissSchedule',
        `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString()}`,
      );
      return [update, requeue];
    }
    const jobName = `${cj.metadata.name}-${Math.floor(scheduled / 60000)}`;
    if (
      (st.active ?? []).some((r) => r.name === jobName) ||
      (st.lastScheduleTime && Date.parse(st.lastScheduleTime) === scheduled)
    )
      return [update, requeue];
    const policy = spec.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && (st.active ?? []).length > 0) {
      events.event(
        cj,
        'Normal',
        'JobAlreadyActive',
        'Not starting job because prior execution is running and concurrency policy is Forbid',
      );
      return [update, requeue];
    }
    if (policy === 'Replace') {
      for (const ref of [...(st.active ?? [])]) {
        await deleteJob(cj, ref.name ?? '', ref.uid);
        dropActive(cj, ref.uid);
        update = true;
      }
    }
    const job = jobFromTemplate(cj, jobName, scheduled, tz);
    let created: Job;
    try {
      created = await ctx.client.request<Job>('POST', resourcePath(R.jobs, cj.metadata.namespace), { body: job });
      events.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata.name}`);
    } catch (e) {
      if (!isAlreadyExists(e)) {
        events.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${errorText(e)}`);
        throw e;
      }
      // Created earlier but not recorded (a crash between the two writes): record it now.
      created = await ctx.client.request<Job>('GET', resourcePath(R.jobs, cj.metadata.namespace, jobName));
      if (controllerRef(created)?.uid !== cj.metadata.uid || inActive(cj, created.metadata.uid))
        return [update, requeue];
    }
    st.active = [
      ...(st.active ?? []),
      {
        kind: 'Job',
        namespace: created.metadata.namespace,
        name: created.metadata.name,
        uid: created.metadata.uid,
        apiVersion: 'batch/v1',
        resourceVersion: created.metadata.resourceVersion,
      },
    ];
    st.lastScheduleTime = rfc3339(scheduled);
    return [true, requeue];
  }

  function jobFromTemplate(cj: CronJob, name: string, scheduled: number, tz?: string): Job {
    const t = structuredClone(cj.spec?.jobTemplate ?? {});
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace,
        labels: t.metadata?.labels,
        annotations: { ...(t.metadata?.annotations ?? {}), [SCHEDULED_ANNOTATION]: scheduledStamp(scheduled, tz) },
        ownerReferences: [ownerRefFor(cj, 'batch/v1', 'CronJob')],
      },
      spec: t.spec,
    };
  }

  async function deleteJob(cj: CronJob, name: string, uid?: string): Promise<void> {
    try {
      await ctx.client.request('DELETE', resourcePath(R.jobs, cj.metadata.namespace, name), {
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          propagationPolicy: 'Background',
          ...(uid ? { preconditions: { uid } } : {}),
        },
      });
      events.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${name}`);
    } catch (e) {
      if (isNotFound(e)) return;
      events.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${errorText(e)}`);
      throw e;
    }
  }

  /** Finished Jobs beyond the history limits (oldest first), dropped from status.active. */
  function cleanupFinished(cj: CronJob, jobs: Job[]): { changed: boolean; deletes: { name: string; uid?: string }[] } {
    const deletes: { name: string; uid?: string }[] = [];
    const spec = cj.spec ?? {};
    let changed = false;
    const start = (j: Job) => Date.parse(j.status?.startTime ?? '') || Number.MAX_SAFE_INTEGER;
    const prune = (list: Job[], limit: number | undefined) => {
      if (typeof limit !== 'number') return;
      const sorted = [...list].sort(
        (a, b) => start(a) - start(b) || ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1),
      );
      for (const j of sorted.slice(0, Math.max(0, sorted.length - limit))) {
        deletes.push({ name: j.metadata.name ?? '', uid: j.metadata.uid });
        if (inActive(cj, j.metadata.uid)) {
          dropActive(cj, j.metadata.uid);
          changed = true;
        }
      }
    };
    const finished = jobs.filter((j) => isFinished(j) && !j.metadata.deletionTimestamp);
    prune(
      finished.filter((j) => finishedCondition(j)?.type === 'Complete'),
      spec.successfulJobsHistoryLimit,
    );
    prune(
      finished.filter((j) => finishedCondition(j)?.type === 'Failed'),
      spec.failedJobsHistoryLimit,
    );
    return { changed, deletes };
  }

  async function writeStatus(cj: CronJob): Promise<void> {
    const cur = cjInf.get(cj.metadata.namespace, cj.metadata.name ?? '');
    // An empty `active` is left out, as upstream's (`omitempty`).
    const status = omitEmpty(cj.status ?? {}, ['active']);
    if (cur && JSON.stringify(cur.status ?? {}) === JSON.stringify(status)) return;
    try {
      await ctx.client.request('PUT', resourcePath(R.cronjobs, cj.metadata.namespace, cj.metadata.name, 'status'), {
        body: { ...cj, status },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  return {
    name: 'cronjob',
    run: () => loop.run(),
    stop: () => loop.stop(),
    resync: () => {
      for (const c of cjInf.list()) loop.add(keyOf(c));
    },
  };
}

/** RFC 3339 in the CronJob's time zone (upstream's scheduled-timestamp annotation). */
function scheduledStamp(t: number, tz?: string): string {
  if (!tz) return rfc3339(t);
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  });
  const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  const off = String(p.timeZoneName ?? 'GMT').replace('GMT', '') || 'Z';
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${off}`;
}
