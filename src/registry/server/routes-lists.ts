// Listings: tags (paginated), catalog (paginated), referrers (OCI index, artifactType filter).
import { regError } from './errors.js';
import { sendJson, page, paginate, type Ctx } from './http.js';
import { checkDigest } from './names.js';
import { MT } from './manifest-check.js';
import type { RegistryStorage } from './storage.js';

function link(path: string, next: string, n: number): Record<string, string> {
  return { Link: `<${path}?last=${encodeURIComponent(next)}&n=${n}>; rel="next"` };
}

export async function listTags(ctx: Ctx, storage: RegistryStorage, name: string): Promise<void> {
  if (!(await storage.repoExists(name)))
    throw regError('NAME_UNKNOWN', `repository ${name} is not known to this registry`, { name });
  const p = page(ctx.url);
  const { items, next } = paginate(await storage.tags(name), p);
  sendJson(ctx.res, 200, { name, tags: items }, next ? link(`/v2/${name}/tags/list`, next, p.n!) : {});
}

export async function catalog(ctx: Ctx, storage: RegistryStorage): Promise<void> {
  const p = page(ctx.url);
  const { items, next } = paginate(await storage.repositories(), p);
  sendJson(ctx.res, 200, { repositories: items }, next ? link('/v2/_catalog', next, p.n!) : {});
}

export async function referrers(ctx: Ctx, storage: RegistryStorage, name: string, digestRaw: string): Promise<void> {
  const subject = checkDigest(digestRaw);
  const filter = ctx.url.searchParams.get('artifactType');
  let manifests = await storage.referrers(name, subject);
  if (filter) manifests = manifests.filter((m) => m.artifactType === filter);
  sendJson(
    ctx.res,
    200,
    { schemaVersion: 2, mediaType: MT.ociIndex, manifests },
    {
      'Content-Type': MT.ociIndex,
      ...(filter ? { 'OCI-Filters-Applied': 'artifactType' } : {}),
    },
  );
}
