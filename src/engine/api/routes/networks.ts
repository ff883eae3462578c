// /networks/...: the Networks API surface (records; the data plane is the NetworkDriver's).
import { sendJson, type Router } from '../router.js';
import type { NetworksBackend } from '../backends.js';

export function register(r: Router, b: NetworksBackend): void {
  r.get('/networks', (q) => b.list(q.query.filters()));
  // `verbose` and `scope` concern swarm services only: a local network always lists its containers.
  r.get('/networks/:id', (q) => b.view(b.find(q.params.id), true));
  r.post('/networks/create', async (q) =>
    sendJson(q.res, 201, await b.create((await q.json()) as Record<string, unknown> | undefined)),
  );
  r.delete('/networks/:id', async (q) => {
    await b.remove(q.params.id);
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/networks/:id/connect', async (q) => {
    await b.connect(q.params.id, await q.json());
    sendJson(q.res, 200, undefined);
  });
  r.post('/networks/:id/disconnect', async (q) => {
    await b.disconnect(q.params.id, await q.json());
    sendJson(q.res, 200, undefined);
  });
  r.post('/networks/prune', (q) => b.prune(q.query.filters()));
}
