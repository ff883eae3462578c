// /volumes/...: create, list, inspect, remove, prune (local driver).
import { sendJson, type Router } from '../router.js';
import type { ApiContext } from '../context.js';
import type { CreateVolumeBody } from '../../services/volumes.js';
import { invalidArgument } from '../../../common/index.js';

export type VolumesBackend = Pick<ApiContext, 'volumes'>;
const volumes = (ctx: VolumesBackend) => ctx.volumes;

export function register<C extends VolumesBackend>(r: Router<C>): void {
  r.get('/volumes', async (q, ctx) => volumes(ctx).list(q.query.filters()));
  r.post('/volumes/create', async (q, ctx) => {
    const body = await q.json<CreateVolumeBody>();
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body)))
      throw invalidArgument('body: must be a JSON object', { field: 'body' });
    sendJson(q.res, 201, await volumes(ctx).create(body ?? {}));
  });
  r.post('/volumes/prune', async (q, ctx) => volumes(ctx).prune(q.query.filters()));
  r.get('/volumes/:name', async (q, ctx) => volumes(ctx).inspect(q.params.name));
  r.delete('/volumes/:name', async (q, ctx) => {
    await volumes(ctx).remove(q.params.name, { force: q.query.bool('force') });
    q.res.writeHead(204);
    q.res.end();
  });
}
