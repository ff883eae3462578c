// CronJob controller: the Jobs it creates are its own — seeing one before its status write reaches
// the cache gives no `UnexpectedJob` warning and no second Job (upstream re-reads the CronJob).
// And a Job that completes says why in upstream's words (CompletionsReached).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let offset = 0;
const now = () => Date.now() + offset;

before(async () => {
  env = await startControllerEnv({
    controllers: ['cronjob', 'job'],
    nodes: ['n1'],
    sim: { behavior: (p: any) => p.metadata.labels?.fate ?? 'ready' },
    now,
    options: { job: { batchMs: 0 } },
  });
});
after(() => env?.close());

describe('cronjob controller and its own jobs', () => {
  it('records a new Job as active without an UnexpectedJob warning', async () => {
    const CJ = `/apis/batch/v1/namespaces/${env.ns}/cronjobs`;
    const job = { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } };
    const minutes: number[] = [];
    for (const name of ['own-a', 'own-b', 'own-c'])
      await env.post(CJ, {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name },
        spec: { schedule: '* * * * *', jobTemplate: { spec: job } },
      });
    for (let i = 0; i < 2; i++) {
      const t = now();
      const target = (Math.floor(t / 60000) + 1) * 60000 + 1000;
      offset += target - t;
      minutes.push(Math.floor(target / 60000));
      env.controllers.resync();
      for (const name of ['own-a', 'own-b', 'own-c'])
        await until(`${name} active for minute ${minutes[i]}`, async () =>
          ((await env.get(`${CJ}/${name}`)).status?.active ?? []).some((r: any) => r.name === `${name}-${minutes[i]}`),
        );
    }
    await new Promise((r) => setTimeout(r, 300));
    const events = (await env.get(`/api/v1/namespaces/${env.ns}/events`)).items as any[];
    const unexpected = events.filter((e) => e.reason === 'UnexpectedJob').map((e) => e.message);
    assert.deepEqual(unexpected, [], 'no UnexpectedJob for jobs the controller created');
    const jobs = (await env.get(`/apis/batch/v1/namespaces/${env.ns}/jobs`)).items as any[];
    assert.equal(jobs.length, 6, 'one Job per CronJob and minute');
  });

  it('a completed Job says why: CompletionsReached', async () => {
    const J = `/apis/batch/v1/namespaces/${env.ns}/jobs`;
    await env.post(J, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'done' },
      spec: {
        template: {
          metadata: { labels: { fate: 'succeed' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    });
    const cond = (j: any, t: string) => j.status?.conditions?.find((c: any) => c.type === t && c.status === 'True');
    await until('complete', async () => Boolean(cond(await env.get(`${J}/done`), 'Complete')));
    const j = await env.get(`${J}/done`);
    for (const t of ['SuccessCriteriaMet', 'Complete'])
      assert.deepEqual(
        [cond(j, t).reason, cond(j, t).message],
        ['CompletionsReached', 'Reached expected number of succeeded pods'],
        t,
      );
  });
});
