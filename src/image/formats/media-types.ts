// Media types of the OCI image spec and of Docker's schema2 format, and what Skiff does with each.
import { invalidArgument } from '../../common/index.js';
export const MediaType = {
  // OCI image-spec v1.1
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  // Docker image manifest v2 schema 2
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerPluginConfig: 'application/vnd.docker.plugin.v1+json',
  // Docker schema 1 (deprecated, unsupported)
  DockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1SignedManifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;
export type MediaTypeName = keyof typeof MediaType;

/** Media types of manifests a registry serves (Accept header order for pulls). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
];
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];
export const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest];
export const CONFIG_MEDIA_TYPES: readonly string[] = [MediaType.OciConfig, MediaType.DockerConfig];

export function isIndexMediaType(mt: string | undefined): boolean {
  return !!mt && INDEX_MEDIA_TYPES.includes(mt);
}
export function isManifestMediaType(mt: string | undefined): boolean {
  return !!mt && IMAGE_MANIFEST_MEDIA_TYPES.includes(mt);
}
export function isConfigMediaType(mt: string | undefined): boolean {
  return !!mt && CONFIG_MEDIA_TYPES.includes(mt);
}

export type Compression = 'none' | 'gzip' | 'zstd';

/** Why a media type cannot be used, or undefined if it can. */
export function unsupportedReason(mt: string): string | undefined {
  if (mt === MediaType.DockerSchema1Manifest || mt === MediaType.DockerSchema1SignedManifest) {
    return `Docker image manifest schema 1 (${mt}) is deprecated and not supported; push the image again with a current client`;
  }
  if (mt.endsWith('+encrypted')) return `encrypted layers (${mt}) are not supported`;
  if (mt === MediaType.DockerForeignLayerGzip || mt.startsWith('application/vnd.oci.image.layer.nondistributable.')) {
    return `foreign (non-distributable) layers (${mt}) are not supported: their content lives outside the registry`;
  }
  return undefined;
}

/** The compression of a layer media type; throws InvalidArgument naming an unsupported type. */
export function layerCompression(mt: string): Compression {
  switch (mt) {
    case MediaType.OciLayer:
    case MediaType.DockerLayer:
      return 'none';
    case MediaType.OciLayerGzip:
    case MediaType.DockerLayerGzip:
      return 'gzip';
    case MediaType.OciLayerZstd:
      return 'zstd';
  }
  const why = unsupportedReason(mt);
  throw invalidArgument(
    why ??
      `unsupported layer media type ${JSON.stringify(mt)}: want an OCI or Docker tar layer (uncompressed, gzip or zstd)`,
    { field: 'mediaType' },
  );
}

export function isLayerMediaType(mt: string): boolean {
  return (
    mt === MediaType.OciLayer ||
    mt === MediaType.DockerLayer ||
    mt === MediaType.OciLayerGzip ||
    mt === MediaType.DockerLayerGzip ||
    mt === MediaType.OciLayerZstd
  );
}
