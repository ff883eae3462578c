// Deployment controller with the ReplicaSet controller, the real API server (in-process) and
// simulated nodes whose pods take 100 ms to start: ReplicaSets named and labelled by the
// template hash with upstream's annotations, a RollingUpdate observed to stay within maxSurge
// and maxUnavailable, scaling, Recreate, revisionHistoryLimit, pause/resume, a rollback reusing
// the old ReplicaSet (revision-history), and progressDeadlineSeconds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Informer } from '../../client/index.js';
import type { KubeObject } from '../../api/index.js';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let D: string, RS: string, P: string;
const deploy = (name: string, replicas: number, spec: Record<string, unknown> = {}, image = 'busybox:1') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
    ...spec,
  },
});
const setsOf = async (app: string) =>
  (await env.get(`${RS}?labelSelector=app%3D${app}`)).items.sort(
    (a: any, b: any) =>
      Number(a.metadata.annotations['deployment.kubernetes.io/revision']) -
      Number(b.metadata.annotations['deployment.kubernetes.io/revision']),
  );
const cond = (d: any, type: string) => d.status?.conditions?.find((c: any) => c.type === type);
const rolledOut = (name: string, replicas: number) => async () => isRolledOut(await env.get(`${D}/${name}`), replicas);
const isRolledOut = (d: any, replicas: number) => {
  const s = d.status ?? {};
  return (
    s.observedGeneration === d.metadata.generation &&
    s.updatedReplicas === replicas &&
    s.replicas === replicas &&
    s.availableReplicas === replicas &&
    cond(d, 'Progressing')?.reason === 'NewReplicaSetAvailable'
  );
};
const setImage = (name: string, image: string) =>
  env.patch(
    `${D}/${name}`,
    { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } },
    'application/strategic-merge-patch+json',
  );

before(async () => {
  env = await startControllerEnv({
    controllers: ['replicaset', 'deployment'],
    nodes: ['n1', 'n2', 'n3'],
    sim: { startMs: 100, behavior: (p: any) => (p.spec.containers[0].image === 'broken' ? 'unready' : 'ready') },
  });
  D = `/apis/apps/v1/namespaces/${env.ns}/deployments`;
  RS = `/apis/apps/v1/namespaces/${env.ns}/replicasets`;
  P = `/api/v1/namespaces/${env.ns}/pods`;
});
after(() => env?.close());

