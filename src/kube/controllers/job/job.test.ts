// Job controller (+ garbage collector and TTL-after-finished) against the in-process API server
// with simulated nodes whose pods succeed or fail as their labels say: completions within
// parallelism with finalizer-based tracking, Indexed jobs (annotation, label, env, hostname,
// completedIndexes), backoffLimit, activeDeadlineSeconds, podFailurePolicy (FailJob, Ignore),
// suspend/resume, ttlSecondsAfterFinished.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Informer } from '../../client/index.js';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let J: string, P: string;
const job = (name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  spec: {
    template: {
      metadata: { labels: { fate: 'succeed', ...labels } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
    },
    ...spec,
  },
});
const cond = (j: any, type: string) => j.status?.conditions?.find((c: any) => c.type === type && c.status === 'True');
const podsOf = async (name: string) =>
  (await env.get(`${P}?labelSelector=batch.kubernetes.io%2Fjob-name%3D${name}`)).items as any[];

before(async () => {
  env = await startControllerEnv({
    controllers: ['job', 'ttl-after-finished', 'garbagecollector'],
    nodes: ['n1', 'n2'],
    sim: {
      startMs: 30,
      behavior: (p: any) => p.metadata.labels?.fate ?? 'succeed',
      exitCode: (p: any) => Number(p.metadata.labels?.exit ?? 1),
    },
    options: { job: { batchMs: 0, backoffBaseMs: 20, backoffMaxMs: 100 } },
  });
  J = `/apis/batch/v1/namespaces/${env.ns}/jobs`;
  P = `/api/v1/namespaces/${env.ns}/pods`;
});
after(() => env?.close());

