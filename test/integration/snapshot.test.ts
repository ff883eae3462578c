// The shared snapshotter suite against both implementations, with real mounts.
import { snapshotterSuite } from '../../src/image/snapshot/snapshotter.suite.js';
import { OverlaySnapshotter, NativeSnapshotter, mountAll, unmount, VOLATILE_LABEL } from '../../src/image/index.js';
import { encodeLine } from '../../src/image/snapshot/journal.js';
import { isSkiffError } from '../../src/common/index.js';
import { shortenOverlayOptions } from '../../src/image/snapshot/mount.js';
import { makeTar } from './image-fixtures.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, readdirSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
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

test('overlay: a volatile writable layer mounts without sync, remounts in the same boot, and is refused after a reboot', async () => {
  const base = mkdtempSync(join(tmpdir(), 'skiff-volatile-'));
  const root = join(base, 'sn');
  const target = join(base, 'mnt');
  mkdirSync(target, { recursive: true });
  try {
    const s = await new OverlaySnapshotter(root).init();
    await s.prepare('l');
    writeFileSync(join((await s.applyTarget('l')).dir, 'lower'), 'l');
    await s.commit('L', 'l');
    const mounts = await s.prepare('c', 'L', { labels: { [VOLATILE_LABEL]: 'true' } });
    assert.ok(mounts[0].options.includes('volatile'), mounts[0].options.join(','));
    await mountAll(mounts, target);
    writeFileSync(join(target, 'upper'), 'u');
    await unmount(target);
    // the kernel left its marker; in the same boot the layer mounts again
    await mountAll(await s.mounts('c'), target);
    assert.equal(readFileSync(join(target, 'upper'), 'utf8'), 'u');
    assert.equal(readFileSync(join(target, 'lower'), 'utf8'), 'l');
    await unmount(target);
    // committed layers are never volatile
    await s.prepare('p', 'L');
    assert.equal((await s.mounts('p'))[0].options.includes('volatile'), false);
    // as if the host restarted since the layer was prepared: refused with the reason
    const journal = join(root, 'metadata.journal');
    const line = readFileSync(journal, 'utf8')
      .split('\n')
      .map((l) => JSON.parse(l.slice(9) || '{}') as { put?: string; rec?: { volatileBoot?: string } })
      .filter((c) => c.put === 'c')
      .pop()!;
    assert.ok(line.rec?.volatileBoot);
    appendFileSync(journal, encodeLine({ put: 'c', rec: { ...line.rec, volatileBoot: 'an-earlier-boot' } }));
    const s2 = await new OverlaySnapshotter(root).init();
    await assert.rejects(
      s2.mounts('c'),
      (e) => isSkiffError(e, 'FailedPrecondition') && /host restarted/.test((e as Error).message),
    );
    // removal moves the directory out at once and deletes it in the background
    await s2.remove('c');
    await s2.remove('p');
    await s2.settled();
    assert.deepEqual(readdirSync(join(root, 'trash')), []);
  } finally {
    await unmount(target).catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  }
});

test('overlay: writable-layer directories made ahead are used, and removed at the next open when unused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'skiff-spares-'));
  try {
    const s = await new OverlaySnapshotter(root, { spares: 2 }).init();
    await s.prepare('l');
    await s.commit('L', 'l');
    for (let i = 0; i < 5; i++) {
      const m = await s.prepare(`c${i}`, 'L');
      const upper = m[0].options.find((o) => o.startsWith('upperdir='))!.slice(9);
      assert.deepEqual(readdirSync(upper), [], `c${i}'s upper is empty`);
      writeFileSync(join(upper, 'x'), String(i));
    }
    // the pool refills to 2 in the background: 6 snapshots' directories and 2 spares
    const until = Date.now() + 20_000;
    while (readdirSync(join(root, 'snapshots')).length < 8 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(readdirSync(join(root, 'snapshots')).length, 8);
    const s2 = await new OverlaySnapshotter(root).init();
    assert.equal(readdirSync(join(root, 'snapshots')).length, 6, 'spares removed at open');
    for (let i = 0; i < 5; i++) await s2.remove(`c${i}`);
    await s2.remove('L');
    await s2.settled();
    assert.deepEqual(readdirSync(join(root, 'snapshots')), []);
    assert.deepEqual(readdirSync(join(root, 'trash')), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