describe('deployment controller', () => {
  it('creates a ReplicaSet named by the template hash with upstream annotations and conditions', async () => {
    const d = await env.post(D, deploy('web', 3));
    await until('rolled out', rolledOut('web', 3));
    const [rs] = await setsOf('web');
    const hash = rs.metadata.labels['pod-template-hash'];
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.deepEqual(rs.spec.selector.matchLabels, { app: 'web', 'pod-template-hash': hash });
    assert.equal(rs.spec.template.metadata.labels['pod-template-hash'], hash);
    assert.equal(rs.metadata.annotations['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata.annotations['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(rs.metadata.annotations['deployment.kubernetes.io/max-replicas'], '4');
    assert.equal(rs.metadata.ownerReferences[0].uid, d.metadata.uid);
    const got = await env.get(`${D}/web`);
    assert.equal(got.metadata.annotations['deployment.kubernetes.io/revision'], '1');
    assert.equal(cond(got, 'Available').status, 'True');
    assert.equal(cond(got, 'Available').reason, 'MinimumReplicasAvailable');
    assert.equal(cond(got, 'Progressing').message, `ReplicaSet "${rs.metadata.name}" has successfully progressed.`);
  });

  it('rolls out a new template within maxSurge and maxUnavailable (observed)', async () => {
    await env.post(
      D,
      deploy('roll', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }),
    );
    await until('rolled out', rolledOut('roll', 4));
    const pods = new Map<string, KubeObject>();
    let maxTotal = 0,
      minReady = Number.POSITIVE_INFINITY,
      listed = false;
    const observe = () => {
      if (!listed) return; // the initial list arrives one pod at a time
      // As upstream counts them (ReplicaSets' active pods): a terminating pod is neither part of
      // the surge nor available; the simulated kubelet removes it when it gets to it, which under
      // load can be after the replacement exists.
      const live = [...pods.values()].filter((p) => !p.metadata.deletionTimestamp);
      const ready = live.filter((p: any) =>
        p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
      );
      maxTotal = Math.max(maxTotal, live.length);
      minReady = Math.min(minReady, ready.length);
    };
    const inf = new Informer(
      env.c,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      {
        add: (p) => {
          pods.set(p.metadata.name!, p);
          observe();
        },
        update: (_o, p) => {
          pods.set(p.metadata.name!, p);
          observe();
        },
        delete: (p) => {
          pods.delete(p.metadata.name!);
          observe();
        },
      },
      { namespace: env.ns, labelSelector: 'app=roll' },
    );
    await inf.start();
    listed = true;
    observe();
    assert.equal(minReady, 4);
    // Stopped whatever happens: a live informer would keep the test process from exiting.
    try {
      await setImage('roll', 'busybox:2');
      await env.watchUntil(`${D}/roll`, 'rolled out again', (d) => isRolledOut(d, 4));
    } finally {
      inf.stop();
    }
    assert.ok(maxTotal <= 5, `never more than replicas + maxSurge pods (saw ${maxTotal})`);
    assert.ok(minReady >= 3, `never fewer than replicas - maxUnavailable ready (saw ${minReady})`);
    const sets = await setsOf('roll');
    assert.equal(sets.length, 2);
    assert.equal(sets[0].spec.replicas, 0);
    assert.equal(sets[1].spec.replicas, 4);
    assert.equal(sets[1].metadata.annotations['deployment.kubernetes.io/revision'], '2');
    const events = await env.get(`/api/v1/namespaces/${env.ns}/events?fieldSelector=involvedObject.name%3Droll`);
    assert.ok(
      events.items.some(
        (e: any) =>
          e.reason === 'ScalingReplicaSet' && /^Scaled down replica set roll-\w+ from \d+ to \d+$/.test(e.message),
      ),
    );
  });

  it('scales 1 → 5 → 2', async () => {
    await env.post(D, deploy('scale', 1));
    await until('1', rolledOut('scale', 1));
    await env.patch(`${D}/scale`, { spec: { replicas: 5 } });
    await until('5', rolledOut('scale', 5));
    await env.patch(`${D}/scale`, { spec: { replicas: 2 } });
    await until('2', rolledOut('scale', 2));
    assert.equal((await env.get(`${P}?labelSelector=app%3Dscale`)).items.length, 2);
    assert.equal((await setsOf('scale')).length, 1, 'scaling is not a rollout');
  });

  it('Recreate: every old pod is gone before the new ReplicaSet gets any', async () => {
    await env.post(D, deploy('rec', 3, { strategy: { type: 'Recreate' } }));
    await until('rolled out', rolledOut('rec', 3));
    let mixed = false;
    const images = new Map<string, string>();
    const inf = new Informer(
      env.c,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      {
        add: (p: any) => {
          images.set(p.metadata.name, p.spec.containers[0].image);
          if (new Set(images.values()).size > 1) mixed = true;
        },
        delete: (p: any) => images.delete(p.metadata.name),
      },
      { namespace: env.ns, labelSelector: 'app=rec' },
    );
    await inf.start();
    try {
      await setImage('rec', 'busybox:2');
      await until('recreated', rolledOut('rec', 3));
    } finally {
      inf.stop();
    }
    assert.equal(mixed, false, 'old and new pods never coexisted');
  });

  it('keeps revisionHistoryLimit old sets; a rollback reuses the old set with revision-history', async () => {
    await env.post(D, deploy('hist', 1, { revisionHistoryLimit: 1 }));
    await until('r1', rolledOut('hist', 1));
    await setImage('hist', 'busybox:2');
    await until('r2', async () => (await rolledOut('hist', 1)()) && (await setsOf('hist')).length === 2);
    await setImage('hist', 'busybox:3');
    await until(
      'r3 with one old set',
      async () => (await rolledOut('hist', 1)()) && (await setsOf('hist')).length === 2,
    );
    const before = await setsOf('hist');
    assert.deepEqual(
      before.map((s: any) => [
        s.metadata.annotations['deployment.kubernetes.io/revision'],
        s.spec.template.spec.containers[0].image,
      ]),
      [
        ['2', 'busybox:2'],
        ['3', 'busybox:3'],
      ],
    );
    // Back to busybox:2: the revision-2 set comes back as revision 4 and remembers 2.
    await setImage('hist', 'busybox:2');
    await until('rolled back', async () => {
      const sets = await setsOf('hist');
      return (await rolledOut('hist', 1)()) && sets.at(-1)?.spec.template.spec.containers[0].image === 'busybox:2';
    });
    const back = (await setsOf('hist')).at(-1);
    assert.equal(back.metadata.name, before[0].metadata.name);
    assert.equal(back.metadata.annotations['deployment.kubernetes.io/revision'], '4');
    assert.equal(back.metadata.annotations['deployment.kubernetes.io/revision-history'], '2');
    assert.equal((await env.get(`${D}/hist`)).metadata.annotations['deployment.kubernetes.io/revision'], '4');
  });

  it('pause holds the template back (Progressing Unknown/DeploymentPaused); resume rolls it out', async () => {
    await env.post(D, deploy('pz', 2));
    await until('rolled out', rolledOut('pz', 2));
    await env.patch(`${D}/pz`, { spec: { paused: true } });
    await until(
      'paused condition',
      async () => cond(await env.get(`${D}/pz`), 'Progressing')?.reason === 'DeploymentPaused',
    );
    assert.equal(cond(await env.get(`${D}/pz`), 'Progressing').status, 'Unknown');
    await setImage('pz', 'busybox:9');
    await env.patch(`${D}/pz`, { spec: { replicas: 3 } });
    await until('scaled while paused', async () => (await env.get(`${D}/pz`)).status?.availableReplicas === 3);
    assert.equal((await setsOf('pz')).length, 1, 'no new ReplicaSet while paused');
    await env.patch(`${D}/pz`, { spec: { paused: false } });
    await until('resumed and rolled out', async () => {
      const sets = await setsOf('pz');
      return (await rolledOut('pz', 3)()) && sets.length === 2;
    });
  });

  it('progressDeadlineSeconds: a rollout that stops progressing gets ProgressDeadlineExceeded', async () => {
    await env.post(D, deploy('stuck', 2, { progressDeadlineSeconds: 2 }));
    await until('rolled out', rolledOut('stuck', 2));
    await setImage('stuck', 'broken');
    await env.watchUntil(`${D}/stuck`, 'deadline exceeded', (d) => {
      const c = cond(d, 'Progressing');
      return c?.status === 'False' && c.reason === 'ProgressDeadlineExceeded';
    });
    const c = cond(await env.get(`${D}/stuck`), 'Progressing');
    assert.match(c.message, /^ReplicaSet "stuck-\w+" has timed out progressing\.$/);
    assert.equal(cond(await env.get(`${D}/stuck`), 'Available').status, 'True', 'old pods keep it available');
  });
});
