import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './fs.js';

test('writeFileAtomic: creates, replaces, leaves no temporary file, keeps the mode; a failure leaves the old content', () => {
  const dir = mkdtempSync('/tmp/skiff-atomic-');
  try {
    const f = join(dir, 'state.json');
    writeFileAtomic(f, '{"a":1}', { mode: 0o600 });
    assert.equal(readFileSync(f, 'utf8'), '{"a":1}');
    assert.equal(statSync(f).mode & 0o777, 0o600 & ~process.umask());
    writeFileAtomic(f, Buffer.from('{"a":2}'));
    assert.equal(readFileSync(f, 'utf8'), '{"a":2}');
    assert.deepEqual(readdirSync(dir), ['state.json']);
    // a directory in the way of the rename: the write fails, the temporary file is gone
    const blocked = join(dir, 'blocked');
    mkdirSync(join(blocked, 'x'), { recursive: true });
    assert.throws(() => writeFileAtomic(blocked, 'new'));
    assert.deepEqual(readdirSync(dir).sort(), ['blocked', 'state.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
