// The Store conformance suite against the SQLite backend, plus its durability: a child process
// writing a burst is SIGKILLed, and every write it acknowledged is there after reopening.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { openStore } from '../../src/kube/storage/index.js';
import { storeSuite, killedWriterBurst } from '../../src/kube/storage/store.suite.js';

storeSuite('sqlite', async () => {
  const dir = mkdtempSync('/tmp/skiff-store-sqlite-');
  const store = await openStore(`sqlite://${join(dir, 'state.db')}`, { progressIntervalMs: 200 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('sqlite store: durability and exclusivity', () => {
  it('keeps every acknowledged write when the writer is SIGKILLed mid-burst', async () => {
    const dir = mkdtempSync('/tmp/skiff-store-kill-');
    try {
      const url = `sqlite://${join(dir, 'state.db')}`;
      // With compaction and WAL checkpoints running all the time, so the kill may land inside them.
      const acked = await killedWriterBurst(url, 400, {
        compactIntervalMs: 20,
        compactKeep: 50,
        sqlite: { checkpointIntervalMs: 20 },
      });
      const store = await openStore(url);
      try {
        for (const [key, value] of acked)
          assert.equal(new TextDecoder().decode((await store.get(key))?.value), value, `acknowledged ${key} lost`);
        // The log is consistent: the revision counter moved past every surviving write.
        const list = await store.list('/burst/');
        assert.ok(list.items.length >= acked.size);
        const w = await store.create('/burst/after', new Uint8Array([1]));
        assert.ok(w.modRevision > Math.max(...list.items.map((i) => i.modRevision)));
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a second process on the same database file', async () => {
    const dir = mkdtempSync('/tmp/skiff-store-excl-');
    try {
      const url = `sqlite://${join(dir, 'state.db')}`;
      const store = await openStore(url);
      try {
        await store.create('/x', new Uint8Array([1]));
        const { spawnSync } = await import('node:child_process');
        const r = spawnSync(
          process.execPath,
          [
            '--import',
            'tsx',
            '--input-type=module',
            '-e',
            `import { openStore } from ${JSON.stringify(new URL('../../src/kube/storage/index.ts', import.meta.url).href)};
           try { await openStore(${JSON.stringify(url)}); console.log('opened'); } catch (e) { console.log(e.code, e.reason); }`,
          ],
          { encoding: 'utf8' },
        );
        assert.match(r.stdout, /Unavailable DatastoreLocked/, r.stderr);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
