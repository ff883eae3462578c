import type { FieldError, KubeObject } from '../../types.js';
import { arr, bool, define, enumStr, int32, int64, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, nonNegative, oneOf, type Obj } from '../../validation/fields.js';
import { invalid, required } from '../../validation/errors.js';
import { cronError, isKnownTimeZone } from '../../cron/cron.js';
import { formatLabelSelector } from '../../labels/selector.js';
import { resource } from '../shared/define.js';
import { defaultEmbeddedMeta, defaultTemplate } from '../apps/workload.js';
import { BATCH, validateJobSpec } from './job.js';

define(
  BATCH('JobTemplateSpec'),
  obj('The job created from a CronJob.', {
    metadata: ref(N.ObjectMeta, 'Metadata of the jobs created from this template.'),
    spec: ref(BATCH('JobSpec'), 'Specification of the jobs created from this template.'),
  }),
);
define(
  BATCH('CronJobSpec'),
  obj(
    'The schedule and job template of a CronJob.',
    {
      schedule: str('The schedule in Cron format, e.g. "*/5 * * * *" or "@hourly".'),
      timeZone: str(
        'Time zone name for the schedule (IANA database, e.g. "Etc/UTC"); defaults to the controller\'s local time zone.',
      ),
      startingDeadlineSeconds: int64(
        'Seconds after a missed scheduled time within which the job may still start; missed jobs beyond it count as failed.',
      ),
      concurrencyPolicy: enumStr('How concurrent executions are treated: Allow (default), Forbid or Replace.', [
        'Allow',
        'Forbid',
        'Replace',
      ]),
      suspend: bool('Suspend subsequent executions (running ones are not affected). Defaults to false.'),
      jobTemplate: ref(BATCH('JobTemplateSpec'), 'The job to create when executing the CronJob.'),
      successfulJobsHistoryLimit: int32('Number of successful finished jobs to retain. Defaults to 3.'),
      failedJobsHistoryLimit: int32('Number of failed finished jobs to retain. Defaults to 1.'),
    },
    ['schedule', 'jobTemplate'],
  ),
);
define(
  BATCH('CronJobStatus'),
  obj('The current state of a cron job.', {
    active: arr('Pointers to currently running jobs.', ref('io.k8s.api.core.v1.ObjectReference'), {
      listType: 'atomic',
    }),
    lastScheduleTime: ref(N.Time, 'The last time a job was successfully scheduled.'),
    lastSuccessfulTime: ref(N.Time, 'The last time a job successfully completed.'),
  }),
);

function validate(o: Obj): FieldError[] {
  const s = asObj(o.spec) ?? {};
  const errs: FieldError[] = [];
  if (!s.schedule) errs.push(required('spec.schedule'));
  else if (typeof s.schedule !== 'string') errs.push(invalid('spec.schedule', s.schedule, 'must be a string'));
  else if (/^\s*(TZ|CRON_TZ)=/.test(s.schedule))
    errs.push(invalid('spec.schedule', s.schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  else {
    const e = cronError(s.schedule);
    if (e) errs.push(invalid('spec.schedule', s.schedule, e));
  }
  if (s.timeZone !== undefined && s.timeZone !== null) {
    const tz = String(s.timeZone);
    if (tz === '') errs.push(invalid('spec.timeZone', tz, 'timeZone must be nil or non-empty string'));
    else if (tz.toLowerCase() === 'local')
      errs.push(
        invalid(
          'spec.timeZone',
          tz,
          'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones',
        ),
      );
    else if (
      tz.split('/').some((p) => p === '.' || p === '..' || p.startsWith('-') || !/^[A-Za-z._+\-0-9]+$/.test(p)) ||
      !isKnownTimeZone(tz)
    ) {
      errs.push(invalid('spec.timeZone', tz, `unknown time zone ${tz}`));
    }
  }
  errs.push(...oneOf(s.concurrencyPolicy, 'spec.concurrencyPolicy', ['Allow', 'Forbid', 'Replace'], false));
  errs.push(...nonNegative(s.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
  errs.push(
    ...nonNegative(s.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'),
    ...nonNegative(s.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'),
  );
  const jt = asObj(s.jobTemplate);
  if (!jt) errs.push(required('spec.jobTemplate'));
  else errs.push(...validateJobSpec(asObj(jt.spec) ?? {}, 'spec.jobTemplate.spec', true));
  if (typeof o.metadata?.name === 'string' && o.metadata.name.length > 52) {
    errs.push(invalid('metadata.name', o.metadata.name, 'must be no more than 52 characters'));
  }
  return errs;
}

export const cronJob = resource({
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  plural: 'cronjobs',
  singular: 'cronjob',
  namespaced: true,
  shortNames: ['cj'],
  categories: ['all'],
  hasGeneration: true,
  subresources: { status: true },
  schema: kindSchema(
    { group: 'batch', version: 'v1', kind: 'CronJob' },
    'CronJob represents the configuration of a single cron job: Jobs created on a schedule.',
    {
      spec: ref(BATCH('CronJobSpec'), 'Specification of the desired behavior of a cron job, including the schedule.'),
      status: ref(BATCH('CronJobStatus'), 'Current status of a cron job. Read-only.'),
    },
  ),
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.spec = asObj(o.spec) ?? {};
    const s = o.spec;
    s.concurrencyPolicy ??= 'Allow';
    s.suspend ??= false;
    s.successfulJobsHistoryLimit ??= 3;
    s.failedJobsHistoryLimit ??= 1;
    s.jobTemplate = asObj(s.jobTemplate) ?? {};
    s.jobTemplate.spec = asObj(s.jobTemplate.spec) ?? {};
    defaultEmbeddedMeta(s.jobTemplate);
    defaultTemplate(s.jobTemplate.spec);
    o.status = asObj(o.status) ?? {};
  },
  validate: (o: KubeObject) => validate(o as Obj),
  columns: [
    nameColumn,
    col('Schedule', 'string', 'The schedule in Cron format.'),
    col('Timezone', 'string', 'The time zone of the schedule.'),
    col('Suspend', 'boolean', 'Whether subsequent executions are suspended.'),
    col('Active', 'integer', 'Number of running jobs.'),
    col('Last Schedule', 'string', 'Time since the last job was scheduled.'),
    ageColumn,
    col('Containers', 'string', 'Names of each container in the template.', 1),
    col('Images', 'string', 'Images referenced by each container in the template.', 1),
    col('Selector', 'string', 'Label query over pods that should match the pod count.', 1),
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {},
      st = asObj(o.status) ?? {};
    const js = asObj(asObj(s.jobTemplate)?.spec) ?? {};
    const cs = asArr(asObj(asObj(js.template)?.spec)?.containers).filter(asObj);
    const suspend = s.suspend === undefined ? '<unset>' : s.suspend ? 'True' : 'False';
    return [
      obj.metadata.name,
      s.schedule ?? '',
      s.timeZone ?? '<none>',
      suspend,
      asArr(st.active).length,
      st.lastScheduleTime ? age(st.lastScheduleTime, now) : '<none>',
      age(obj.metadata.creationTimestamp, now),
      cs.map((c) => c.name).join(','),
      cs.map((c) => c.image).join(','),
      formatLabelSelector(asObj(js.selector)),
    ];
  },
});
