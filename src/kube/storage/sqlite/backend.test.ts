// The backend's in-memory latest rows stay what the database holds: after a rolled-back
// transaction, after compaction, and against a fresh open of the same file.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteBackend } from './backend.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (v: Uint8Array | undefined) => (v ? new TextDecoder().decode(v) : undefined);

it('latest rows in memory follow commits, rollbacks and compaction', async () => {
  const dir = mkdtempSync('/tmp/skiff-sqlite-latest-');
  const path = join(dir, 'db');
  const b = new SqliteBackend(path, { checkpointIntervalMs: 0 });
  try {
    const r1 = b.transaction(() =>
      b.append({ key: '/k', value: bytes('one'), createRev: 0, prevRev: 0, deleted: false }),
    );
    assert.equal(text(b.latest('/k')?.value), 'one');
    // A transaction that appends and then fails leaves the row it rolled back out of latest().
    assert.throws(() =>
      b.transaction(() => {
        b.append({ key: '/k', value: bytes('two'), createRev: r1.createRev, prevRev: r1.rev, deleted: false });
        assert.equal(text(b.latest('/k')?.value), 'two', 'seen inside its transaction');
        throw new Error('boom');
      }),
    );
    assert.equal(text(b.latest('/k')?.value), 'one');
    assert.equal(b.latest('/k')?.rev, r1.rev);
    // A deletion's tombstone, then compaction past it: the key has no row at all.
    const del = b.transaction(() =>
      b.append({ key: '/k', value: bytes('one'), createRev: r1.createRev, prevRev: r1.rev, deleted: true }),
    );
    assert.equal(b.latest('/k')?.deleted, true);
    b.compact(del.rev + 0);
    assert.equal(b.latest('/k'), undefined);
    b.transaction(() => b.append({ key: '/j', value: bytes('three'), createRev: 0, prevRev: 0, deleted: false }));
  } finally {
    await b.close();
  }
  // What a fresh open reads from the file equals what latest() answered from memory.
  const again = new SqliteBackend(path, { checkpointIntervalMs: 0 });
  try {
    assert.equal(again.latest('/k'), undefined);
    assert.equal(text(again.latest('/j')?.value), 'three');
  } finally {
    await again.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
