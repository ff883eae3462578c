// Layer apply on the real file system: metadata preservation, whiteouts in both modes, binary
// xattrs from GNU tar, and the malicious-layer corpus (nothing may be written outside the root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  rmSync,
  mkdirSync,
  writeFileSync,
  lstatSync,
  readFileSync,
  readlinkSync,
  statSync,
  existsSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { applyLayer, sha256Digest } from '../../src/image/index.js';
import { makeTar, makeTarGz, scan, type E } from './image-fixtures.js';

function tmp() {
  return mkdtempSync(join(tmpdir(), 'skiff-unpack-'));
}
const apply = (tar: Buffer, root: string, whiteouts: 'plain' | 'overlay', compression: 'gzip' | 'none' = 'none') =>
  applyLayer(Readable.from([tar]), compression, root, { whiteouts });
const xattr = (p: string, name: string) =>
  execFileSync('getfattr', ['--absolute-names', '-h', '--only-values', '-n', name, p]);

test('apply preserves modes, owners, times, links, devices and xattrs', async () => {
  const dir = tmp();
  try {
    const root = join(dir, 'root');
    mkdirSync(root);
    const entries: E[] = [
      { name: 'bin/', mode: 0o755 },
      { name: 'bin/tool', data: 'tool', mode: 0o4755, uid: 1000, gid: 1001, mtime: new Date(1_500_000_000_000) },
      { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
      { name: 'bin/sym', type: 'symlink', linkname: 'tool', uid: 5, gid: 6 },
      {
        name: 'etc/conf',
        data: 'a=b',
        mode: 0o600,
        pax: { 'SCHILY.xattr.user.note': 'hello', 'SCHILY.xattr.trusted.t': 'x' },
      },
      { name: 'dev/', mode: 0o755 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
      { name: 'run/fifo', type: 'fifo', mode: 0o620 },
      { name: 'tmp/', mode: 0o1777, mtime: new Date(1_400_000_000_000) },
      { name: './a/deep/x/', mode: 0o750 },
    ];
    const tar = await makeTarGz(entries);
    const r = await apply(tar, root, 'plain', 'gzip');
    assert.equal(r.diffId, sha256Digest(await makeTar(entries)));
    const tool = lstatSync(join(root, 'bin/tool'));
    assert.equal(tool.mode & 0o7777, 0o4755);
    assert.deepEqual([tool.uid, tool.gid, tool.nlink], [1000, 1001, 2]);
    assert.equal(Math.floor(tool.mtimeMs / 1000), 1_500_000_000);
    assert.equal(lstatSync(join(root, 'bin/hard')).ino, tool.ino);
    assert.equal(readlinkSync(join(root, 'bin/sym')), 'tool');
    assert.deepEqual([lstatSync(join(root, 'bin/sym')).uid, lstatSync(join(root, 'bin/sym')).gid], [5, 6]);
    assert.equal(xattr(join(root, 'etc/conf'), 'user.note').toString(), 'hello');
    assert.equal(xattr(join(root, 'etc/conf'), 'trusted.t').toString(), 'x');
    const nul = lstatSync(join(root, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, (1 << 8) | 3);
    assert.equal(nul.mode & 0o7777, 0o666);
    const loop = lstatSync(join(root, 'dev/loop9'));
    assert.ok(loop.isBlockDevice());
    assert.equal(loop.gid, 6);
    assert.ok(lstatSync(join(root, 'run/fifo')).isFIFO());
    assert.equal(lstatSync(join(root, 'run/fifo')).mode & 0o7777, 0o620);
    const t = lstatSync(join(root, 'tmp'));
    assert.equal(t.mode & 0o7777, 0o1777);
    assert.equal(Math.floor(t.mtimeMs / 1000), 1_400_000_000);
    assert.equal(lstatSync(join(root, 'a/deep/x')).mode & 0o777, 0o750);
    assert.equal(lstatSync(join(root, 'a')).mode & 0o777, 0o755); // implied parent

    // Second layer, plain mode: whiteouts delete, opaque keeps only this layer's entries.
    writeFileSync(join(root, 'a/lower'), 'lower');
    await apply(
      await makeTar([
        { name: 'bin/.wh.sym' },
        { name: 'a/' },
        { name: 'a/.wh..wh..opq' },
        { name: 'a/new', data: 'new' },
        { name: 'etc/conf', data: 'replaced', mode: 0o644 },
        { name: 'bin/tool', type: 'symlink', linkname: '/elsewhere' },
      ]),
      root,
      'plain',
    );
    assert.equal(existsSync(join(root, 'bin/sym')), false);
    assert.deepEqual(scan(join(root, 'a')), ['new']);
    assert.equal(readFileSync(join(root, 'etc/conf'), 'utf8'), 'replaced');
    assert.equal(readlinkSync(join(root, 'bin/tool')), '/elsewhere');
    assert.equal(readFileSync(join(root, 'bin/hard'), 'utf8'), 'tool');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overlay mode: whiteouts become 0/0 char devices, opaque dirs get trusted.overlay.opaque', async () => {
  const dir = tmp();
  try {
    const upper = join(dir, 'upper');
    mkdirSync(upper);
    await apply(
      await makeTar([
        { name: 'etc/.wh.passwd' },
        { name: 'var/' },
        { name: 'var/.wh..wh..opq' },
        { name: 'var/keep', data: 'k' },
        { name: '.wh.tmp' },
      ]),
      upper,
      'overlay',
    );
    for (const p of ['etc/passwd', 'tmp']) {
      const st = lstatSync(join(upper, p));
      assert.ok(st.isCharacterDevice(), p);
      assert.equal(st.rdev, 0);
    }
    assert.equal(xattr(join(upper, 'var'), 'trusted.overlay.opaque').toString(), 'y');
    assert.equal(readFileSync(join(upper, 'var/keep'), 'utf8'), 'k');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('binary xattrs written by GNU tar survive (SCHILY.xattr raw bytes)', async () => {
  const dir = tmp();
  try {
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src/ping'), 'x');
    execFileSync('setfattr', ['-n', 'user.bin', '-v', '0sAP+A/w==', join(dir, 'src/ping')]);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-C', join(dir, 'src'), '-cf', join(dir, 'l.tar'), 'ping']);
    mkdirSync(join(dir, 'root'));
    await apply(readFileSync(join(dir, 'l.tar')), join(dir, 'root'), 'plain');
    assert.deepEqual([...xattr(join(dir, 'root/ping'), 'user.bin')], [0x00, 0xff, 0x80, 0xff]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// One case per escape technique. `S` is the sentinel directory beside the root.
const CORPUS: [string, (S: string) => E[], RegExp][] = [
  ['dot-dot name', () => [{ name: '../sentinel/pwned', data: 'x' }], /"\.\.\/sentinel\/pwned".*"\.\."/],
  ['dot-dot inside name', () => [{ name: 'a/../../sentinel/pwned', data: 'x' }], /"\.\."/],
  ['absolute name', (S) => [{ name: `${S}/pwned`, data: 'x' }], /absolute path/],
  [
    'symlink then file (relative)',
    () => [
      { name: 'evil', type: 'symlink', linkname: '../sentinel' },
      { name: 'evil/pwned', data: 'x' },
    ],
    /"evil\/pwned".*climbs above/,
  ],
  [
    'symlink then file (absolute)',
    (S) => [
      { name: 'evil', type: 'symlink', linkname: S },
      { name: 'evil/pwned', data: 'x' },
    ],
    /"evil\/pwned".*absolute path/,
  ],
  [
    'file then symlink-dir replacement',
    () => [
      { name: 'd/' },
      { name: 'd/ok', data: 'fine' },
      { name: 'd', type: 'symlink', linkname: '../sentinel' },
      { name: 'd/pwned', data: 'x' },
    ],
    /"d\/pwned"/,
  ],
  [
    'directory through symlink',
    () => [{ name: 'evil', type: 'symlink', linkname: '../sentinel' }, { name: 'evil/newdir/' }],
    /"evil\/newdir\/"/,
  ],
  [
    'hardlink to outside (dot-dot)',
    () => [{ name: 'hl', type: 'link', linkname: '../sentinel/target' }],
    /"hl".*"\.\."/,
  ],
  [
    'hardlink to outside (absolute)',
    (S) => [{ name: 'hl', type: 'link', linkname: `${S}/target` }],
    /"hl".*absolute path/,
  ],
  [
    'hardlink through symlink',
    () => [
      { name: 's', type: 'symlink', linkname: '../sentinel' },
      { name: 'hl', type: 'link', linkname: 's/target' },
    ],
    /"hl".*climbs above/,
  ],
  [
    'symlink chain escaping',
    () => [
      { name: 'x/' },
      { name: 'x/l2', type: 'symlink', linkname: '../..' },
      { name: 'l1', type: 'symlink', linkname: 'x/l2' },
      { name: 'l1/sentinel/pwned', data: 'x' },
    ],
    /"l1\/sentinel\/pwned".*climbs above/,
  ],
  [
    'symlink loop',
    () => [
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: 'a' },
      { name: 'a/x', data: 'x' },
    ],
    /too many levels/,
  ],
  ['whiteout of ..', () => [{ name: 'sub/.wh...' }], /whiteout of "\.\."/],
  [
    'whiteout through symlink',
    () => [{ name: 'evil', type: 'symlink', linkname: '../sentinel' }, { name: 'evil/.wh.target' }],
    /"evil\/\.wh\.target"/,
  ],
  [
    'opaque through symlink',
    () => [{ name: 'evil', type: 'symlink', linkname: '../sentinel' }, { name: 'evil/.wh..wh..opq' }],
    /"evil\/\.wh\.\.wh\.\.opq"/,
  ],
  [
    'device through symlink',
    () => [
      { name: 'evil', type: 'symlink', linkname: '../sentinel' },
      { name: 'evil/null', type: 'character-device', devmajor: 1, devminor: 3 },
    ],
    /"evil\/null"/,
  ],
];

test('malicious-layer corpus: every escape is rejected and nothing is written outside', async () => {
  for (const mode of ['plain', 'overlay'] as const) {
    for (const [what, make, re] of CORPUS) {
      const dir = tmp();
      try {
        const sentinel = join(dir, 'sentinel');
        mkdirSync(sentinel);
        writeFileSync(join(sentinel, 'target'), 'precious');
        const root = join(dir, 'root');
        mkdirSync(root);
        const before = scan(dir).filter((p) => !p.startsWith('root/'));
        await assert.rejects(
          apply(await makeTar(make(sentinel)), root, mode),
          (e: Error) => {
            assert.match(e.message, re, `${mode}/${what}: ${e.message}`);
            assert.match(e.message, /layer entry/, `${mode}/${what}`);
            return true;
          },
          `${mode}/${what}`,
        );
        assert.deepEqual(
          scan(dir).filter((p) => !p.startsWith('root/')),
          before,
          `${mode}/${what}: something was written outside`,
        );
        assert.equal(readFileSync(join(sentinel, 'target'), 'utf8'), 'precious');
        assert.equal(statSync(join(sentinel, 'target')).nlink, 1, `${mode}/${what}: target was hard-linked`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
});

test('symlinks pointing outside are fine as long as nothing goes through them', async () => {
  const dir = tmp();
  try {
    await apply(
      await makeTar([
        { name: 'etc/' },
        { name: 'etc/mtab', type: 'symlink', linkname: '/proc/mounts' },
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'usr/lib/' },
        { name: 'lib/x.so', data: 'so' },
        { name: 'up', type: 'symlink', linkname: '../../..' },
      ]),
      dir,
      'plain',
    );
    assert.equal(readlinkSync(join(dir, 'etc/mtab')), '/proc/mounts');
    assert.equal(readFileSync(join(dir, 'usr/lib/x.so'), 'utf8'), 'so'); // in-root relative symlink followed
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('truncated and corrupt layers are rejected', async () => {
  const dir = tmp();
  try {
    const tar = await makeTar([{ name: 'f', data: 'x'.repeat(5000) }]);
    await assert.rejects(apply(tar.subarray(0, 2000), dir, 'plain'), /truncated/);
    const bad = Buffer.from(tar);
    bad[10] ^= 0xff;
    await assert.rejects(apply(bad, join(dir), 'plain'), /checksum/);
    const gz = await makeTarGz([{ name: 'f', data: 'y' }]);
    await assert.rejects(apply(gz.subarray(0, gz.length - 10), dir, 'plain', 'gzip'), /gzip|truncated|unexpected end/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('zstd layers decompress in a stream (fzstd)', async () => {
  const dir = tmp();
  try {
    const big = Buffer.alloc(3 << 20, 'zstd-content ');
    const tar = await makeTar([
      { name: 'z/', type: 'directory' },
      { name: 'z/big', data: big },
      { name: 'z/small', data: 'hi' },
    ]);
    writeFileSync(join(dir, 'l.tar'), tar);
    execFileSync('zstd', ['-q', '-3', join(dir, 'l.tar'), '-o', join(dir, 'l.tar.zst')]);
    mkdirSync(join(dir, 'root'));
    const { createReadStream } = await import('node:fs');
    const r = await applyLayer(
      createReadStream(join(dir, 'l.tar.zst'), { highWaterMark: 4096 }),
      'zstd',
      join(dir, 'root'),
      { whiteouts: 'plain' },
    );
    assert.equal(r.diffId, sha256Digest(tar));
    assert.ok(readFileSync(join(dir, 'root/z/big')).equals(big));
    assert.equal(readFileSync(join(dir, 'root/z/small'), 'utf8'), 'hi');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overlay apply resolves parents through lower-layer symlinks, still confined', async () => {
  const dir = tmp();
  try {
    const lower = join(dir, 'lower');
    const upper = join(dir, 'upper');
    mkdirSync(join(lower, 'usr/lib'), { recursive: true });
    const { symlinkSync, chmodSync } = await import('node:fs');
    chmodSync(join(lower, 'usr'), 0o751);
    symlinkSync('usr/lib', join(lower, 'lib'));
    symlinkSync('../../..', join(lower, 'up'));
    symlinkSync('/etc', join(lower, 'abs'));
    mkdirSync(upper);
    await applyLayer(Readable.from([await makeTar([{ name: 'lib/x.so', data: 'so' }])]), 'none', upper, {
      whiteouts: 'overlay',
      lowers: [lower],
    });
    assert.equal(readFileSync(join(upper, 'usr/lib/x.so'), 'utf8'), 'so');
    assert.equal(existsSync(join(upper, 'lib')), false); // the lower symlink is not shadowed
    assert.equal(lstatSync(join(upper, 'usr')).mode & 0o777, 0o751); // implied parent keeps its mode
    for (const name of ['up/escape', 'abs/passwd']) {
      await assert.rejects(
        applyLayer(Readable.from([await makeTar([{ name, data: 'x' }])]), 'none', upper, {
          whiteouts: 'overlay',
          lowers: [lower],
        }),
        (e: Error) => /layer entry/.test(e.message) && e.message.includes(name),
      );
    }
    await assert.rejects(
      applyLayer(
        Readable.from([await makeTar([{ name: 'hl', type: 'link', linkname: 'nodir/file' }])]),
        'none',
        upper,
        { whiteouts: 'overlay', lowers: [lower] },
      ),
      /layer entry "hl": path "nodir" does not exist/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an entry replacing an existing path keeps its own xattrs', async () => {
  const dir = tmp();
  try {
    await apply(
      await makeTar([
        { name: 'f', data: 'one' },
        { name: 'd', type: 'symlink', linkname: 'x' },
      ]),
      dir,
      'plain',
    );
    await apply(
      await makeTar([
        { name: 'f', data: 'two', pax: { 'SCHILY.xattr.user.v': '2' } },
        { name: 'd/', pax: { 'SCHILY.xattr.user.d': 'dir' } },
      ]),
      dir,
      'plain',
    );
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'two');
    assert.equal(xattr(join(dir, 'f'), 'user.v').toString(), '2');
    assert.ok(lstatSync(join(dir, 'd')).isDirectory());
    assert.equal(xattr(join(dir, 'd'), 'user.d').toString(), 'dir');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('file owners and modes are exact whichever syscalls are skipped', async () => {
  const dir = tmp();
  try {
    await apply(
      await makeTar([
        { name: 'a', data: 'a', mode: 0o644 },
        { name: 'b', data: 'b', mode: 0o777 },
        { name: 'c', data: 'c', mode: 0o2755, gid: 50 },
        { name: 'd', data: 'd', mode: 0o600, uid: 7 },
        { name: 'e', data: 'e', mode: 0o4711 },
        { name: 'g/', mode: 0o2775, gid: 100 },
        { name: 'g/f', data: 'f', mode: 0o644 },
      ]),
      dir,
      'plain',
    );
    const want: [string, number, number, number][] = [
      ['a', 0o644, 0, 0],
      ['b', 0o777, 0, 0],
      ['c', 0o2755, 0, 50],
      ['d', 0o600, 7, 0],
      ['e', 0o4711, 0, 0],
      ['g/f', 0o644, 0, 0],
    ];
    for (const [p, mode, uid, gid] of want) {
      const st = lstatSync(join(dir, p));
      assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [mode, uid, gid], p);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
