// zod schemas (which are also the types) for OCI image manifest, index and config, and Docker's
// schema2 manifest and manifest list. Objects are "loose": unknown fields are kept, since a
// manifest's bytes are content-addressed and later spec versions add fields.
import { z } from 'zod';
import { MediaType } from './media-types.js';

const digestRe = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
export const DigestSchema = z.string().regex(digestRe, 'invalid digest (want sha256:<64 hex>)');
const annotations = z.record(z.string(), z.string());

export const PlatformSchema = z.looseObject({
  architecture: z.string().min(1),
  os: z.string().min(1),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});
export type Platform = z.infer<typeof PlatformSchema>;

export const DescriptorSchema = z.looseObject({
  mediaType: z.string().min(1),
  digest: DigestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotations.optional(),
  data: z.string().optional(),
  platform: PlatformSchema.optional(),
  artifactType: z.string().optional(),
});
export type Descriptor = z.infer<typeof DescriptorSchema>;

export const OciManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaType.OciManifest).optional(),
  artifactType: z.string().optional(),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: annotations.optional(),
});
export type OciManifest = z.infer<typeof OciManifestSchema>;

export const OciIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaType.OciIndex).optional(),
  artifactType: z.string().optional(),
  manifests: z.array(DescriptorSchema),
  subject: DescriptorSchema.optional(),
  annotations: annotations.optional(),
});
export type OciIndex = z.infer<typeof OciIndexSchema>;

export const DockerManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaType.DockerManifest),
  config: DescriptorSchema,
  layers: z.array(DescriptorSchema),
});
export type DockerManifest = z.infer<typeof DockerManifestSchema>;

export const DockerManifestListSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.literal(MediaType.DockerManifestList),
  manifests: z.array(DescriptorSchema.extend({ platform: PlatformSchema.optional() })),
});
export type DockerManifestList = z.infer<typeof DockerManifestListSchema>;

/** Either manifest flavour, as the rest of Skiff sees it. */
export type ImageManifest = OciManifest | DockerManifest;
export type ImageIndex = OciIndex | DockerManifestList;

const strList = z.array(z.string()).nullish();
export const HealthcheckSchema = z.looseObject({
  Test: strList,
  Interval: z.number().optional(),
  Timeout: z.number().optional(),
  StartPeriod: z.number().optional(),
  StartInterval: z.number().optional(),
  Retries: z.number().optional(),
});

/** The execution parameters of an image ("config" within the config blob). */
export const ImageRunConfigSchema = z.looseObject({
  User: z.string().optional(),
  ExposedPorts: z.record(z.string(), z.looseObject({})).nullish(),
  Env: strList,
  Entrypoint: strList,
  Cmd: strList,
  Volumes: z.record(z.string(), z.looseObject({})).nullish(),
  WorkingDir: z.string().optional(),
  Labels: z.record(z.string(), z.string()).nullish(),
  StopSignal: z.string().optional(),
  ArgsEscaped: z.boolean().optional(),
  Healthcheck: HealthcheckSchema.nullish(),
  OnBuild: strList,
  Shell: strList,
});
export type ImageRunConfig = z.infer<typeof ImageRunConfigSchema>;

export const HistorySchema = z.looseObject({
  created: z.string().optional(),
  created_by: z.string().optional(),
  author: z.string().optional(),
  comment: z.string().optional(),
  empty_layer: z.boolean().optional(),
});
export type History = z.infer<typeof HistorySchema>;

/** OCI image config (Docker's container.image.v1 is the same shape plus legacy fields). */
export const ImageConfigSchema = z.looseObject({
  created: z.string().optional(),
  author: z.string().optional(),
  architecture: z.string().min(1),
  os: z.string().min(1),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  config: ImageRunConfigSchema.nullish(),
  rootfs: z.looseObject({ type: z.literal('layers'), diff_ids: z.array(DigestSchema) }),
  history: z.array(HistorySchema).optional(),
});
export type ImageConfig = z.infer<typeof ImageConfigSchema>;

/** `oci-layout` file of an OCI image layout. */
export const OciLayoutSchema = z.looseObject({ imageLayoutVersion: z.string() });
