// Parsing manifests, indexes and configs from bytes: JSON → media type detection → schema
// validation, with errors that name the media type and the failing field.
import type { z } from 'zod';
import { invalidArgument } from '../../common/index.js';
import { MediaType, unsupportedReason } from './media-types.js';
import {
  DockerManifestListSchema,
  DockerManifestSchema,
  ImageConfigSchema,
  OciIndexSchema,
  OciManifestSchema,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from './schemas.js';

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

/** Validates `data` against `schema`; the error names `what` and each failing field. */
export function validate<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => ({ field: i.path.join('.') || '(root)', message: i.message }));
  const first = details[0];
  throw invalidArgument(`invalid ${what}: ${first.field}: ${first.message}`, { field: first.field, details });
}

function parseJson(bytes: Uint8Array | string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw invalidArgument(`invalid ${what}: not JSON (${(e as Error).message})`, { field: what });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw invalidArgument(`invalid ${what}: want a JSON object`, { field: what });
  return v as Record<string, unknown>;
}

/** Works out a manifest's media type from its `mediaType` field, else the given one (e.g. the
 *  Content-Type header), else its shape. */
export function detectManifestMediaType(doc: Record<string, unknown>, hint?: string): string {
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  if (doc.schemaVersion === 1) return MediaType.DockerSchema1Manifest;
  if (hint && hint !== 'application/json' && hint !== 'application/octet-stream') return hint.split(';')[0].trim();
  if (Array.isArray(doc.manifests)) return MediaType.OciIndex;
  if (doc.config && typeof doc.config === 'object' && Array.isArray(doc.layers)) return MediaType.OciManifest;
  throw invalidArgument('invalid manifest: no mediaType, and neither "manifests" nor "config"/"layers" present', {
    field: 'mediaType',
  });
}

/** Parses a manifest or index (OCI or Docker schema2); rejects anything else naming its type. */
export function parseManifest(bytes: Uint8Array | string, mediaTypeHint?: string): ParsedManifest {
  const doc = parseJson(bytes, 'manifest');
  const mediaType = detectManifestMediaType(doc, mediaTypeHint);
  const why = unsupportedReason(mediaType);
  if (why) throw invalidArgument(why, { field: 'mediaType', reason: 'UnsupportedMediaType' });
  if (typeof doc.mediaType === 'string' && mediaTypeHint && !mediaTypeHint.startsWith('application/json')) {
    const hint = mediaTypeHint.split(';')[0].trim();
    if (hint !== doc.mediaType && hint !== 'application/octet-stream') {
      throw invalidArgument(
        `manifest media type mismatch: Content-Type is ${hint} but the document says ${doc.mediaType}`,
        { field: 'mediaType' },
      );
    }
  }
  switch (mediaType) {
    case MediaType.OciManifest:
      return {
        kind: 'manifest',
        mediaType,
        manifest: validate(OciManifestSchema, doc, `OCI image manifest (${mediaType})`),
      };
    case MediaType.DockerManifest:
      return {
        kind: 'manifest',
        mediaType,
        manifest: validate(DockerManifestSchema, doc, `Docker image manifest (${mediaType})`),
      };
    case MediaType.OciIndex:
      return { kind: 'index', mediaType, index: validate(OciIndexSchema, doc, `OCI image index (${mediaType})`) };
    case MediaType.DockerManifestList:
      return {
        kind: 'index',
        mediaType,
        index: validate(DockerManifestListSchema, doc, `Docker manifest list (${mediaType})`),
      };
  }
  throw invalidArgument(
    `unsupported manifest media type ${JSON.stringify(mediaType)}: want an OCI image manifest or index, or a Docker schema2 manifest or manifest list`,
    { field: 'mediaType', reason: 'UnsupportedMediaType' },
  );
}

/** Parses an image config blob (OCI or Docker container.image.v1). */
export function parseImageConfig(bytes: Uint8Array | string, mediaType: string = MediaType.OciConfig): ImageConfig {
  if (mediaType !== MediaType.OciConfig && mediaType !== MediaType.DockerConfig) {
    throw invalidArgument(
      `unsupported image config media type ${JSON.stringify(mediaType)}: want ${MediaType.OciConfig} or ${MediaType.DockerConfig}`,
      { field: 'config.mediaType', reason: 'UnsupportedMediaType' },
    );
  }
  return validate(ImageConfigSchema, parseJson(bytes, 'image config'), `image config (${mediaType})`);
}

/** Canonical JSON bytes for a document Skiff writes (stable key order as given). */
export function toJsonBytes(doc: unknown): Buffer {
  return Buffer.from(JSON.stringify(doc));
}
