import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../../index.js';

const now = new Date('2024-01-01T12:00:00Z');
const msgs = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);
const UID = '6b1f0f7e-0000-4000-8000-000000000001';
const obj = (name: string, spec: Record<string, unknown>, rest: Record<string, unknown> = {}): any => ({
  metadata: { name, namespace: 'default', uid: UID, creationTimestamp: '2024-01-01T11:50:00Z' },
  spec,
  ...rest,
});
const tmpl = (restartPolicy?: string) => ({
  spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: 'pi', image: 'perl:5.34' }] },
});

test('job: defaults and generated selector', () => {
  const jobs = findResource('batch', 'v1', 'jobs')!;
  const j = obj('pi', { template: tmpl('Never') });
  jobs.defaults!(j);
  assert.equal(j.spec.completions, 1);
  assert.equal(j.spec.parallelism, 1);
  assert.equal(j.spec.backoffLimit, 6);
  assert.equal(j.spec.completionMode, 'NonIndexed');
  assert.equal(j.spec.suspend, false);
  assert.equal(j.spec.podReplacementPolicy, 'TerminatingOrFailed');
  assert.deepEqual(j.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': UID } });
  assert.equal(j.spec.template.metadata.labels['job-name'], 'pi');
  assert.equal(j.spec.template.metadata.labels['batch.kubernetes.io/job-name'], 'pi');
  assert.equal(j.metadata.labels['job-name'], 'pi', 'the job carries its template labels');
  assert.deepEqual(jobs.validate!(j), []);
  const par = obj('p', { parallelism: 3, template: tmpl('Never') });
  jobs.defaults!(par);
  assert.equal(par.spec.completions, undefined);
});

test('job: validation, immutability, table', () => {
  const jobs = findResource('batch', 'v1', 'Job')!;
  const always = obj('pi', { template: tmpl() });
  jobs.defaults!(always);
  assert.deepEqual(msgs(jobs.validate!(always)), [
    'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  ]);
  const bad = obj('pi', { template: tmpl('Never'), parallelism: -1, completionMode: 'Indexed', backoffLimit: -2 });
  jobs.defaults!(bad);
  delete bad.spec.completions;
  assert.deepEqual(msgs(jobs.validate!(bad)), [
    'spec.parallelism: Invalid value: -1: must be greater than or equal to 0',
    'spec.backoffLimit: Invalid value: -2: must be greater than or equal to 0',
    'spec.completions: Required value: when completion mode is Indexed',
  ]);
  const j = obj('pi', { template: tmpl('Never') });
  jobs.defaults!(j);
  const changed = structuredClone(j);
  changed.spec.template.spec.containers[0].image = 'perl:5.36';
  assert.deepEqual(msgs(jobs.validateUpdate!(changed, j)), [
    'spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable',
  ]);
  const sel = structuredClone(j);
  sel.spec.selector = { matchLabels: { a: 'b' } };
  assert.equal(jobs.validateUpdate!(sel, j)[0].field, 'spec.selector');
  j.status = {
    startTime: '2024-01-01T11:55:00Z',
    succeeded: 1,
    conditions: [{ type: 'Complete', status: 'True' }],
    completionTime: '2024-01-01T11:55:12Z',
  };
  assert.deepEqual(jobs.row(j, now).slice(0, 5), ['pi', 'Complete', '1/1', '12s', '10m']);
  assert.equal(jobs.fieldSelectors!['status.successful'](j), '1');
  const running = obj(
    'r',
    { parallelism: 2, template: tmpl('Never') },
    { status: { startTime: '2024-01-01T11:58:00Z' } },
  );
  assert.deepEqual(jobs.row(running, now).slice(1, 4), ['Running', '0/1 of 2', '2m']);
});

test('cronjob: defaults, schedule and timeZone validation, table', () => {
  const cj = findResource('batch', 'v1', 'cj')!;
  const c = obj('hello', { schedule: '*/1 * * * *', jobTemplate: { spec: { template: tmpl('OnFailure') } } });
  cj.defaults!(c);
  assert.equal(c.spec.concurrencyPolicy, 'Allow');
  assert.equal(c.spec.suspend, false);
  assert.equal(c.spec.successfulJobsHistoryLimit, 3);
  assert.equal(c.spec.failedJobsHistoryLimit, 1);
  assert.equal(c.spec.jobTemplate.spec.template.spec.dnsPolicy, 'ClusterFirst');
  assert.deepEqual(cj.validate!(c), []);
  assert.deepEqual(
    cj.columns.filter((x) => !x.priority).map((x) => x.name),
    ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age'],
  );
  c.status = { active: [{ name: 'hello-1' }], lastScheduleTime: '2024-01-01T11:59:00Z' };
  assert.deepEqual(cj.row(c, now).slice(0, 7), ['hello', '*/1 * * * *', '<none>', 'False', 1, '60s', '10m']);

  const bad = obj('hello', {
    schedule: '61 * * * *',
    timeZone: 'Mars/Olympus',
    concurrencyPolicy: 'Sometimes',
    jobTemplate: { spec: { template: tmpl('OnFailure') } },
  });
  cj.defaults!(bad);
  assert.deepEqual(msgs(cj.validate!(bad)), [
    'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
    'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
    'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"',
  ]);
  const tz = obj('hello', { schedule: 'TZ=UTC 0 * * * *', jobTemplate: { spec: { template: tmpl('OnFailure') } } });
  cj.defaults!(tz);
  assert.deepEqual(msgs(cj.validate!(tz)), [
    'spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
  ]);
  const none = obj('hello', { jobTemplate: { spec: { template: tmpl('Always') } } });
  cj.defaults!(none);
  assert.deepEqual(msgs(cj.validate!(none)), [
    'spec.schedule: Required value',
    'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  ]);
  const ok = obj('hello', {
    schedule: '@hourly',
    timeZone: 'Europe/Berlin',
    jobTemplate: { spec: { template: tmpl('Never') } },
  });
  cj.defaults!(ok);
  assert.deepEqual(cj.validate!(ok), []);
});
