import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType, layerCompression } from './media-types.js';
import { parseManifest, parseImageConfig } from './parse.js';
import { parsePlatform, selectManifest, formatPlatform } from './platform.js';
import { isSkiffError } from '../../common/index.js';

const D = (c: string) => 'sha256:' + c.repeat(64);
const desc = (mediaType: string, c = 'a', extra = {}) => ({ mediaType, digest: D(c), size: 10, ...extra });

test('manifests: OCI and Docker schema2, detected and validated', () => {
  const oci = parseManifest(
    JSON.stringify({
      schemaVersion: 2,
      config: desc(MediaType.OciConfig),
      layers: [desc(MediaType.OciLayerGzip, 'b')],
    }),
  );
  assert.equal(oci.kind, 'manifest');
  assert.equal(oci.mediaType, MediaType.OciManifest);
  const docker = parseManifest(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: desc(MediaType.DockerConfig),
      layers: [desc(MediaType.DockerLayerGzip)],
    }),
  );
  assert.equal(docker.mediaType, MediaType.DockerManifest);
  const list = parseManifest(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifestList,
      manifests: [desc(MediaType.DockerManifest, 'c', { platform: { os: 'linux', architecture: 'amd64' } })],
    }),
  );
  assert.equal(list.kind, 'index');
  const idx = parseManifest(JSON.stringify({ schemaVersion: 2, manifests: [] }), MediaType.OciIndex);
  assert.equal(idx.mediaType, MediaType.OciIndex);
});

test('unsupported and invalid manifests are rejected naming the media type or field', () => {
  const rej = (doc: unknown, re: RegExp, hint?: string) =>
    assert.throws(
      () => parseManifest(JSON.stringify(doc), hint),
      (e: unknown) => {
        assert.ok(isSkiffError(e, 'InvalidArgument'), String(e));
        assert.match((e as Error).message, re);
        return true;
      },
    );
  rej({ schemaVersion: 1, name: 'x', fsLayers: [] }, /manifest\.v1\+json/);
  rej({ schemaVersion: 2, mediaType: MediaType.DockerSchema1SignedManifest }, /prettyjws/);
  rej({ schemaVersion: 2, mediaType: 'application/vnd.example+json' }, /vnd\.example\+json/);
  rej(
    { schemaVersion: 2, config: { mediaType: MediaType.OciConfig, digest: 'sha256:x', size: 1 }, layers: [] },
    /config\.digest/,
  );
  rej(
    { schemaVersion: 2, config: desc(MediaType.OciConfig), layers: [{ ...desc(MediaType.OciLayer), size: -1 }] },
    /layers\.0\.size/,
  );
  rej({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: desc(MediaType.DockerConfig) }, /layers/);
  rej(
    { schemaVersion: 2, mediaType: MediaType.OciManifest, config: desc(MediaType.OciConfig), layers: [] },
    /mismatch/,
    MediaType.DockerManifest,
  );
  assert.throws(() => parseManifest('{not json'), /not JSON/);
});

test('layer media types: gzip, uncompressed, zstd; foreign and encrypted rejected', () => {
  assert.equal(layerCompression(MediaType.DockerLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.OciLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.OciLayer), 'none');
  assert.equal(layerCompression(MediaType.OciLayerZstd), 'zstd');
  assert.throws(() => layerCompression(MediaType.DockerForeignLayerGzip), /foreign.*foreign\.diff\.tar\.gzip/);
  assert.throws(
    () => layerCompression('application/vnd.oci.image.layer.v1.tar+gzip+encrypted'),
    /encrypted.*\+encrypted/,
  );
  assert.throws(() => layerCompression('application/x-foo'), /application\/x-foo/);
});

test('image config validated', () => {
  const cfg = parseImageConfig(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [D('a')] },
      config: { Cmd: ['sh'] },
      extra: 1,
    }),
  );
  assert.deepEqual(cfg.config?.Cmd, ['sh']);
  assert.equal((cfg as Record<string, unknown>).extra, 1);
  assert.throws(
    () => parseImageConfig(JSON.stringify({ os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })),
    /architecture/,
  );
  assert.throws(() => parseImageConfig('{}', 'application/x'), /unsupported image config media type/);
});

test('platform parsing and selection with variants', () => {
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.equal(formatPlatform({ os: 'linux', architecture: 'aarch64' }), 'linux/arm64');
  assert.throws(() => parsePlatform('linux/a b'), /invalid platform/);
  const ms = [
    desc(MediaType.OciManifest, '1', { platform: { os: 'linux', architecture: 'amd64' } }),
    desc(MediaType.OciManifest, '2', { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
    desc(MediaType.OciManifest, '3', { platform: { os: 'linux', architecture: 'arm', variant: 'v6' } }),
    desc(MediaType.OciManifest, '4', { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }),
    desc(MediaType.OciManifest, '5', { platform: { os: 'unknown', architecture: 'unknown' } }),
    desc(MediaType.OciManifest, '6', { platform: { os: 'windows', architecture: 'amd64' } }),
  ];
  assert.equal(selectManifest(ms).digest, D('1'));
  assert.equal(selectManifest(ms, parsePlatform('linux/arm64')).digest, D('2'));
  assert.equal(selectManifest(ms, parsePlatform('linux/arm/v7')).digest, D('4'));
  assert.equal(
    selectManifest(
      ms.filter((m) => m.digest !== D('4')),
      parsePlatform('linux/arm/v7'),
    ).digest,
    D('3'),
  );
  assert.equal(selectManifest(ms, parsePlatform('windows/amd64')).digest, D('6'));
  assert.throws(
    () => selectManifest(ms, parsePlatform('linux/s390x')),
    (e: unknown) => isSkiffError(e, 'NotFound') && /linux\/s390x.*linux\/amd64/.test((e as Error).message),
  );
});
