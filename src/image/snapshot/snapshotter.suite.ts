// The shared Snapshotter suite: every implementation (overlay, copy) must pass it. It mounts
// snapshots for real, reads and writes through the mounts, and checks diffs round-trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  rmSync,
  mkdirSync,
  writeFileSync,
  readFileSync,
  existsSync,
  readdirSync,
  unlinkSync,
  lstatSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { isSkiffError } from '../../common/index.js';
import { applyLayer } from '../unpack/layer.js';
import { mountAll, unmount } from './mount.js';
import type { Snapshotter } from './types.js';

async function tarBuffer(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Applies a tar to an active snapshot as unpack does. */
async function applyTo(s: Snapshotter, key: string, tar: Buffer): Promise<void> {
  const t = await s.applyTarget(key);
  await applyLayer(Readable.from([tar]), 'none', t.dir, { whiteouts: t.whiteouts, lowers: t.lowers });
}

async function withMounted<T>(s: Snapshotter, key: string, fn: (dir: string) => Promise<T> | T): Promise<T> {
  const target = mkdtempSync(join(tmpdir(), 'skiff-snapmnt-'));
  await mountAll(await s.mounts(key), target);
  try {
    return await fn(target);
  } finally {
    await unmount(target);
    rmSync(target, { recursive: true, force: true });
  }
}

export function snapshotterSuite(
  name: string,
  open: (root: string) => Promise<Snapshotter>,
  makeTar: (
    entries: {
      name: string;
      data?: string;
      type?: 'file' | 'directory' | 'symlink';
      linkname?: string;
      mode?: number;
      uid?: number;
      gid?: number;
    }[],
  ) => Promise<Buffer>,
): void {
  test(`${name}: prepare, apply, commit, view and mount for real`, async () => {
    const root = mkdtempSync(join(tmpdir(), `skiff-snap-${name}-`));
    try {
      const s = await open(root);
      const m0 = await s.prepare('extract-1');
      assert.equal(m0[0].type, 'bind');
      await applyTo(
        s,
        'extract-1',
        await makeTar([
          { name: 'etc/', type: 'directory' },
          { name: 'etc/passwd', data: 'root:x:0:0\n' },
          { name: 'etc/hostname', data: 'base\n' },
          { name: 'var/', type: 'directory' },
          { name: 'var/old', data: 'old' },
          { name: 'bin/sh', data: '#!', mode: 0o755 },
          { name: 'srv/', type: 'directory', mode: 0o750, uid: 33, gid: 33 },
        ]),
      );
      await s.commit('base', 'extract-1', { labels: { layer: '1' } });
      assert.equal((await s.stat('base')).kind, 'committed');
      assert.deepEqual((await s.stat('base')).labels, { layer: '1' });
      await assert.rejects(s.stat('extract-1'), (e) => isSkiffError(e, 'NotFound'));

      await s.prepare('extract-2', 'base');
      await applyTo(
        s,
        'extract-2',
        await makeTar([
          { name: 'etc/.wh.hostname' },
          { name: 'var/', type: 'directory' },
          { name: 'var/.wh..wh..opq' },
          { name: 'var/new', data: 'new' },
          { name: 'usr/bin/tool', data: 'tool', mode: 0o755 },
          { name: 'srv/www/index.html', data: '<html>' }, // no entry for srv/: it keeps its owner and mode
        ]),
      );
      await s.commit('top', 'extract-2');
      assert.equal((await s.stat('top')).parent, 'base');

      await s.view('v', 'top');
      assert.equal((await s.stat('v')).kind, 'view');
      await withMounted(s, 'v', (dir) => {
        assert.equal(readFileSync(join(dir, 'etc/passwd'), 'utf8'), 'root:x:0:0\n');
        assert.equal(existsSync(join(dir, 'etc/hostname')), false);
        assert.deepEqual(readdirSync(join(dir, 'var')), ['new']);
        assert.equal(readFileSync(join(dir, 'usr/bin/tool'), 'utf8'), 'tool');
        const srv = lstatSync(join(dir, 'srv'));
        assert.deepEqual([srv.mode & 0o7777, srv.uid, srv.gid], [0o750, 33, 33]);
        assert.throws(() => writeFileSync(join(dir, 'x'), 'x'), /EROFS|read-only/);
      });

      // A container layer: write through the real mount, then diff.
      const mounts = await s.prepare('ctr', 'top');
      if (name === 'overlay') {
        assert.equal(mounts[0].type, 'overlay');
        assert.equal(mounts[0].source, 'overlay');
        assert.ok(
          mounts[0].options.some((o) => o.startsWith('lowerdir=')) &&
            mounts[0].options.some((o) => o.startsWith('upperdir=')) &&
            mounts[0].options.some((o) => o.startsWith('workdir=')),
        );
      }
      await withMounted(s, 'ctr', (dir) => {
        writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0\nuser:x:1000:1000\n');
        unlinkSync(join(dir, 'usr/bin/tool'));
        mkdirSync(join(dir, 'data'));
        writeFileSync(join(dir, 'data/file'), 'payload');
      });
      const changes = await s.changes('ctr');
      const has = (k: string, p: string) => changes.some((c) => c.kind === k && c.path === p);
      assert.ok(has('C', '/etc/passwd'), JSON.stringify(changes));
      assert.ok(has('D', '/usr/bin/tool'), JSON.stringify(changes));
      assert.ok(has('A', '/data') && has('A', '/data/file'), JSON.stringify(changes));
      assert.ok(!changes.some((c) => c.path === '/var/new' || c.path === '/bin/sh'), JSON.stringify(changes));

      // The diff applied on top of the same parent reproduces the container's tree.
      const diff = await tarBuffer(await s.diff('ctr'));
      await s.prepare('replay', 'top');
      await applyTo(s, 'replay', diff);
      await s.commit('replayed', 'replay');
      await s.view('rv', 'replayed');
      await withMounted(s, 'rv', (dir) => {
        assert.equal(readFileSync(join(dir, 'etc/passwd'), 'utf8'), 'root:x:0:0\nuser:x:1000:1000\n');
        assert.equal(existsSync(join(dir, 'usr/bin/tool')), false);
        assert.equal(readFileSync(join(dir, 'data/file'), 'utf8'), 'payload');
        assert.equal(readFileSync(join(dir, 'var/new'), 'utf8'), 'new');
      });

      const u = await s.usage('top');
      assert.ok(u.inodes >= 3 && u.size > 0, JSON.stringify(u));
      const all: string[] = [];
      for await (const i of s.walk()) all.push(`${i.name}:${i.kind}`);
      assert.deepEqual(all.sort(), [
        'base:committed',
        'ctr:active',
        'replayed:committed',
        'rv:view',
        'top:committed',
        'v:view',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test(`${name}: life-cycle rules, labels and persistence`, async () => {
    const root = mkdtempSync(join(tmpdir(), `skiff-snap-${name}-`));
    try {
      const s = await open(root);
      await s.prepare('a');
      await assert.rejects(s.prepare('a'), (e) => isSkiffError(e, 'AlreadyExists'));
      await assert.rejects(
        s.prepare('b', 'a'),
        (e) => isSkiffError(e, 'FailedPrecondition') && /not committed/.test((e as Error).message),
      );
      await assert.rejects(s.prepare('b', 'missing'), (e) => isSkiffError(e, 'NotFound'));
      await assert.rejects(s.prepare(''), (e) => isSkiffError(e, 'InvalidArgument'));
      await assert.rejects(s.prepare('nul\0'), (e) => isSkiffError(e, 'InvalidArgument'));
      await s.commit('A', 'a');
      await s.view('v', 'A');
      await assert.rejects(s.commit('V', 'v'), (e) => isSkiffError(e, 'FailedPrecondition'));
      await assert.rejects(s.mounts('A'), (e) => isSkiffError(e, 'FailedPrecondition'));
      await assert.rejects(
        s.remove('A'),
        (e) => isSkiffError(e, 'FailedPrecondition') && /"v"/.test((e as Error).message),
      );
      await s.prepare('c', 'A', { labels: { x: '1' } });
      assert.deepEqual((await s.update('c', { y: '2', x: '' })).labels, { y: '2' });
      await s.remove('v');
      // Reopen from disk: same state; a directory without a record is cleaned up.
      mkdirSync(join(root, 'snapshots', '999'));
      const s2 = await open(root);
      assert.equal((await s2.stat('c')).parent, 'A');
      assert.deepEqual((await s2.stat('c')).labels, { y: '2' });
      assert.equal(existsSync(join(root, 'snapshots', '999')), false);
      await assert.rejects(s2.stat('v'), (e) => isSkiffError(e, 'NotFound'));
      await s2.remove('c');
      await s2.remove('A');
      const left: string[] = [];
      for await (const i of s2.walk()) left.push(i.name);
      assert.deepEqual(left, []);
      assert.deepEqual(readdirSync(join(root, 'snapshots')), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
