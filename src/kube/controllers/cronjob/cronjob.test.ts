// CronJob controller (+ Job controller) against the in-process API server with simulated nodes and
// a controller clock the test moves minute by minute: a Job per scheduled minute named by the
// minute, history limits, Forbid and Replace, suspend, startingDeadlineSeconds, the time zone in
// the scheduled-timestamp annotation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let offset = 0;
const now = () => Date.now() + offset;
let CJ: string, J: string;

const cronjob = (name: string, spec: Record<string, unknown>, fate = 'succeed') => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name },
  spec: {
    schedule: '* * * * *',
    jobTemplate: {
      spec: {
        template: {
          metadata: { labels: { fate, cj: name } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    },
    ...spec,
  },
});
const jobsOf = async (cj: string) =>
  ((await env.get(J)).items as any[])
    .filter((j) => j.metadata.ownerReferences?.[0]?.name === cj)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
/** Moves the controllers' clock to `sec` seconds into the next minute and makes them look. */
async function nextMinute(sec = 1): Promise<number> {
  const t = now();
  const target = (Math.floor(t / 60000) + 1) * 60000 + sec * 1000;
  offset += target - t;
  env.controllers.resync();
  return Math.floor(target / 60000);
}
const done = (j: any) =>
  j.status?.conditions?.some((c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True');

before(async () => {
  env = await startControllerEnv({
    controllers: ['cronjob', 'job'],
    nodes: ['n1'],
    sim: { behavior: (p: any) => p.metadata.labels?.fate ?? 'succeed' },
    now,
    options: { job: { batchMs: 0 } },
  });
  CJ = `/apis/batch/v1/namespaces/${env.ns}/cronjobs`;
  J = `/apis/batch/v1/namespaces/${env.ns}/jobs`;
});
after(() => env?.close());

describe('cronjob controller', () => {
  it('creates one Job per minute named by the minute, and keeps the history limit', async () => {
    await env.post(CJ, cronjob('every', { successfulJobsHistoryLimit: 2 }));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await jobsOf('every')).length, 0, 'nothing before the first scheduled minute');
    const minutes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const m = await nextMinute();
      minutes.push(m);
      await until(`job for minute ${m}`, async () =>
        (await jobsOf('every')).some((j) => j.metadata.name === `every-${m}` && done(j)),
      );
      await until('inactive', async () => !(await env.get(`${CJ}/every`)).status?.active?.length);
    }
    await until(
      'history pruned to 2',
      async () => (await jobsOf('every')).filter((j) => !j.metadata.deletionTimestamp).length === 2,
    );
    const left = (await jobsOf('every')).map((j) => j.metadata.name);
    assert.deepEqual(
      left,
      minutes.slice(2).map((m) => `every-${m}`),
    );
    const cj = await env.get(`${CJ}/every`);
    assert.equal(cj.status.lastScheduleTime, new Date(minutes[3] * 60000).toISOString().replace('.000Z', 'Z'));
    assert.ok(cj.status.lastSuccessfulTime);
    const j = (await jobsOf('every'))[1];
    assert.equal(j.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp'], cj.status.lastScheduleTime);
    await env.patch(`${CJ}/every`, { spec: { suspend: true } });
  });

  it('Forbid skips a minute while a Job runs; Replace replaces it', async () => {
    await env.post(CJ, cronjob('fb', { concurrencyPolicy: 'Forbid' }, 'ready'));
    const m1 = await nextMinute();
    await until('first job', async () => (await jobsOf('fb')).length === 1);
    await nextMinute();
    await until('JobAlreadyActive event', async () =>
      (await env.get(`/api/v1/namespaces/${env.ns}/events?fieldSelector=involvedObject.name%3Dfb`)).items.some(
        (e: any) => e.reason === 'JobAlreadyActive',
      ),
    );
    assert.deepEqual(
      (await jobsOf('fb')).map((j) => j.metadata.name),
      [`fb-${m1}`],
    );
    await env.patch(`${CJ}/fb`, { spec: { concurrencyPolicy: 'Replace' } });
    const m3 = await nextMinute();
    await until('replaced', async () => {
      const js = (await jobsOf('fb')).filter((j) => !j.metadata.deletionTimestamp);
      return js.length === 1 && js[0].metadata.name === `fb-${m3}`;
    });
    assert.deepEqual(
      (await env.get(`${CJ}/fb`)).status.active.map((r: any) => r.name),
      [`fb-${m3}`],
    );
    await env.patch(`${CJ}/fb`, { spec: { suspend: true } });
  });

  it('suspend and startingDeadlineSeconds hold back; the time zone shows in the annotation', async () => {
    await env.post(CJ, cronjob('late', { startingDeadlineSeconds: 10, suspend: true, timeZone: 'Asia/Kolkata' }));
    await nextMinute();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await jobsOf('late')).length, 0, 'suspended');
    await env.patch(`${CJ}/late`, { spec: { suspend: false } });
    await nextMinute(30);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await jobsOf('late')).length, 0, 'past the starting deadline');
    const m = await nextMinute(5);
    await until('on time', async () => (await jobsOf('late')).length === 1);
    const j = (await jobsOf('late'))[0];
    assert.equal(j.metadata.name, `late-${m}`);
    assert.match(j.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp'], /T\d\d:\d\d:00\+05:30$/);
  });
});
