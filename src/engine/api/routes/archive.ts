// /containers/{id}/archive: `docker cp` in both directions (HEAD stat, GET tar, PUT tar).
import type { Router } from '../router.js';
import type { ArchiveBackend } from '../backends.js';

const statHeader = (s: object) => Buffer.from(JSON.stringify(s)).toString('base64');

export function register(r: Router, b: ArchiveBackend): void {
  r.head('/containers/:id/archive', async (q) => {
    const st = await b.archiveStat(q.params.id, q.query.str('path') ?? '');
    q.res.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(st), 'Content-Type': 'application/json' });
    q.res.end();
  });
  r.get('/containers/:id/archive', async (q) => {
    const { stat, tar, done } = await b.archiveGet(q.params.id, q.query.str('path') ?? '');
    q.res.writeHead(200, { 'X-Docker-Container-Path-Stat': statHeader(stat), 'Content-Type': 'application/x-tar' });
    tar.pipe(q.res);
    await done.catch(() => q.res.destroy());
    await new Promise((res) => q.res.on('finish', res).on('close', res));
  });
  r.put('/containers/:id/archive', async (q) => {
    await b.archivePut(q.params.id, q.query.str('path') ?? '', q.bodyStream() as AsyncIterable<Buffer>, {
      noOverwriteDirNonDir: q.query.bool('noOverwriteDirNonDir'),
      copyUIDGID: q.query.bool('copyUIDGID'),
    });
    q.res.writeHead(200);
    q.res.end();
  });
}
