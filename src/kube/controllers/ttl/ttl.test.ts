// TTL controller: every node gets upstream's node.alpha.kubernetes.io/ttl for the cluster's size
// (0 s for a small cluster, as kube-controller-manager 1.32 writes it: found by the controllers
// differential), put back when removed; the size steps keep upstream's overlap.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';
import { TTL_ANNOTATION, ttlStep } from './controller.js';

let env: ControllerEnv;
before(async () => {
  env = await startControllerEnv({ controllers: ['ttl'], nodes: ['n1', 'n2'] });
});
after(() => env?.close());

describe('ttl controller', () => {
  it('annotates every node with ttl 0 in a small cluster, again after the annotation is removed', async () => {
    const ttl = async (n: string) => (await env.get(`/api/v1/nodes/${n}`)).metadata.annotations?.[TTL_ANNOTATION];
    await until('both annotated', async () => (await ttl('n1')) === '0' && (await ttl('n2')) === '0');
    await env.patch('/api/v1/nodes/n1', { metadata: { annotations: { [TTL_ANNOTATION]: null } } });
    await until('put back', async () => (await ttl('n1')) === '0');
  });

  it('steps up past a boundary and down only below the next one (hysteresis)', () => {
    assert.equal(ttlStep(0, 100), 0);
    assert.equal(ttlStep(0, 101), 1); // 15 s
    assert.equal(ttlStep(1, 95), 1); // still within [90, 500]
    assert.equal(ttlStep(1, 89), 0);
    assert.equal(ttlStep(0, 5000), 4); // 300 s
    assert.equal(ttlStep(4, 20000), 5); // 600 s
  });
});
