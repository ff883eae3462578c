import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference, validateRepositoryPath, familiarString } from './parse.js';
import { isSkiffError } from '../../common/index.js';

const D = 'sha256:' + 'a'.repeat(64);

// input → [canonical toString(), familiarName(), domain, path, tag, digest]
const OK: [string, string, string, string, string, string | undefined, string | undefined][] = [
  ['busybox', 'docker.io/library/busybox:latest', 'busybox', 'docker.io', 'library/busybox', 'latest', undefined],
  ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox', 'docker.io', 'library/busybox', '1.36', undefined],
  [
    'library/busybox',
    'docker.io/library/busybox:latest',
    'busybox',
    'docker.io',
    'library/busybox',
    'latest',
    undefined,
  ],
  [
    'docker.io/busybox',
    'docker.io/library/busybox:latest',
    'busybox',
    'docker.io',
    'library/busybox',
    'latest',
    undefined,
  ],
  [
    'index.docker.io/busybox',
    'docker.io/library/busybox:latest',
    'busybox',
    'docker.io',
    'library/busybox',
    'latest',
    undefined,
  ],
  [
    'docker.io/library/busybox:latest',
    'docker.io/library/busybox:latest',
    'busybox',
    'docker.io',
    'library/busybox',
    'latest',
    undefined,
  ],
  ['user/app', 'docker.io/user/app:latest', 'user/app', 'docker.io', 'user/app', 'latest', undefined],
  ['library/a/b', 'docker.io/library/a/b:latest', 'library/a/b', 'docker.io', 'library/a/b', 'latest', undefined],
  ['localhost/app', 'localhost/app:latest', 'localhost/app', 'localhost', 'app', 'latest', undefined],
  ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000/a/b', 'localhost:5000', 'a/b', 'tag', undefined],
  ['host:5000/a/b:tag', 'host:5000/a/b:tag', 'host:5000/a/b', 'host:5000', 'a/b', 'tag', undefined],
  [
    '127.0.0.1:5000/app',
    '127.0.0.1:5000/app:latest',
    '127.0.0.1:5000/app',
    '127.0.0.1:5000',
    'app',
    'latest',
    undefined,
  ],
  ['[::1]:5000/app:v1', '[::1]:5000/app:v1', '[::1]:5000/app', '[::1]:5000', 'app', 'v1', undefined],
  [
    'example.com/foo/bar',
    'example.com/foo/bar:latest',
    'example.com/foo/bar',
    'example.com',
    'foo/bar',
    'latest',
    undefined,
  ],
  ['Example.com/foo', 'Example.com/foo:latest', 'Example.com/foo', 'Example.com', 'foo', 'latest', undefined],
  ['FOO/bar', 'FOO/bar:latest', 'FOO/bar', 'FOO', 'bar', 'latest', undefined],
  [`busybox@${D}`, `docker.io/library/busybox@${D}`, 'busybox', 'docker.io', 'library/busybox', undefined, D],
  [`busybox:1.0@${D}`, `docker.io/library/busybox:1.0@${D}`, 'busybox', 'docker.io', 'library/busybox', '1.0', D],
  [`host:5000/app@${D}`, `host:5000/app@${D}`, 'host:5000/app', 'host:5000', 'app', undefined, D],
  [
    'foo__bar/a.b-c',
    'docker.io/foo__bar/a.b-c:latest',
    'foo__bar/a.b-c',
    'docker.io',
    'foo__bar/a.b-c',
    'latest',
    undefined,
  ],
  ['foo--bar', 'docker.io/library/foo--bar:latest', 'foo--bar', 'docker.io', 'library/foo--bar', 'latest', undefined],
  ['a:Tag_1.x-Y', 'docker.io/library/a:Tag_1.x-Y', 'a', 'docker.io', 'library/a', 'Tag_1.x-Y', undefined],
];

test('references normalise as Docker does', () => {
  for (const [input, canonical, familiar, domain, path, tag, digest] of OK) {
    const r = parseReference(input);
    assert.equal(r.toString(), canonical, input);
    assert.equal(r.familiarName(), familiar, input);
    assert.deepEqual([r.domain, r.path, r.tag, r.digest], [domain, path, tag, digest], input);
    // Canonical strings parse back to themselves.
    assert.equal(parseReference(canonical).toString(), canonical, canonical);
  }
});

// input → the part the error must name
const BAD: [string, RegExp][] = [
  ['', /empty/],
  ['Busybox', /must be lowercase/],
  ['docker.io/Library/busybox', /must be lowercase/],
  ['busybox:', /tag ""/],
  ['busybox:-x', /tag "-x"/],
  ['busybox:' + 'a'.repeat(129), /tag/],
  ['busybox@sha256:abc', /digest "sha256:abc"/],
  ['busybox@md5:' + 'a'.repeat(32), /digest/],
  ['a'.repeat(64), /hexadecimal/],
  ['foo/../bar', /component "\.\."/],
  ['foo___bar', /component "foo___bar"/],
  ['-foo', /component "-foo"/],
  ['foo/', /component ""/],
  ['host:5000/', /at least one path component/],
  ['exa_mple.com:5000/foo', /domain "exa_mple.com:5000"/],
  ['a/' + 'b'.repeat(260), /255 characters/],
  ['foo bar', /component "foo bar"/],
];

test('bad references are rejected naming the bad part', () => {
  for (const [input, re] of BAD) {
    assert.throws(
      () => parseReference(input),
      (e: unknown) => {
        assert.ok(isSkiffError(e, 'InvalidArgument'), `${input}: ${String(e)}`);
        assert.match((e as Error).message, re, input);
        return true;
      },
      input,
    );
  }
});

test('familiar strings and repository paths', () => {
  assert.equal(familiarString('docker.io/library/busybox:latest'), 'busybox:latest');
  assert.equal(familiarString(`docker.io/user/x@${D}`), `user/x@${D}`);
  assert.equal(parseReference('busybox', { defaultTag: false }).tag, undefined);
  assert.equal(parseReference('busybox').withTag('v2').familiarString(), 'busybox:v2');
  assert.equal(validateRepositoryPath('library/busybox'), 'library/busybox');
  assert.throws(() => validateRepositoryPath('Library/x'), /invalid repository name/);
  assert.equal(parseReference(`busybox@${D}`).object, D);
  assert.equal(parseReference('busybox:1').object, '1');
});
