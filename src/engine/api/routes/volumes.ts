// /volumes/...: create, list, inspect, remove, prune (local driver).
import { sendJson, type Router } from '../router.js';
import type { VolumesBackend } from '../backends.js';
import type { CreateVolumeBody } from '../backends.js';
import { invalidArgument, isObject } from '../../../common/index.js';

export function register(r: Router, b: VolumesBackend): void {
  r.get('/volumes', async (q) => b.list(q.query.filters()));
  r.post('/volumes/create', async (q) => {
    const body = await q.json<CreateVolumeBody>();
    if (body !== undefined && !isObject(body)) throw invalidArgument('body: must be a JSON object', { field: 'body' });
    sendJson(q.res, 201, await b.create(body ?? {}));
  });
  r.post('/volumes/prune', async (q) => b.prune(q.query.filters()));
  r.get('/volumes/:name', async (q) => b.inspect(q.params.name));
  r.delete('/volumes/:name', async (q) => {
    await b.remove(q.params.name, { force: q.query.bool('force') });
    q.res.writeHead(204);
    q.res.end();
  });
}
