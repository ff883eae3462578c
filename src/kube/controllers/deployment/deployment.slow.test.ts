// A 1000-replica Deployment on 50 simulated nodes (in-process API server, memory store): from
// creation to all pods ready, then a rolling update (25% surge / 25% unavailable) to completion.
// Prints the times; asserts the end states and that no pod beyond the 1000 + 1000 wanted was made.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Informer } from '../../client/index.js';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
const N = 1000;
before(async () => {
  env = await startControllerEnv({
    controllers: ['deployment', 'replicaset'],
    nodes: Array.from({ length: 50 }, (_, i) => `n${i}`),
  });
});
after(() => env?.close());

describe('deployment at scale', () => {
  it(`${N} replicas: created, ready, rolled out`, async () => {
    const D = `/apis/apps/v1/namespaces/${env.ns}/deployments`;
    const created = new Set<string>();
    const inf = new Informer(
      env.api.newClient(),
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      { add: (p) => created.add(p.metadata.uid ?? '') },
      { namespace: env.ns },
    );
    await inf.start();
    const done = async () => {
      const d = await env.get(`${D}/big`);
      const s = d.status ?? {};
      return (
        s.observedGeneration === d.metadata.generation &&
        s.updatedReplicas === N &&
        s.availableReplicas === N &&
        s.replicas === N
      );
    };
    let t = performance.now();
    await env.post(D, {
      metadata: { name: 'big' },
      spec: {
        replicas: N,
        selector: { matchLabels: { app: 'big' } },
        template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } },
      },
    });
    await until('all ready', done, 300_000);
    const up = performance.now() - t;
    t = performance.now();
    await env.patch(
      D + '/big',
      { spec: { template: { spec: { containers: [{ name: 'c', image: 'x:2' }] } } } },
      'application/strategic-merge-patch+json',
    );
    await until('rolled out', done, 300_000);
    const roll = performance.now() - t;
    inf.stop();
    console.log(
      `deployment ${N} replicas / 50 nodes: 0 → ${N} ready in ${(up / 1000).toFixed(1)} s; rolling update in ${(roll / 1000).toFixed(1)} s`,
    );
    assert.equal(created.size, 2 * N, 'exactly the pods wanted were created');
  });
});
