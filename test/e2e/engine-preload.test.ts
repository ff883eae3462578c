// Air-gapped image preload (k3s's agent/images/), in process: archives written by skopeo (a
// docker-save archive, an OCI layout archive) plain, gzip- and zstd-compressed, beside a bad one and
// a file that is no archive, are imported once per content; a restart imports nothing again, a
// renamed copy is recognised by content, a changed archive is imported again, and the bad one is
// reported (and retried) without stopping the others. The CLI path with the real dockerd's
// `docker save` is in engine-preload.slow.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openImages, preloadImages, saveOciArchive } from '../../src/image/index.js';
import { createWriteStream } from 'node:fs';
import { makeTar } from '../integration/image-fixtures.js';

const skopeo = (args: string[]) =>
  execFileSync('skopeo', ['--insecure-policy', ...args], { stdio: 'pipe', encoding: 'utf8' });

test('preload: docker-save and OCI archives (plain, gzip, zstd) once per content; a bad one reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-preload-'));
  try {
    // Two small images in a source store, written out as an OCI archive, re-written by skopeo.
    const src = await openImages(join(dir, 'src'));
    const a = await src.importRootfsTar(Readable.from(await makeTar([{ name: 'a.txt', data: 'a\n' }])), {
      ref: 'example.com/pre/a:1',
    });
    const b = await src.importRootfsTar(Readable.from(await makeTar([{ name: 'b.txt', data: 'b\n' }])), {
      ref: 'pre-b:2',
    });
    const ociA = join(dir, 'a-oci.tar');
    await new Promise<void>((res, rej) => {
      const w = createWriteStream(ociA).on('finish', res).on('error', rej);
      saveOciArchive(src, ['example.com/pre/a:1'], w).catch(rej);
    });
    const ociB = join(dir, 'b-oci.tar');
    await new Promise<void>((res, rej) => {
      const w = createWriteStream(ociB).on('finish', res).on('error', rej);
      saveOciArchive(src, ['pre-b:2'], w).catch(rej);
    });
    const images = join(dir, 'images');
    const extra = join(dir, 'extra');
    mkdirSync(images);
    mkdirSync(extra);
    // skopeo's docker-archive (docker save format) of a, gzip'd; its oci-archive of b, zstd'd;
    // its docker-archive of b, plain, in the second directory.
    skopeo(['copy', `oci-archive:${ociA}`, `docker-archive:${join(dir, 'a.tar')}:example.com/pre/a:1`]);
    execFileSync('gzip', ['-1', join(dir, 'a.tar')]);
    copyFileSync(join(dir, 'a.tar.gz'), join(images, '10-a.tar.gz'));
    skopeo(['copy', `oci-archive:${ociB}`, `oci-archive:${join(dir, 'b2.tar')}:pre-b:2`]);
    execFileSync('zstd', ['-q', '-1', join(dir, 'b2.tar'), '-o', join(images, '20-b.tar.zst')]);
    skopeo(['copy', `oci-archive:${ociB}`, `docker-archive:${join(extra, 'b.tar')}:pre-b:2`]);
    writeFileSync(join(images, '15-bad.tar'), Buffer.alloc(4096, 7)); // not a tar
    writeFileSync(join(images, 'list.txt'), 'not an archive\n'); // ignored (not an archive name)

    const root = join(dir, 'engine', 'image');
    const state = join(root, 'preloaded.json');
    const lines: string[] = [];
    const log = (l: string, level: string) => lines.push(`${level} ${l}`);
    const store = await openImages(root);
    const r1 = await preloadImages(store, [images, extra], state, log);
    assert.deepEqual(
      r1.map((r) => [r.file.slice(dir.length + 1), r.status, r.images]),
      [
        ['images/10-a.tar.gz', 'imported', ['example.com/pre/a:1']],
        ['images/15-bad.tar', 'failed', []],
        ['images/20-b.tar.zst', 'imported', ['pre-b:2']],
        ['extra/b.tar', 'imported', ['pre-b:2']],
      ],
    );
    assert.match(r1[1].error ?? '', /tar header/);
    assert.ok(lines.some((l) => /^error images: .*15-bad\.tar: not imported: /.test(l)));
    assert.ok(lines.some((l) => /^info images: imported example\.com\/pre\/a:1 from .*10-a\.tar\.gz/.test(l)));
    assert.equal((await store.resolve('example.com/pre/a:1')).id, a.id);
    assert.equal((await store.resolve('pre-b:2')).id, b.id);

    // A restart: nothing imported again; the bad archive is tried (and reported) again.
    const r2 = await preloadImages(await openImages(root), [images, extra], state, log);
    assert.deepEqual(
      r2.map((r) => r.status),
      ['unchanged', 'failed', 'unchanged', 'unchanged'],
    );
    // Same content under another name (and a new mtime): recognised by its digest.
    copyFileSync(join(images, '10-a.tar.gz'), join(images, '30-a-copy.tgz'));
    // A changed archive (b re-tagged) is imported again.
    rmSync(join(extra, 'b.tar')); // skopeo refuses to overwrite an archive
    skopeo(['copy', `oci-archive:${ociB}`, `docker-archive:${join(extra, 'b.tar')}:pre-b:3`]);
    const r3 = await preloadImages(await openImages(root), [images, extra], state, log);
    assert.deepEqual(
      r3.map((r) => [r.file.slice(dir.length + 1), r.status, r.images]),
      [
        ['images/10-a.tar.gz', 'unchanged', ['example.com/pre/a:1']],
        ['images/15-bad.tar', 'failed', []],
        ['images/20-b.tar.zst', 'unchanged', ['pre-b:2']],
        ['images/30-a-copy.tgz', 'unchanged', ['example.com/pre/a:1']],
        ['extra/b.tar', 'imported', ['pre-b:3']],
      ],
    );
    assert.equal((await (await openImages(root)).resolve('pre-b:3')).id, b.id);
    const kept = JSON.parse(readFileSync(state, 'utf8')) as { archives: Record<string, unknown>; files: object };
    assert.equal(Object.keys(kept.archives).length, 4); // a (gz), b (zst), b.tar (old), b.tar (new)
    assert.equal(Object.keys(kept.files).length, 5); // the bad archive's digest is remembered, not imported
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
