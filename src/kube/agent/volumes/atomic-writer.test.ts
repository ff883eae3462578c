// The atomic writer: the ..data symlink swap, user-visible links, modes, unchanged payloads, and
// that a reader holding the old directory keeps a consistent view.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validPayloadPath, writeAtomic, type FileProjection } from './atomic-writer.js';

const payload = (o: Record<string, string>, mode = 0o644) =>
  new Map<string, FileProjection>(Object.entries(o).map(([k, v]) => [k, { data: Buffer.from(v), mode }]));

describe('atomic writer', () => {
  it('writes through ..data and swaps it on change', () => {
    const d = mkdtempSync(join(tmpdir(), 'skiff-aw-'));
    try {
      assert.equal(writeAtomic(d, payload({ a: '1', 'sub/b': '2' })), true);
      assert.equal(readFileSync(join(d, 'a'), 'utf8'), '1');
      assert.equal(readFileSync(join(d, 'sub', 'b'), 'utf8'), '2');
      assert.equal(readlinkSync(join(d, 'a')), '..data/a');
      const first = readlinkSync(join(d, '..data'));
      assert.match(first, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
      assert.equal(statSync(join(d, first, 'a')).mode & 0o777, 0o644);
      assert.equal(writeAtomic(d, payload({ a: '1', 'sub/b': '2' })), false, 'unchanged: nothing written');
      assert.equal(writeAtomic(d, payload({ a: '9', c: '3' }, 0o400)), true);
      assert.equal(readFileSync(join(d, 'a'), 'utf8'), '9');
      assert.equal(readFileSync(join(d, 'c'), 'utf8'), '3');
      assert.equal(statSync(join(d, 'c')).mode & 0o777, 0o400);
      assert.throws(() => lstatSync(join(d, 'sub')), /ENOENT/);
      const second = readlinkSync(join(d, '..data'));
      assert.notEqual(second, first);
      assert.deepEqual(readdirSync(d).sort(), ['..data', second, 'a', 'c'].sort());
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('refuses paths that escape the volume', () => {
    for (const p of ['../x', '/abs', 'a/../../b', '..hidden', '']) assert.equal(validPayloadPath(p), false, p);
    assert.equal(validPayloadPath('a/b.txt'), true);
    const d = mkdtempSync(join(tmpdir(), 'skiff-aw-'));
    try {
      assert.throws(() => writeAtomic(d, payload({ '../evil': 'x' })), /invalid path/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
