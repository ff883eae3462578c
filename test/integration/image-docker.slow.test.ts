// Interop with the real dockerd (Debian docker.io 20.10): it loads what Skiff saves, and Skiff
// loads what it saves (the legacy `<id>/layer.tar` layout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { openImages, saveDockerArchive, loadArchive, NativeSnapshotter } from '../../src/image/index.js';
import { busyboxTar } from '../fixtures/busybox.js';
import { startDockerd } from '../fixtures/dockerd.js';

test('real docker loads a Skiff save, and Skiff loads a real docker save', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-imgdocker-'));
  const dockerd = await startDockerd();
  try {
    const images = await openImages(join(dir, 'a'));
    const img = await images.importRootfsTar(createReadStream(busyboxTar(join(dir, 'bb.tar'))), {
      ref: 'skiffbb:v1',
      changes: ['CMD ["echo", "hello from skiff"]'],
    });
    const saved = join(dir, 'save.tar');
    await saveDockerArchive(images, ['skiffbb:v1'], createWriteStream(saved));
    const out = dockerd.docker(['load', '-i', saved]);
    assert.match(out, /Loaded image: skiffbb:v1/);
    assert.equal(dockerd.docker(['image', 'inspect', '-f', '{{.Id}}', 'skiffbb:v1']).trim(), img.id);

    // The other way: dockerd's own save (legacy layout) into Skiff.
    dockerd.importBusybox('dockerbb:latest');
    const theirs = join(dir, 'theirs.tar');
    dockerd.docker(['save', '-o', theirs, 'dockerbb:latest']);
    const listing = execFileSync('tar', ['-tf', theirs], { encoding: 'utf8' });
    assert.match(listing, /layer\.tar/);
    const b = await openImages(join(dir, 'b'));
    const loaded = await loadArchive(b, createReadStream(theirs));
    assert.equal(loaded[0].name, 'dockerbb:latest');
    assert.equal(loaded[0].id, dockerd.docker(['image', 'inspect', '-f', '{{.Id}}', 'dockerbb:latest']).trim());
    const chain = await b.unpack('dockerbb', await new NativeSnapshotter(join(dir, 'nat')).init());
    assert.ok(chain);
  } finally {
    await dockerd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
