// The checkpoint worker: starts on writes, checkpoints the WAL into the database file (so the
// file grows while the WAL's frames are reused), stops when idle, restarts on the next write.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Checkpointer } from './checkpointer.js';

it('checkpoints while there are writes, stops when idle, restarts on the next write', async () => {
  const dir = mkdtempSync('/tmp/skiff-ckpt-');
  const errors: string[] = [];
  const path = join(dir, 'db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (v BLOB)');
  const c = new Checkpointer(path, 20, (m) => errors.push(m), 150);
  const until = async (cond: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
    const before = statSync(path).size;
    for (let i = 0; i < 200; i++) {
      ins.run(Buffer.alloc(4000));
      c.written();
    }
    assert.equal(c.running, false, 'the worker starts on the next tick, not inside a write');
    await until(() => c.running, 'the worker to start');
    await until(() => statSync(path).size > before + 500_000, 'the WAL to be checkpointed into the database file');
    await until(() => !c.running, 'the idle worker to stop');
    ins.run(Buffer.alloc(10));
    c.written();
    await until(() => c.running, 'the worker to restart');
    assert.deepEqual(errors, []);
  } finally {
    await c.close();
    assert.equal(c.running, false);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
