// The shared snapshotter suite against both implementations, with real mounts.
import { snapshotterSuite } from '../../src/image/snapshot/snapshotter.suite.js';
import { OverlaySnapshotter, NativeSnapshotter, mountAll, unmount } from '../../src/image/index.js';
import { shortenOverlayOptions } from '../../src/image/snapshot/mount.js';
import { makeTar } from './image-fixtures.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { detectSnapshotter } from '../../src/image/index.js';

snapshotterSuite('overlay', (root) => new OverlaySnapshotter(root).init(), makeTar);
snapshotterSuite('native', (root) => new NativeSnapshotter(root).init(), makeTar);

test('overlay is detected on an ext4 data root and the probe leaves nothing behind', async () => {
  const root = mkdtempSync(join(tmpdir(), 'skiff-detect-'));
  try {
    assert.equal(await detectSnapshotter(root), 'overlayfs');
    assert.deepEqual(readdirSync(root), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('overlay: a 150-layer chain under a long data root mounts (options shortened below one page)', async () => {
  const base = mkdtempSync(join(tmpdir(), 'skiff-deep-'));
  const root = join(base, 'a-rather-long-directory-name-for-the-data-root'.repeat(3));
  const target = join(base, 'mnt');
  mkdirSync(target, { recursive: true });
  try {
    const s = await new OverlaySnapshotter(root).init();
    let parent: string | undefined;
    for (let i = 0; i < 150; i++) {
      await s.prepare(`x${i}`, parent);
      const t = await s.applyTarget(`x${i}`);
      writeFileSync(join(t.dir, `f${i}`), String(i));
      await s.commit(`c${i}`, `x${i}`);
      parent = `c${i}`;
    }
    const mounts = await s.prepare('top', parent);
    assert.ok(mounts[0].options.join(',').length > 4096, 'absolute options exceed one page');
    assert.ok(shortenOverlayOptions(mounts[0].options).opts.join(',').length < 4096);
    await mountAll(mounts, target);
    try {
      assert.equal(readFileSync(join(target, 'f0'), 'utf8'), '0');
      assert.equal(readFileSync(join(target, 'f149'), 'utf8'), '149');
      writeFileSync(join(target, 'new'), 'w');
    } finally {
      await unmount(target);
    }
    assert.equal(
      readFileSync(join(mounts[0].options.find((o) => o.startsWith('upperdir='))!.slice(9), 'new'), 'utf8'),
      'w',
    );
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
