// /containers/{id}/archive: `docker cp` in both directions (HEAD stat, GET tar, PUT tar).
import type { Router } from '../router.js';
import type { ApiContext } from '../context.js';
import { archiveStat, archiveGet, archivePut } from '../../services/containers/archive.js';

export type ArchiveBackend = Pick<ApiContext, 'containers'>;
const svc = (ctx: ArchiveBackend) => ctx.containers;

const statHeader = (s: object) => Buffer.from(JSON.stringify(s)).toString('base64');

export function register<C extends ArchiveBackend>(r: Router<C>): void {
  r.head('/containers/:id/archive', async (q, ctx) => {
    const st = await archiveStat(svc(ctx), q.params.id, q.query.str('path') ?? '');
    q.res.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(st), 'Content-Type': 'application/json' });
    q.res.end();
  });
  r.get('/containers/:id/archive', async (q, ctx) => {
    const { stat, tar, done } = await archiveGet(svc(ctx), q.params.id, q.query.str('path') ?? '');
    q.res.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(stat), 'Content-Type': 'application/x-tar' });
    tar.pipe(q.res);
    await done.catch(() => q.res.destroy());
    await new Promise((res) => q.res.on('finish', res).on('close', res));
  });
  r.put('/containers/:id/archive', async (q, ctx) => {
    await archivePut(svc(ctx), q.params.id, q.query.str('path') ?? '', q.bodyStream() as AsyncIterable<Buffer>, {
      noOverwriteDirNonDir: q.query.bool('noOverwriteDirNonDir'),
      copyUIDGID: q.query.bool('copyUIDGID'),
    });
    q.res.writeHead(200);
    q.res.end();
  });
}
