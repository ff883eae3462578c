// Blob reads and deletes: GET/HEAD with single Range support (206), DELETE unlinks from the repo.
import { promises as fs } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { regError } from './errors.js';
import { send, type Ctx } from './http.js';
import { checkDigest } from './names.js';
import type { RegistryStorage } from './storage.js';
import { internal } from '../../common/index.js';

function parseRange(h: string, size: number): { start: number; end: number } | 'invalid' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

export async function getBlob(ctx: Ctx, storage: RegistryStorage, name: string, digestRaw: string): Promise<void> {
  const digest = checkDigest(digestRaw);
  const size = await storage.layerSize(name, digest);
  if (size === undefined) throw regError('BLOB_UNKNOWN', `blob ${digest} is unknown to repository ${name}`, { digest });
  const head = ctx.req.method === 'HEAD';
  const common = {
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest}"`,
    'Content-Type': 'application/octet-stream',
    'Cache-Control': 'max-age=31536000',
  };
  const rh = ctx.req.headers.range;
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (rh && size > 0) {
    const r = parseRange(rh, size);
    if (r === 'invalid') {
      send(ctx.res, 416, { ...common, 'Content-Range': `bytes */${size}` });
      return;
    }
    if (r) {
      ({ start, end } = r);
      status = 206;
    }
  }
  const headers: Record<string, string | number> = { ...common, 'Content-Length': end - start + 1 };
  if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  if (head || size === 0) {
    send(ctx.res, status, headers);
    return;
  }
  ctx.res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
  await sendFileRange(storage.blobPath(digest), start, end, ctx.res);
}

const CHUNK = 1 << 20;

/** Streams bytes [start, end] of a file to the response through two reused 1 MB buffers: each is
 *  refilled only after the socket has taken it, which is also the back-pressure. Node has no
 *  sendfile; this keeps the copy loop free of per-chunk allocations and GC. */
async function sendFileRange(path: string, start: number, end: number, res: ServerResponse): Promise<void> {
  const fh = await fs.open(path, 'r');
  const closed = new Promise<never>((_, reject) =>
    res.once('close', () => {
      if (!res.writableFinished) reject(new Error('client went away'));
    }),
  );
  // observed by the loop below (Promise.race); this only stops an unhandled rejection
  closed.catch(() => undefined);
  try {
    const bufs = [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)];
    const inFlight: (Promise<void> | undefined)[] = [undefined, undefined];
    let pos = start;
    let i = 0;
    while (pos <= end) {
      if (inFlight[i]) await Promise.race([inFlight[i], closed]);
      const b = bufs[i];
      const { bytesRead } = await fh.read(b, 0, Math.min(CHUNK, end - pos + 1), pos);
      if (bytesRead === 0) throw internal(`blob file ${path} is shorter than expected`);
      pos += bytesRead;
      const piece = bytesRead === CHUNK ? b : b.subarray(0, bytesRead);
      inFlight[i] = new Promise<void>((resolve, reject) => {
        res.write(piece, (err) => (err ? reject(err) : resolve()));
      });
      // awaited by the loop (its rejection surfaces there); this only stops an unhandled rejection
      inFlight[i]!.catch(() => undefined);
      i ^= 1;
    }
    await Promise.race([Promise.all(inFlight), closed]);
    await new Promise<void>((resolve) => res.end(resolve));
  } finally {
    await fh.close();
  }
}

export async function deleteBlob(ctx: Ctx, storage: RegistryStorage, name: string, digestRaw: string): Promise<void> {
  const digest = checkDigest(digestRaw);
  if (!(await storage.unlinkLayer(name, digest)))
    throw regError('BLOB_UNKNOWN', `blob ${digest} is unknown to repository ${name}`, { digest });
  send(ctx.res, 202, { 'Docker-Content-Digest': digest });
}
