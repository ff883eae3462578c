// Manifests: GET/HEAD by tag or digest with Accept negotiation, PUT (validated, exact bytes kept,
// referenced blobs must exist, `subject` indexed for the referrers API), DELETE by digest or tag.
import { createHash } from 'node:crypto';
import { regError } from './errors.js';
import { send, readBody, type Ctx } from './http.js';
import { checkDigest, checkTag, isDigest } from './names.js';
import { checkManifest, MT } from './manifest-check.js';
import type { RegistryStorage } from './storage.js';

export const MANIFEST_LIMIT = 4 << 20;

function accepted(header: string | string[] | undefined): string[] {
  const all = Array.isArray(header) ? header.join(',') : (header ?? '');
  return all
    .split(',')
    .map((s) => s.split(';')[0].trim().toLowerCase())
    .filter(Boolean);
}

async function resolve(storage: RegistryStorage, name: string, ref: string): Promise<string> {
  if (isDigest(ref)) return checkDigest(ref);
  checkTag(ref);
  const d = await storage.resolveTag(name, ref);
  if (!d) {
    if (!(await storage.repoExists(name)))
      throw regError('NAME_UNKNOWN', `repository ${name} is not known to this registry`, { name });
    throw regError('MANIFEST_UNKNOWN', `manifest ${name}:${ref} is unknown`, { tag: ref });
  }
  return d;
}

export async function getManifest(ctx: Ctx, storage: RegistryStorage, name: string, ref: string): Promise<void> {
  let digest = await resolve(storage, name, ref);
  let link = await storage.manifestLink(name, digest);
  if (!link) throw regError('MANIFEST_UNKNOWN', `manifest ${name}@${digest} is unknown`, { digest });
  const accept = accepted(ctx.req.headers.accept);
  const ok = (t: string) =>
    accept.length === 0 || accept.includes(t) || accept.includes('*/*') || accept.includes('application/*');
  if (!ok(link.mediaType)) {
    // As distribution: a client that cannot read an index asked by tag gets the linux/amd64 image.
    let fallback = false;
    if ((link.mediaType === MT.dockerList || link.mediaType === MT.ociIndex) && !isDigest(ref)) {
      const index = JSON.parse((await storage.readBlob(digest)).toString('utf8')) as {
        manifests?: { digest: string; mediaType: string; platform?: { os?: string; architecture?: string } }[];
      };
      const child = index.manifests?.find(
        (m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64' && ok(m.mediaType),
      );
      const childLink = child && (await storage.manifestLink(name, child.digest));
      if (child && childLink) {
        digest = child.digest;
        link = childLink;
        fallback = true;
      }
    }
    if (!fallback)
      throw regError(
        'MANIFEST_UNKNOWN',
        `manifest ${name}:${ref} is ${link.mediaType}, which the Accept header (${accept.join(', ')}) does not allow`,
        { mediaType: link.mediaType },
      );
  }
  const bytes = await storage.readBlob(digest);
  const headers = {
    'Content-Type': link.mediaType,
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Content-Length': bytes.length,
  };
  if (ctx.req.method === 'HEAD') send(ctx.res, 200, headers);
  else send(ctx.res, 200, headers, bytes);
}

export async function putManifest(ctx: Ctx, storage: RegistryStorage, name: string, ref: string): Promise<void> {
  const byDigest = isDigest(ref);
  if (byDigest) checkDigest(ref);
  else checkTag(ref);
  const bytes = await readBody(ctx.req, MANIFEST_LIMIT);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (byDigest && digest !== ref)
    throw regError('DIGEST_INVALID', `manifest body has digest ${digest}, not ${ref}`, {
      expected: ref,
      actual: digest,
    });
  const m = checkManifest(bytes, ctx.req.headers['content-type']);
  for (const b of m.blobs) {
    if ((await storage.layerSize(name, b)) === undefined)
      throw regError('MANIFEST_BLOB_UNKNOWN', `blob ${b} referenced by the manifest is unknown to repository ${name}`, {
        digest: b,
      });
  }
  for (const c of m.manifests) {
    if (!(await storage.manifestLink(name, c)))
      throw regError(
        'MANIFEST_BLOB_UNKNOWN',
        `manifest ${c} referenced by the index is unknown to repository ${name}`,
        { digest: c },
      );
  }
  await storage.putManifest(name, digest, bytes, m.mediaType);
  if (!byDigest) await storage.setTag(name, ref, digest);
  const headers: Record<string, string> = {
    Location: `${ctx.base}/v2/${name}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
  };
  if (m.subject) {
    await storage.addReferrer(name, m.subject, {
      mediaType: m.mediaType,
      digest,
      size: bytes.length,
      ...(m.artifactType ? { artifactType: m.artifactType } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
    });
    headers['OCI-Subject'] = m.subject;
  }
  send(ctx.res, 201, headers);
}

export async function deleteManifest(ctx: Ctx, storage: RegistryStorage, name: string, ref: string): Promise<void> {
  if (isDigest(ref)) {
    const digest = checkDigest(ref);
    if (!(await storage.deleteManifest(name, digest)))
      throw regError('MANIFEST_UNKNOWN', `manifest ${name}@${digest} is unknown`, { digest });
  } else {
    checkTag(ref);
    if (!(await storage.deleteTag(name, ref)))
      throw regError('MANIFEST_UNKNOWN', `tag ${name}:${ref} is unknown`, { tag: ref });
  }
  send(ctx.res, 202);
}
