// /networks/...: the Networks API surface (records; the data plane is the NetworkDriver's).
import { sendJson, type Router } from '../router.js';
import type { ApiContext } from '../context.js';

export type NetworksBackend = Pick<ApiContext, 'networks'>;
const nets = (ctx: NetworksBackend) => ctx.networks;

export function register<C extends NetworksBackend>(r: Router<C>): void {
  r.get('/networks', (q, ctx) => nets(ctx).list(q.query.filters()));
  // `verbose` and `scope` concern swarm services only: a local network always lists its containers.
  r.get('/networks/:id', (q, ctx) => nets(ctx).view(nets(ctx).find(q.params.id), true));
  r.post('/networks/create', async (q, ctx) =>
    sendJson(q.res, 201, await nets(ctx).create((await q.json()) as Record<string, unknown> | undefined)),
  );
  r.delete('/networks/:id', async (q, ctx) => {
    await nets(ctx).remove(q.params.id);
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/networks/:id/connect', async (q, ctx) => {
    await nets(ctx).connect(q.params.id, (await q.json()) as never);
    sendJson(q.res, 200, undefined);
  });
  r.post('/networks/:id/disconnect', async (q, ctx) => {
    await nets(ctx).disconnect(q.params.id, (await q.json()) as never);
    sendJson(q.res, 200, undefined);
  });
  r.post('/networks/prune', (q, ctx) => nets(ctx).prune(q.query.filters()));
}
