// ADD <url>: the file is downloaded before the step's cache lookup, so its content hash is part of
// the cache key (a changed remote file rebuilds the step, an unchanged one is a cache hit), as
// with the classic builder. Remote files are never extracted; they get mode 0600 and the
// Last-Modified time when the server sends one.
import { createWriteStream, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, unavailable } from '../../common/index.js';

export interface Download {
  url: string;
  file: string;
  name: string;
  sha256: string;
  mtime?: Date;
}

function fileName(u: URL, where: string): string {
  const base = posix.basename(decodeURIComponent(u.pathname));
  if (!base || base === '/' || base === '.' || base === '..')
    throw invalidArgument(`${where}: cannot determine a file name from ${u.href}; give ADD a destination file name`, {
      field: 'source',
    });
  return base;
}

export async function download(
  url: string,
  dir: string,
  index: string,
  where: string,
  signal?: AbortSignal,
): Promise<Download> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidArgument(`${where}: invalid URL ${url}`, { field: 'source' });
  }
  const name = fileName(u, where);
  let res: Response;
  const timeout = AbortSignal.timeout(120_000);
  try {
    res = await fetch(u, { redirect: 'follow', signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  } catch (e) {
    const c = (e as Error).cause;
    throw unavailable(`${where}: failed to fetch ${url}: ${c instanceof Error ? c.message : (e as Error).message}`, {
      field: 'source',
      cause: e,
    });
  }
  if (!res.ok || !res.body) {
    // the response is refused anyway; cancelling its body only frees the socket early
    await res.body?.cancel().catch(() => undefined);
    throw unavailable(`${where}: failed to fetch ${url}: ${res.status} ${res.statusText}`, { field: 'source' });
  }
  const file = join(dir, `download-${index}`);
  const h = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      tap,
      createWriteStream(file, { mode: 0o600 }),
    );
  } catch (e) {
    throw unavailable(`${where}: failed to fetch ${url}: ${(e as Error).message}`, { field: 'source', cause: e });
  }
  const lm = res.headers.get('last-modified');
  const mtime = lm && !Number.isNaN(Date.parse(lm)) ? new Date(lm) : undefined;
  statSync(file);
  return { url, file, name, sha256: h.digest('hex'), mtime };
}
