// Every controller startControllers runs, against the in-process API server with simulated nodes:
// they keep working across an API server restart and across a compaction that makes their
// watches 410 (they relist) without duplicating pods, and objects no validation would let in
// (written straight into the store) neither crash them nor make them hot-loop.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROLLER_NAMES } from './index.js';
import { Informer } from '../client/index.js';
import { startControllerEnv, until, type ControllerEnv } from '../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let D: string, P: string;
const created = new Set<string>();
let podWatch: Informer;
const deploy = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
  },
});
const ready = (name: string, n: number) => async () => {
  const d = await env.get(`${D}/${name}`);
  return (
    d.status?.readyReplicas === n && d.status?.replicas === n && d.status?.observedGeneration === d.metadata.generation
  );
};
const pods = async (app: string) => (await env.get(`${P}?labelSelector=app%3D${app}`)).items.length as number;

before(async () => {
  env = await startControllerEnv({
    controllers: CONTROLLER_NAMES.filter((n) => n !== 'kubernetes-service'),
    nodes: ['n1', 'n2'],
    options: { nodeLifecycle: { gracePeriodMs: 60_000 } },
  });
  D = `/apis/apps/v1/namespaces/${env.ns}/deployments`;
  P = `/api/v1/namespaces/${env.ns}/pods`;
  podWatch = new Informer(
    env.api.newClient(),
    { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
    { add: (p) => created.add(p.metadata.uid ?? '') },
    { namespace: env.ns },
  );
  await podWatch.start();
});
after(async () => {
  podWatch?.stop();
  await env?.close();
});

describe('controllers under failure', () => {
  it('survive an API server restart and a compaction (410 → relist) without duplicating pods', async () => {
    await env.post(D, deploy('web', 3));
    await until('3 ready', ready('web', 3));
    await env.api.restart(400);
    await env.patch(`${D}/web`, { spec: { replicas: 5 } });
    await until('5 ready after the restart', ready('web', 5), 20_000);
    await env.api.compact();
    await env.api.restart(100);
    await env.patch(`${D}/web`, { spec: { replicas: 2 } });
    await until('2 ready after the 410', ready('web', 2), 20_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await pods('web'), 2);
    assert.equal(created.size, 5, 'every pod created was wanted (3, then 2 more)');
  });

  it('malformed objects in the store neither crash nor hot-loop any controller', async () => {
    const raw = async (group: string, plural: string, name: string, body: Record<string, unknown>) => {
      const key = `/registry/${group}/${plural}/${env.ns}/${name}`;
      const obj = {
        metadata: {
          name,
          namespace: env.ns,
          uid: `u-${name}-${plural}`,
          creationTimestamp: 'not a time',
          generation: 'x',
        },
        ...body,
      };
      await env.api.store.create(key, new TextEncoder().encode(JSON.stringify(obj)));
    };
    const junk = [null, 5, 'x', [], {}, { matchLabels: 'x' }, { matchExpressions: [{ key: 'a', operator: 'Bogus' }] }];
    let i = 0;
    for (const spec of [
      null,
      'x',
      { replicas: 'many', selector: { matchLabels: { a: 'b' } }, template: 7 },
      {
        replicas: -3,
        selector: { matchLabels: { a: 'b' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: 'lots' } },
      },
      { replicas: 1e9, selector: { matchExpressions: [{ key: 'k', operator: 'In', values: [] }] } },
      { template: { spec: { containers: 'none' } }, selector: { matchLabels: { app: 'odd' } } },
      ...junk.map((sel) => ({ selector: sel, template: { metadata: { labels: null } } })),
    ]) {
      i++;
      for (const [g, plural] of [
        ['apps', 'deployments'],
        ['apps', 'replicasets'],
        ['apps', 'daemonsets'],
        ['apps', 'statefulsets'],
        ['batch', 'jobs'],
        ['batch', 'cronjobs'],
        ['policy', 'poddisruptionbudgets'],
        ['autoscaling', 'horizontalpodautoscalers'],
        ['core', 'services'],
        ['core', 'resourcequotas'],
        ['core', 'persistentvolumeclaims'],
      ])
        await raw(g, plural, `odd-${i}`, { spec, status: i % 2 ? 'broken' : { conditions: 'x', active: 3 } });
    }
    await raw('core', 'pods', 'odd-pod', {
      spec: { nodeName: 5, containers: null },
      status: { phase: 7, conditions: {} },
    });
    await raw('apps', 'controllerrevisions', 'odd-rev', { data: 'x', revision: 'y' });
    await raw('core', 'nodes', '', {});
    // Retries of failing syncs back off; a controller looping on a bad object would keep going.
    // Wait (up to 60 s, the machine may be loaded) for a 2 s window with fewer than 10 requests/s.
    const count = () => env.api.requests.get('skiff-controllers') ?? 0;
    let rate = Number.POSITIVE_INFINITY;
    for (const end = Date.now() + 60_000; Date.now() < end && rate >= 10; ) {
      const before = count();
      await new Promise((r) => setTimeout(r, 2000));
      rate = (count() - before) / 2;
    }
    assert.ok(rate < 10, `controllers settle down with garbage around (${rate.toFixed(1)} requests/s)`);
    // And they still work.
    await env.post(D, deploy('after', 2));
    await until('a new deployment rolls out', ready('after', 2), 15_000);
  });
});
