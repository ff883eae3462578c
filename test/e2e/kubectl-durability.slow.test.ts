// Durability: SIGKILL of `skiff server` in the middle of a write burst loses no acknowledged
// write (on SQLite and on etcd); the restarted server serves every object it acknowledged.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiffServer, sleep, suffix, type Backend } from './kubectl-harness.js';

for (const backend of ['sqlite', 'etcd'] as Backend[]) {
  describe(`SIGKILL during a write burst on ${backend}`, () => {
    it('loses no acknowledged write', async () => {
      const s = await startSkiffServer(backend);
      try {
        const ns = `burst-${suffix()}`;
        assert.equal(
          (await s.request('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: ns } }))).status,
          201,
        );
        const acked: string[] = [];
        let stop = false;
        const writer = async (w: number) => {
          for (let i = 0; !stop; i++) {
            const name = `cm-${w}-${i}`;
            try {
              const r = await s.request(
                'POST',
                `/api/v1/namespaces/${ns}/configmaps`,
                JSON.stringify({ metadata: { name }, data: { i: String(i) } }),
              );
              if (r.status === 201) acked.push(name);
            } catch {
              return; /* the server died under us: this write was not acknowledged */
            }
          }
        };
        const writers = Array.from({ length: 8 }, (_, w) => writer(w));
        while (acked.length < 100) await sleep(5);
        await s.kill();
        stop = true;
        await Promise.all(writers);
        const ackedAtKill = [...acked];
        await s.restart();
        const list = await s.request('GET', `/api/v1/namespaces/${ns}/configmaps`);
        assert.equal(list.status, 200);
        const names = new Set(
          (JSON.parse(list.body) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name),
        );
        const lost = ackedAtKill.filter((n) => !names.has(n));
        assert.deepEqual(lost, [], `${lost.length} of ${ackedAtKill.length} acknowledged writes lost`);
        assert.ok(ackedAtKill.length >= 100);
      } finally {
        await s.stop();
      }
    });
  });
}
