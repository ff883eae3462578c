// Blob uploads: POST (session, monolithic with ?digest=, or cross-repo ?mount=&from=), PATCH chunks
// with Content-Range, PUT to finish with ?digest=, GET status, DELETE cancel.
import { regError } from './errors.js';
import { send, drain, type Ctx } from './http.js';
import { checkDigest, checkName } from './names.js';
import type { RegistryStorage } from './storage.js';
import type { Uploads, UploadSession } from './uploads.js';

export interface UploadDeps {
  storage: RegistryStorage;
  uploads: Uploads;
  canPull: (name: string) => Promise<boolean>;
}

function sessionHeaders(ctx: Ctx, s: UploadSession): Record<string, string | number> {
  return {
    Location: `${ctx.base}/v2/${s.name}/blobs/uploads/${s.uuid}`,
    Range: `0-${s.size > 0 ? s.size - 1 : 0}`,
    'Docker-Upload-UUID': s.uuid,
  };
}

function contentLength(ctx: Ctx): number | undefined {
  const v = ctx.req.headers['content-length'];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw regError('SIZE_INVALID', `invalid Content-Length ${JSON.stringify(v)}`);
  return n;
}

function created(ctx: Ctx, name: string, digest: string): void {
  send(ctx.res, 201, { Location: `${ctx.base}/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

export async function postUpload(ctx: Ctx, d: UploadDeps, name: string): Promise<void> {
  const q = ctx.url.searchParams;
  const mount = q.get('mount');
  const from = q.get('from');
  if (mount) {
    const digest = checkDigest(mount, 'mount');
    if (from) {
      checkName(from);
      // Mount only from a repository the caller may read and that really holds the blob.
      if ((await d.storage.layerSize(from, digest)) !== undefined && (await d.canPull(from))) {
        drain(ctx.req);
        await d.storage.linkLayer(name, digest);
        created(ctx, name, digest);
        return;
      }
    } else if ((await d.storage.layerSize(name, digest)) !== undefined) {
      drain(ctx.req);
      created(ctx, name, digest);
      return;
    }
    // Not mountable: fall through to an ordinary session, as the spec asks.
  }
  const digestParam = q.get('digest');
  const s = await d.uploads.start(name);
  if (digestParam) {
    const digest = checkDigest(digestParam);
    try {
      await d.uploads.append(s, ctx.req, { length: contentLength(ctx) });
      await d.uploads.finish(s, digest);
    } catch (e) {
      await d.uploads.cancel(s);
      throw e;
    }
    created(ctx, name, digest);
    return;
  }
  drain(ctx.req);
  send(ctx.res, 202, sessionHeaders(ctx, s));
}

function parseContentRange(h: string | undefined): { start: number; end: number } | undefined {
  if (h === undefined) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(h.trim());
  if (!m) throw regError('RANGE_INVALID', `invalid Content-Range ${JSON.stringify(h)}: want <start>-<end>`);
  const r = { start: Number(m[1]), end: Number(m[2]) };
  if (r.end < r.start) throw regError('RANGE_INVALID', `invalid Content-Range ${h}: end before start`);
  return r;
}

export async function patchUpload(ctx: Ctx, d: UploadDeps, name: string, uuid: string): Promise<void> {
  const s = await d.uploads.get(name, uuid);
  const range = parseContentRange(ctx.req.headers['content-range']);
  await d.uploads.append(s, ctx.req, { start: range?.start, end: range?.end, length: contentLength(ctx) });
  send(ctx.res, 202, sessionHeaders(ctx, s));
}

export async function putUpload(ctx: Ctx, d: UploadDeps, name: string, uuid: string): Promise<void> {
  const s = await d.uploads.get(name, uuid);
  const raw = ctx.url.searchParams.get('digest');
  if (!raw) {
    drain(ctx.req);
    throw regError('DIGEST_INVALID', 'finishing an upload needs ?digest=sha256:…', undefined, 'digest');
  }
  const digest = checkDigest(raw);
  const len = contentLength(ctx);
  if (len !== 0 && (len !== undefined || ctx.req.headers['transfer-encoding'])) {
    const range = parseContentRange(ctx.req.headers['content-range']);
    await d.uploads.append(s, ctx.req, { start: range?.start, end: range?.end, length: len });
  } else drain(ctx.req);
  await d.uploads.finish(s, digest);
  created(ctx, name, digest);
}

export async function getUpload(ctx: Ctx, d: UploadDeps, name: string, uuid: string): Promise<void> {
  const s = await d.uploads.get(name, uuid);
  send(ctx.res, 204, sessionHeaders(ctx, s));
}

export async function deleteUpload(ctx: Ctx, d: UploadDeps, name: string, uuid: string): Promise<void> {
  const s = await d.uploads.get(name, uuid);
  await d.uploads.cancel(s);
  send(ctx.res, 204);
}
