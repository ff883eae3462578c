import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkManifest, MT } from './manifest-check.js';
import { checkName, checkDigest } from './names.js';
import { paginate } from './http.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;

test('checkManifest: OCI manifest, Docker list; errors name the field', () => {
  const m = checkManifest(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('a'), size: 2 },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('b'), size: 3 },
          {
            mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
            digest: d('c'),
            size: 3,
            urls: ['https://x'],
          },
        ],
      }),
    ),
    undefined,
  );
  assert.equal(m.mediaType, MT.ociManifest);
  assert.deepEqual(m.blobs, [d('a'), d('b')], 'foreign layers are not required');
  const l = checkManifest(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.dockerList,
        manifests: [
          { mediaType: MT.dockerManifest, digest: d('e'), size: 5, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    ),
    MT.dockerList,
  );
  assert.deepEqual(l.manifests, [d('e')]);
  assert.throws(() => checkManifest(Buffer.from('{"schemaVersion":1}'), MT.dockerSchema1), /schema1/);
  assert.throws(
    () =>
      checkManifest(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            config: { mediaType: 'x/y', digest: d('a'), size: 1 },
            layers: [{ mediaType: 'x/y', digest: 'sha256:1', size: 1 }],
          }),
        ),
        MT.ociManifest,
      ),
    /layers\[0\]\.digest/,
  );
  assert.throws(() => checkManifest(Buffer.from('[]'), MT.ociManifest), /JSON object/);
  assert.throws(() => checkManifest(Buffer.from('{}'), 'application/json'), /mediaType/);
});

test('names, digests and pagination', () => {
  for (const ok of ['a', 'library/busybox', 'a-b/c__d/e.f']) assert.equal(checkName(ok), ok);
  for (const bad of ['A', 'a/../b', '_a', 'a//b', 'a/', '-a'])
    assert.throws(() => checkName(bad), /invalid repository name/);
  assert.throws(() => checkDigest('sha512:' + 'a'.repeat(128)), /only sha256/);
  assert.throws(() => checkDigest('sha256:ABC'), /invalid digest/);
  assert.deepEqual(paginate(['a', 'b', 'c'], { n: 2 }), { items: ['a', 'b'], next: 'b' });
  assert.deepEqual(paginate(['a', 'b', 'c'], { n: 2, last: 'b' }), { items: ['c'] });
  assert.deepEqual(paginate(['a', 'b', 'c'], { n: 0 }), { items: [], next: undefined });
});
