// The shared snapshotter suite against both implementations, with real mounts.
import { snapshotterSuite } from '../../src/image/snapshot/snapshotter.suite.js';
import { OverlaySnapshotter, NativeSnapshotter } from '../../src/image/index.js';
import { makeTar } from './image-fixtures.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
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
  } finally { rmSync(root, { recursive: true, force: true }); }
});