describe('job controller', () => {
  it('a running Job leaves zero counts and an empty conditions list out of its status (omitempty)', async () => {
    // Found by the controllers differential: `active: 0` and `conditions: []` were written.
    await env.post(J, job('quiet', { suspend: true }));
    await env.post(J, job('running', {}, { fate: 'ready' }));
    await until('running', async () => (await env.get(`${J}/running`)).status?.active === 1);
    const st = (await env.get(`${J}/running`)).status;
    for (const k of ['conditions', 'succeeded', 'failed']) assert.equal(k in st, false, `${k}: ${JSON.stringify(st)}`);
    await until('suspended', async () =>
      ((await env.get(`${J}/quiet`)).status?.conditions ?? []).some((c: any) => c.type === 'Suspended'),
    );
    assert.equal('active' in (await env.get(`${J}/quiet`)).status, false);
  });

  it('runs completions within parallelism, tracking pods with finalizers', async () => {
    let maxActive = 0;
    const running = new Set<string>();
    const inf = new Informer(
      env.c,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      {
        add: (p: any) => {
          if (!['Succeeded', 'Failed'].includes(p.status?.phase)) running.add(p.metadata.name);
          maxActive = Math.max(maxActive, running.size);
          assert.ok(
            p.metadata.finalizers?.includes('batch.kubernetes.io/job-tracking'),
            'created with the tracking finalizer',
          );
        },
        update: (_o: any, p: any) => {
          if (['Succeeded', 'Failed'].includes(p.status?.phase)) running.delete(p.metadata.name);
        },
        delete: (p: any) => running.delete(p.metadata.name),
      },
      { namespace: env.ns, labelSelector: 'batch.kubernetes.io/job-name=pi' },
    );
    await inf.start();
    await env.post(J, job('pi', { completions: 4, parallelism: 2 }));
    await until('complete', async () => Boolean(cond(await env.get(`${J}/pi`), 'Complete')));
    inf.stop();
    const j = await env.get(`${J}/pi`);
    assert.equal(j.status.succeeded, 4);
    assert.ok(!j.status.failed);
    assert.ok(j.status.completionTime && j.status.startTime);
    assert.ok(cond(j, 'SuccessCriteriaMet'), 'SuccessCriteriaMet precedes Complete');
    assert.deepEqual(j.status.uncountedTerminatedPods, {});
    assert.ok(maxActive <= 2, `at most parallelism pods ran at once (saw ${maxActive})`);
    const pods = await podsOf('pi');
    assert.equal(pods.length, 4);
    assert.ok(pods.every((p) => !(p.metadata.finalizers ?? []).includes('batch.kubernetes.io/job-tracking')));
    const out = await env.get(`/api/v1/namespaces/${env.ns}/events?fieldSelector=involvedObject.name%3Dpi`);
    assert.ok(out.items.some((e: any) => e.reason === 'Completed' && e.message === 'Job completed'));
  });

  it('Indexed: one pod per index with the annotation, label, env and hostname; completedIndexes', async () => {
    await env.post(J, job('idx', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    await until('complete', async () => Boolean(cond(await env.get(`${J}/idx`), 'Complete')));
    const j = await env.get(`${J}/idx`);
    assert.equal(j.status.completedIndexes, '0-2');
    assert.equal(j.status.succeeded, 3);
    const pods = (await podsOf('idx')).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    assert.deepEqual(
      pods.map((p) => [
        p.metadata.annotations['batch.kubernetes.io/job-completion-index'],
        p.metadata.labels['batch.kubernetes.io/job-completion-index'],
        p.spec.hostname,
      ]),
      [
        ['0', '0', 'idx-0'],
        ['1', '1', 'idx-1'],
        ['2', '2', 'idx-2'],
      ],
    );
    for (const p of pods) {
      assert.match(p.metadata.name, /^idx-\d-[a-z0-9]{5}$/);
      assert.deepEqual(
        p.spec.containers[0].env.find((e: any) => e.name === 'JOB_COMPLETION_INDEX').valueFrom.fieldRef.fieldPath,
        "metadata.labels['batch.kubernetes.io/job-completion-index']",
      );
    }
  });

  it('backoffLimit: failing pods are retried, then the Job fails (FailureTarget, then Failed)', async () => {
    await env.post(J, job('bo', { backoffLimit: 2 }, { fate: 'fail' }));
    await until('failed', async () => Boolean(cond(await env.get(`${J}/bo`), 'Failed')));
    const j = await env.get(`${J}/bo`);
    assert.equal(j.status.failed, 3);
    assert.equal(cond(j, 'Failed').reason, 'BackoffLimitExceeded');
    assert.equal(cond(j, 'Failed').message, 'Job has reached the specified backoff limit');
    assert.equal(cond(j, 'FailureTarget').reason, 'BackoffLimitExceeded');
    assert.ok(!j.status.completionTime);
  });

  it('activeDeadlineSeconds: running pods are removed and the Job fails', async () => {
    await env.post(J, job('dl', { activeDeadlineSeconds: 1, parallelism: 2, completions: 2 }, { fate: 'ready' }));
    await until('pods started', async () => (await podsOf('dl')).length === 2);
    await until('deadline', async () => Boolean(cond(await env.get(`${J}/dl`), 'Failed')));
    const j = await env.get(`${J}/dl`);
    assert.equal(cond(j, 'Failed').reason, 'DeadlineExceeded');
    assert.ok(!j.status.active);
    await until('pods gone', async () => (await podsOf('dl')).length === 0);
  });

  it('podFailurePolicy: Ignore does not count, FailJob fails at once', async () => {
    const policy = {
      rules: [
        { action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } },
        { action: 'Ignore', onExitCodes: { operator: 'In', values: [1] } },
      ],
    };
    await env.post(J, job('ign', { backoffLimit: 0, podFailurePolicy: policy }, { fate: 'fail', exit: '1' }));
    await until('several ignored failures', async () => (await podsOf('ign')).length >= 3);
    const ign = await env.get(`${J}/ign`);
    assert.ok(!cond(ign, 'Failed'), 'ignored failures do not fail the Job');
    assert.ok(!ign.status.failed);
    await env.del(J + '/ign', { propagationPolicy: 'Background' });

    await env.post(J, job('fj', { backoffLimit: 6, podFailurePolicy: policy }, { fate: 'fail', exit: '42' }));
    await until('failed', async () => Boolean(cond(await env.get(`${J}/fj`), 'Failed')));
    const c = cond(await env.get(`${J}/fj`), 'Failed');
    assert.equal(c.reason, 'PodFailurePolicy');
    assert.match(
      c.message,
      /^Container c for pod t-\w+\/fj-\w+ failed with exit code 42 matching FailJob rule at index 0$/,
    );
  });

  it('suspend holds pods back (Suspended condition); resume starts them', async () => {
    await env.post(J, job('sus', { suspend: true, completions: 1 }));
    await until('suspended', async () => Boolean(cond(await env.get(`${J}/sus`), 'Suspended')));
    assert.equal((await podsOf('sus')).length, 0);
    assert.equal(cond(await env.get(`${J}/sus`), 'Suspended').reason, 'JobSuspended');
    await env.patch(`${J}/sus`, { spec: { suspend: false } });
    await until('complete', async () => Boolean(cond(await env.get(`${J}/sus`), 'Complete')));
    const s = (await env.get(`${J}/sus`)).status.conditions.find((c: any) => c.type === 'Suspended');
    assert.deepEqual([s.status, s.reason], ['False', 'JobResumed']);
  });

  it('ttlSecondsAfterFinished deletes the finished Job and its pods', async () => {
    await env.post(J, job('ttl', { ttlSecondsAfterFinished: 1 }));
    await until('complete', async () => Boolean(cond((await env.maybe(`${J}/ttl`)) ?? {}, 'Complete')));
    await until('deleted', async () => !(await env.maybe(`${J}/ttl`)), 8000);
    await until('pods deleted', async () => (await podsOf('ttl')).length === 0);
  });
});
