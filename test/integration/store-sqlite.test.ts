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

/** Runs a writer under strace and reports, for each acknowledged write, whether the WAL had been
 *  fdatasync'd since its last write (the syscalls in the order the kernel saw them). */
async function tracedWriter(url: string, writes: number, concurrency: number) {
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync('/tmp/skiff-store-strace-');
  try {
    const storeIndex = new URL('../../src/kube/storage/index.ts', import.meta.url).href;
    // Acknowledgements go to a file of their own, not stdout: a pipe may be non-blocking in the
    // child (writeSync then fails with EAGAIN when the parent, under load, has not drained it).
    const ackFile = join(dir, 'acks');
    const code = `
      import { openSync, writeSync } from 'node:fs';
      import { openStore } from ${JSON.stringify(storeIndex)};
      const ackFd = openSync(${JSON.stringify(ackFile)}, 'w');
      const s = await openStore(${JSON.stringify(url)}, { compactIntervalMs: 0 });
      await s.create('/warm', new Uint8Array([1]));
      let next = 0;
      const worker = async () => { while (next < ${writes}) { const k = '/t/' + next++;
        await s.create(k, new TextEncoder().encode('x'.repeat(300))); writeSync(ackFd, 'ACK ' + k + '\\n'); } };
      await Promise.all(Array.from({ length: ${concurrency} }, worker));
      await s.close();`;
    const out = join(dir, 'trace');
    const r = spawnSync(
      'strace',
      [
        '-f',
        '-y',
        '-o',
        out,
        '-e',
        'trace=pwrite64,write,fdatasync,fsync',
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        code,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const { readFileSync } = await import('node:fs');
    // Lines look like `PID pwrite64(12</dir/state.db-wal>, …) = 4096`, possibly split by another
    // thread into `… <unfinished ...>` and `PID <... fdatasync resumed>) = 0`.
    const pending = new Map<string, string>();
    let dirty = false;
    let syncs = 0;
    const acks: { key: string; durable: boolean }[] = [];
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      const m = /^(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const [, pid, rest] = m;
      let call = rest;
      if (rest.endsWith('<unfinished ...>')) {
        pending.set(pid, rest);
        continue;
      }
      const resumed = /^<\.\.\. (\w+) resumed>/.exec(rest);
      if (resumed) call = (pending.get(pid) ?? '') + rest;
      pending.delete(pid);
      const wal = /^(\w+)\(\d+<[^>]*-wal>/.exec(call);
      if (wal && wal[1] === 'pwrite64') dirty = true;
      if (wal && (wal[1] === 'fdatasync' || wal[1] === 'fsync') && / = 0$/.test(call)) {
        dirty = false;
        syncs++;
      }
      const ack = /^write\(\d+<[^>]*\/acks>, "ACK ([^\\]+)\\n"/.exec(call);
      if (ack) acks.push({ key: ack[1], durable: !dirty });
    }
    assert.equal(acks.length, writes, 'every write acknowledged');
    return { acks, syncs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('sqlite store: durability and exclusivity', () => {
  it('acknowledges a write only after the WAL holding it was fdatasync-ed (strace); ?sync=normal does not', async () => {
    const dir = mkdtempSync('/tmp/skiff-store-durable-');
    try {
      // One write at a time: each acknowledgement must find the WAL clean.
      const durable = await tracedWriter(`sqlite://${join(dir, 'a.db')}`, 30, 1);
      const early = durable.acks.filter((a) => !a.durable).map((a) => a.key);
      assert.deepEqual(early, [], 'acknowledged before the WAL was synced');
      // The opt-in fast mode never syncs at commit: its acknowledgements come with a dirty WAL.
      const fast = await tracedWriter(`sqlite://${join(dir, 'b.db')}?sync=normal`, 30, 1);
      assert.ok(fast.acks.filter((a) => !a.durable).length >= 25, 'sync=normal should not fsync each commit');
      // Concurrent writers share fsyncs (group commit): far fewer syncs than writes.
      const grouped = await tracedWriter(`sqlite://${join(dir, 'c.db')}`, 400, 40);
      assert.ok(grouped.syncs < 200, `${grouped.syncs} WAL syncs for 400 concurrent writes`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

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
