// Pod GC against the in-process API server with a simulated node: finished pods beyond the
// threshold go oldest first; pods bound to a node that does not exist go after the quarantine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let P: string;
before(async () => {
  env = await startControllerEnv({
    controllers: ['pod-garbage-collector'],
    nodes: ['n1'],
    sim: { behavior: () => 'succeed' },
    options: { podGC: { terminatedThreshold: 2, periodMs: 100, quarantineMs: 300 } },
  });
  P = `/api/v1/namespaces/${env.ns}/pods`;
});
after(() => env?.close());

describe('pod garbage collector', () => {
  it('keeps the newest finished pods up to the threshold', async () => {
    const mk = (name: string) =>
      env.post(P, { metadata: { name }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
    await mk('done-0');
    await mk('done-1');
    await new Promise((r) => setTimeout(r, 1100)); // creation timestamps have second precision
    await mk('done-2');
    await mk('done-3');
    await until('the 2 oldest collected', async () => (await env.get(P)).items.length === 2);
    assert.deepEqual((await env.get(P)).items.map((p: any) => p.metadata.name).sort(), ['done-2', 'done-3']);
  });

  it('deletes pods bound to a node that does not exist', async () => {
    await env.post(P, {
      metadata: { name: 'lost' },
      spec: { nodeName: 'ghost', containers: [{ name: 'c', image: 'x' }] },
    });
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(await env.maybe(`${P}/lost`), 'not before the quarantine');
    await until('orphan collected', async () => !(await env.maybe(`${P}/lost`)));
  });
});
