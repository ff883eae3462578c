// Unit tests of the log store's own machinery, below the conformance suite: a watcher that falls
// behind its buffer limit continues from the log without gaps; group commit with compare-and-swap
// inside one batch; a failed transaction leaves nothing behind; continue tokens are checked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LogStore } from './store.js';
import { MemoryBackend } from '../memory/backend.js';
import { SqliteBackend } from '../sqlite/backend.js';
import type { NewRow, Row } from './backend.js';
import type { WatchEvent } from '../types.js';
import { encodeContinue } from '../continue.js';

const enc = (s: string) => new TextEncoder().encode(s);

async function collect(it: AsyncIterator<WatchEvent>, n: number): Promise<number[]> {
  const revs: number[] = [];
  while (revs.length < n) {
    const r = await it.next();
    if (r.done) throw new Error('ended');
    if (r.value.type !== 'PROGRESS') revs.push(r.value.kv.modRevision);
  }
  return revs;
}

for (const kind of ['memory', 'sqlite'] as const) {
  describe(`log store (${kind})`, () => {
    const open = (opts: ConstructorParameters<typeof LogStore>[1] = {}) => {
      if (kind === 'memory') return { store: new LogStore(new MemoryBackend(), opts), done: () => undefined };
      const dir = mkdtempSync('/tmp/skiff-logstore-');
      return {
        store: new LogStore(new SqliteBackend(join(dir, 'db')), opts),
        done: () => rmSync(dir, { recursive: true, force: true }),
      };
    };

    it('a slow watcher past its buffer limit catches up from the log, in order, without gaps', async () => {
      const { store, done } = open({ watchBufferLimit: 10 });
      try {
        const w = store.watch('/s/', 0);
        const it = w[Symbol.asyncIterator]();
        const first = collect(it, 1); // consumer waiting: the first event goes straight through
        const revs: number[] = [];
        for (let i = 0; i < 250; i++) revs.push((await store.create(`/s/${i}`, enc(String(i)))).modRevision);
        const got = [...(await first), ...(await collect(it, 249))];
        assert.deepEqual(got, revs);
        // ... and is live again afterwards.
        const more = (await store.create('/s/more', enc('x'))).modRevision;
        assert.deepEqual(await collect(it, 1), [more]);
        w.close();
      } finally {
        await store.close();
        done();
      }
    });

    it('a lagging watcher whose next revision gets compacted fails with Compacted', async () => {
      const { store, done } = open({ watchBufferLimit: 5 });
      try {
        const w = store.watch('/c/', 0);
        const it = w[Symbol.asyncIterator]();
        for (let i = 0; i < 20; i++)
          await store.update('/c/k', enc(String(i)), 0).catch(() => store.create('/c/k', enc(String(i))));
        await store.compact(await store.currentRevision());
        await collect(it, 5); // what was buffered is still delivered
        await assert.rejects(it.next(), (e: Error & { reason?: string }) => e.reason === 'Compacted');
      } finally {
        await store.close();
        done();
      }
    });

    it('group commit: a batch applies in order with compare-and-swap between its writes', async () => {
      const { store, done } = open({ groupCommit: true });
      try {
        const [a, b, c, d] = await Promise.allSettled([
          store.create('/g/k', enc('1')),
          store.create('/g/k', enc('2')), // KeyExists: the first create is in the same transaction
          store.update('/g/k', enc('3'), 0),
          store.delete('/g/missing', 0),
        ]);
        assert.equal(a.status, 'fulfilled');
        assert.ok(b.status === 'rejected' && b.reason.reason === 'KeyExists');
        assert.ok(
          c.status === 'fulfilled' && a.status === 'fulfilled' && c.value.modRevision === a.value.modRevision + 1,
        );
        assert.ok(d.status === 'rejected' && d.reason.code === 'NotFound');
        assert.equal(new TextDecoder().decode((await store.get('/g/k'))?.value), '3');
      } finally {
        await store.close();
        done();
      }
    });

    it('the automatic compactor keeps the newest compactKeep revisions', async () => {
      const { store, done } = open({ compactIntervalMs: 50, compactKeep: 5 });
      try {
        for (let i = 0; i < 20; i++) await store.create(`/ac/${i}`, enc(String(i)));
        const deadline = Date.now() + 5000;
        for (;;) {
          try {
            await store.list('/ac/', { revision: 14 });
          } catch (e) {
            assert.equal((e as { reason?: string }).reason, 'Compacted');
            break;
          }
          if (Date.now() > deadline) assert.fail('no automatic compaction within 5 s');
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal((await store.list('/ac/', { revision: 15 })).items.length, 15);
        assert.equal(await store.count('/ac/'), 20);
      } finally {
        await store.close();
        done();
      }
    });

    it('rejects continue tokens for another prefix or a different revision', async () => {
      const { store, done } = open();
      try {
        await store.create('/t/a', enc('1'));
        await store.create('/t/b', enc('1'));
        const p = await store.list('/t/', { limit: 1 });
        await assert.rejects(
          store.list('/u/', { continue: p.continue }),
          (e: Error & { field?: string }) => e.field === 'continue',
        );
        await assert.rejects(
          store.list('/t/', { continue: p.continue, revision: 1 }),
          (e: Error & { field?: string }) => e.field === 'revision',
        );
        await assert.rejects(
          store.list('/t/', { continue: encodeContinue(99, '/t/b') }),
          (e: Error & { reason?: string }) => e.reason === 'FutureRevision',
        );
      } finally {
        await store.close();
        done();
      }
    });
  });
}

describe('log store: a failed transaction', () => {
  it('rejects every write of the batch and leaves the log and revision unchanged', async () => {
    let failOn = '';
    class FailingBackend extends MemoryBackend {
      override append(row: NewRow): Row {
        if (row.key === failOn) throw new Error('disk full');
        return super.append(row);
      }
    }
    const backend = new FailingBackend();
    const store = new LogStore(backend, { groupCommit: true });
    try {
      await store.create('/f/ok', enc('1'));
      failOn = '/f/bad';
      const rs = await Promise.allSettled([store.create('/f/x', enc('1')), store.create('/f/bad', enc('1'))]);
      assert.ok(rs.every((r) => r.status === 'rejected'));
      assert.equal(await store.currentRevision(), 1);
      assert.equal(await store.get('/f/x'), undefined);
      failOn = '';
      assert.equal((await store.create('/f/x', enc('1'))).modRevision, 2);
    } finally {
      await store.close();
    }
  });
});

describe('log store: a durable backend (group commit, acknowledged after fsync)', () => {
  /** A memory log whose sync() the test releases by hand; records what each sync covered. */
  class HeldSyncBackend extends MemoryBackend {
    syncs: { rev: number; release: () => void; fail: (e: Error) => void }[] = [];
    sync(): Promise<void> {
      return new Promise((resolve, reject) => {
        this.syncs.push({ rev: this.currentRevision(), release: resolve, fail: reject });
      });
    }
  }
  const settled = async (p: Promise<unknown>) => {
    let done = false;
    void p.then(
      () => (done = true),
      () => (done = true),
    );
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return done;
  };

  it('acknowledges, shows and publishes a group only after a sync that started after its commit', async () => {
    const backend = new HeldSyncBackend();
    const store = new LogStore(backend, { groupCommit: true });
    try {
      const w = store.watch('/d/', 0);
      const it = w[Symbol.asyncIterator]();
      const first = [store.create('/d/a', enc('1')), store.create('/d/b', enc('1'))];
      assert.equal(await settled(Promise.race(first)), false, 'acknowledged before its sync');
      assert.equal(backend.syncs.length, 1);
      assert.equal(backend.syncs[0].rev, 2, 'the first sync covers both writes (one transaction)');
      // Committed but not durable: invisible to lists, revision and new watches; a get waits.
      assert.equal((await store.list('/d/')).items.length, 0);
      assert.equal(await store.currentRevision(), 0);
      const get = store.get('/d/a');
      assert.equal(await settled(get), false, 'a read returned a write that is not durable yet');
      // Writes arriving while that sync runs form the next group, with its own sync.
      const second = [
        store.create('/d/c', enc('1')),
        store.update('/d/a', enc('2'), 1),
        store.create('/d/d', enc('1')),
      ];
      await settled(Promise.race(second));
      assert.equal(backend.syncs.length, 2);
      assert.equal(backend.syncs[1].rev, 5, 'the three later writes share the second sync');
      // With two syncs in flight, further writes wait for one of them.
      const third = [store.create('/d/e', enc('1')), store.create('/d/f', enc('1'))];
      await settled(Promise.race(third));
      assert.equal(backend.syncs.length, 2, 'a third transaction while two syncs are in flight');
      assert.equal(backend.currentRevision(), 5);
      // Groups are acknowledged in commit order: the second waits for the first.
      assert.equal(await settled(Promise.race(second)), false);
      backend.syncs[0].release();
      assert.deepEqual(
        (await Promise.all(first)).map((kv) => kv.modRevision),
        [1, 2],
      );
      assert.equal((await get)?.modRevision, 1);
      assert.deepEqual(await collect(it, 2), [1, 2]);
      assert.equal(await settled(Promise.race(second)), false, 'acknowledged before its own sync');
      // The first sync's completion let the waiting writes commit as one group.
      assert.equal(backend.syncs.length, 3);
      assert.equal(backend.syncs[2].rev, 7);
      // A later sync covers everything committed before it: releasing the third acknowledges both.
      backend.syncs[2].release();
      assert.deepEqual(
        (await Promise.all(second)).map((kv) => kv.modRevision),
        [3, 4, 5],
      );
      assert.deepEqual(
        (await Promise.all(third)).map((kv) => kv.modRevision),
        [6, 7],
      );
      assert.deepEqual(await collect(it, 5), [3, 4, 5, 6, 7]);
      assert.equal((await store.list('/d/')).items.length, 6);
      backend.syncs[1].release();
      w.close();
    } finally {
      const closing = store.close();
      for (const s of backend.syncs) s.release();
      await closing;
    }
  });

  it('a failed sync fails its group and every later operation (durability unknown)', async () => {
    const backend = new HeldSyncBackend();
    const store = new LogStore(backend, { groupCommit: true });
    const a = store.create('/e/a', enc('1'));
    await settled(a);
    const b = store.create('/e/b', enc('1'));
    await settled(b);
    assert.equal(backend.syncs.length, 2);
    backend.syncs[0].fail(new Error('EIO'));
    backend.syncs[1].release(); // a later sync succeeding does not make the group durable
    await assert.rejects(a, (e: Error & { reason?: string }) => e.reason === 'SyncFailed');
    await assert.rejects(b, (e: Error & { reason?: string }) => e.reason === 'SyncFailed');
    await assert.rejects(store.get('/e/a'), (e: Error & { reason?: string }) => e.reason === 'SyncFailed');
    await assert.rejects(store.create('/e/c', enc('1')), (e: Error & { reason?: string }) => e.reason === 'SyncFailed');
    await store.close();
  });
});
