// Validation of pushed manifests: the JSON must match the schema of its media type (OCI image
// manifest/index, Docker schema2 manifest/list); errors name the offending field. The registry keeps
// the exact bytes, so this only reads them.
import { z } from 'zod';
import { regError } from './errors.js';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;
export const MANIFEST_TYPES: readonly string[] = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList];

const FOREIGN = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'must be sha256:<64 lowercase hex>');
const mediaType = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/, 'must be a media type (type/subtype)');
const descriptor = z
  .object({
    mediaType,
    digest,
    size: z.number().int().nonnegative(),
    urls: z.array(z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    artifactType: mediaType.optional(),
    platform: z
      .object({ architecture: z.string(), os: z.string(), variant: z.string().optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

const imageManifest = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: mediaType.optional(),
    config: descriptor,
    layers: z.array(descriptor),
    subject: descriptor.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();

const imageIndex = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    artifactType: mediaType.optional(),
    manifests: z.array(descriptor),
    subject: descriptor.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();

export interface CheckedManifest {
  mediaType: string;
  blobs: string[]; // config + layers that must exist in the repository
  manifests: string[]; // children of an index that must exist in the repository
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  platformChildren: { digest: string; mediaType: string; os?: string; architecture?: string; variant?: string }[];
}

function baseType(ct: string | undefined): string | undefined {
  const t = ct?.split(';')[0].trim().toLowerCase();
  return t && t !== 'application/json' && t !== 'application/octet-stream' ? t : undefined;
}

export function checkManifest(bytes: Buffer, contentType: string | undefined): CheckedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw regError('MANIFEST_INVALID', `manifest is not valid JSON: ${(e as Error).message}`, { reason: 'json' });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw regError('MANIFEST_INVALID', 'manifest must be a JSON object');
  const field = (doc as { mediaType?: unknown }).mediaType;
  const header = baseType(contentType);
  if (field !== undefined && typeof field !== 'string')
    throw regError('MANIFEST_INVALID', 'mediaType: must be a string', undefined, 'mediaType');
  if (header && field && header !== field) {
    throw regError(
      'MANIFEST_INVALID',
      `mediaType: the manifest says ${field} but Content-Type is ${header}`,
      { mediaType: field, contentType: header },
      'mediaType',
    );
  }
  let mt = header ?? (field as string | undefined);
  if (!mt) {
    // OCI makes mediaType optional; guess as distribution does (layers → manifest, manifests → index).
    const d = doc as Record<string, unknown>;
    mt = 'manifests' in d ? MT.ociIndex : 'config' in d ? MT.ociManifest : undefined;
    if (!mt)
      throw regError(
        'MANIFEST_INVALID',
        'mediaType: missing, and Content-Type does not name a manifest type',
        undefined,
        'mediaType',
      );
  }
  if (mt === MT.dockerSchema1 || mt === MT.dockerSchema1Signed) {
    throw regError(
      'MANIFEST_INVALID',
      `Docker schema1 manifests (${mt}) are not supported; push schema2 or OCI`,
      { mediaType: mt },
      'mediaType',
    );
  }
  const isIndex = mt === MT.ociIndex || mt === MT.dockerList;
  if (!isIndex && mt !== MT.ociManifest && mt !== MT.dockerManifest) {
    throw regError(
      'MANIFEST_INVALID',
      `mediaType: unsupported manifest media type ${mt}`,
      { mediaType: mt },
      'mediaType',
    );
  }
  const parsed = (isIndex ? imageIndex : imageManifest).safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map(
      (i) =>
        `${
          i.path
            .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
            .join('')
            .replace(/^\./, '') || '(root)'
        }: ${i.message}`,
    );
    throw regError(
      'MANIFEST_INVALID',
      `invalid ${mt}: ${issues.join('; ')}`,
      { mediaType: mt, issues },
      parsed.error.issues[0]?.path.join('.'),
    );
  }
  const m = parsed.data as z.infer<typeof imageManifest> & z.infer<typeof imageIndex>;
  const needed = (d: z.infer<typeof descriptor>) => !(d.urls && d.urls.length) && !FOREIGN.has(d.mediaType);
  return {
    mediaType: mt,
    blobs: isIndex ? [] : [m.config, ...m.layers].filter(needed).map((d) => d.digest),
    manifests: isIndex ? m.manifests.map((d) => d.digest) : [],
    subject: m.subject?.digest,
    artifactType: m.artifactType ?? (!isIndex ? m.config.mediaType : undefined),
    annotations: m.annotations,
    platformChildren: isIndex
      ? m.manifests.map((d) => ({
          digest: d.digest,
          mediaType: d.mediaType,
          os: d.platform?.os,
          architecture: d.platform?.architecture,
          variant: d.platform?.variant,
        }))
      : [],
  };
}
