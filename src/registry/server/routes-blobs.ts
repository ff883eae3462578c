// Blob reads and deletes: GET/HEAD with single Range support (206), DELETE unlinks from the repo.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { regError } from './errors.js';
import { send, type Ctx } from './http.js';
import { checkDigest } from './names.js';
import type { RegistryStorage } from './storage.js';

function parseRange(h: string, size: number): { start: number; end: number } | 'invalid' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number; let end: number;
  if (m[1] === '') { const suffix = Number(m[2]); start = Math.max(0, size - suffix); end = size - 1; }
  else { start = Number(m[1]); end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1); }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

export async function getBlob(ctx: Ctx, storage: RegistryStorage, name: string, digestRaw: string): Promise<void> {
  const digest = checkDigest(digestRaw);
  const size = await storage.layerSize(name, digest);
  if (size === undefined) throw regError('BLOB_UNKNOWN', `blob ${digest} is unknown to repository ${name}`, { digest });
  const head = ctx.req.method === 'HEAD';
  const common = { 'Docker-Content-Digest': digest, 'Accept-Ranges': 'bytes', ETag: `"${digest}"`, 'Content-Type': 'application/octet-stream', 'Cache-Control': 'max-age=31536000' };
  const rh = ctx.req.headers.range;
  let start = 0; let end = size - 1; let status = 200;
  if (rh && size > 0) {
    const r = parseRange(rh, size);
    if (r === 'invalid') { send(ctx.res, 416, { ...common, 'Content-Range': `bytes */${size}` }); return; }
    if (r) { ({ start, end } = r); status = 206; }
  }
  const headers: Record<string, string | number> = { ...common, 'Content-Length': end - start + 1 };
  if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  if (head || size === 0) { send(ctx.res, status, headers); return; }
  ctx.res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
  // Large reads keep syscalls few; the socket's back-pressure paces the file stream.
  await pipeline(createReadStream(storage.blobPath(digest), { start, end, highWaterMark: 1 << 20 }), ctx.res);
}

export async function deleteBlob(ctx: Ctx, storage: RegistryStorage, name: string, digestRaw: string): Promise<void> {
  const digest = checkDigest(digestRaw);
  if (!(await storage.unlinkLayer(name, digest))) throw regError('BLOB_UNKNOWN', `blob ${digest} is unknown to repository ${name}`, { digest });
  send(ctx.res, 202, { 'Docker-Content-Digest': digest });
}
