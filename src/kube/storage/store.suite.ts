// The conformance suite every Store backend passes (memory, SQLite, etcd): revision semantics,
// errors, lists with pagination at a fixed revision, watches from a revision, compaction.
// Run by test/integration/store-{memory,sqlite,etcd}.test.ts. Each `it` gets a fresh store from
// makeStore (for etcd: a fresh key prefix; revisions are then shared, so the suite only assumes
// they increase, never that they step by one).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValue, Store, Watch, WatchEvent } from './types.js';
import { isSkiffError } from '../../common/index.js';

export interface StoreUnderTest {
  store: Store;
  cleanup: () => Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

function hasReason(code: string, reason?: string) {
  return (e: unknown) => {
    assert.ok(isSkiffError(e), `expected a SkiffError, got ${String(e)}`);
    assert.equal(e.code, code, `code of: ${e.message}`);
    if (reason) assert.equal(e.reason, reason, `reason of: ${e.message}`);
    return true;
  };
}

/** A watch "from now" starts where the backend establishes it, which its client cannot observe (on
 *  etcd, a stream's round trip): writes markers under the prefix until one is delivered. The events
 *  of later markers may follow; `take(..., notMarker)` skips them. */
const MARKER = '~live-';
async function untilLive(s: Store, w: Watch, prefix: string): Promise<void> {
  const first = w[Symbol.asyncIterator]().next();
  let live = false;
  void first.then(() => {
    live = true;
  });
  for (let i = 0; !live; i++) {
    await s.create(`${prefix}${MARKER}${i}`, enc('marker'));
    await Promise.race([first, new Promise((r) => setTimeout(r, 50))]);
  }
}
const notMarker = (e: WatchEvent) => e.type === 'PROGRESS' || !e.kv.key.includes(MARKER);

/** Reads n events (skipping PROGRESS unless wanted, and those `keep` refuses) or fails after ms. */
async function take(
  w: Watch,
  n: number,
  ms = 10_000,
  withProgress = false,
  keep: (e: WatchEvent) => boolean = () => true,
): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const it = w[Symbol.asyncIterator]();
  const deadline = Date.now() + ms;
  while (out.length < n) {
    const left = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      it.next(),
      new Promise<'timeout'>((res) => {
        timer = setTimeout(() => res('timeout'), Math.max(left, 0));
      }),
    ]);
    clearTimeout(timer);
    if (r === 'timeout')
      throw new Error(`watch: got ${out.length} of ${n} events in ${ms} ms: ${JSON.stringify(out.map(summary))}`);
    if (r.done) throw new Error(`watch ended after ${out.length} of ${n} events`);
    if (r.value.type === 'PROGRESS' && !withProgress) continue;
    if (!keep(r.value)) continue;
    out.push(r.value);
  }
  return out;
}

function summary(e: WatchEvent): string {
  return e.type === 'PROGRESS'
    ? `PROGRESS@${e.revision}`
    : `${e.type} ${e.kv.key}@${e.kv.modRevision}=${dec(e.kv.value)}`;
}

function kvs(items: KeyValue[]) {
  return items.map((i) => [i.key, dec(i.value)]);
}

export function storeSuite(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  const withStore = (fn: (s: Store) => Promise<void>) => async () => {
    const { store, cleanup } = await makeStore();
    try {
      await fn(store);
    } finally {
      await cleanup();
    }
  };

  describe(`Store conformance: ${name}`, () => {
    it(
      'create, get, update, delete with revision semantics',
      withStore(async (s) => {
        const r0 = await s.currentRevision();
        const a = await s.create('/registry/pods/default/a', enc('v1'));
        assert.ok(a.modRevision > r0);
        assert.equal(a.createRevision, a.modRevision);
        assert.equal(await s.currentRevision(), a.modRevision);
        const got = await s.get('/registry/pods/default/a');
        assert.deepEqual(
          [got?.key, dec(got?.value), got?.modRevision, got?.createRevision],
          ['/registry/pods/default/a', 'v1', a.modRevision, a.modRevision],
        );
        assert.equal(await s.get('/registry/pods/default/missing'), undefined);

        const b = await s.update('/registry/pods/default/a', enc('v2'), a.modRevision);
        assert.ok(b.modRevision > a.modRevision);
        assert.equal(b.createRevision, a.createRevision);
        assert.equal(dec((await s.get('/registry/pods/default/a'))?.value), 'v2');
        const c = await s.update('/registry/pods/default/a', enc('v3'), 0); // 0 = unconditional
        assert.ok(c.modRevision > b.modRevision);

        const d = await s.delete('/registry/pods/default/a', c.modRevision);
        assert.ok(d.modRevision > c.modRevision, 'the delete has its own revision');
        assert.equal(d.createRevision, a.createRevision);
        assert.equal(dec(d.value), 'v3', 'delete returns the last value');
        assert.equal(await s.get('/registry/pods/default/a'), undefined);
        assert.equal(await s.currentRevision(), d.modRevision);

        const again = await s.create('/registry/pods/default/a', enc('new'));
        assert.ok(again.createRevision > d.modRevision, 'a re-created key starts a new generation');
      }),
    );

    it(
      'refuses: KeyExists, Conflict, NotFound, bad arguments',
      withStore(async (s) => {
        const a = await s.create('/k/a', enc('1'));
        await assert.rejects(s.create('/k/a', enc('2')), hasReason('AlreadyExists', 'KeyExists'));
        await assert.rejects(s.update('/k/a', enc('2'), a.modRevision + 100), hasReason('Conflict'));
        await assert.rejects(s.delete('/k/a', a.modRevision + 100), hasReason('Conflict'));
        await assert.rejects(s.update('/k/missing', enc('2'), 0), hasReason('NotFound'));
        await assert.rejects(s.delete('/k/missing', 0), hasReason('NotFound'));
        await assert.rejects(s.create('', enc('x')), hasReason('InvalidArgument'));
        await assert.rejects(s.update('/k/a', enc('x'), -1), hasReason('InvalidArgument'));
        await assert.rejects(s.list('/k/', { limit: -5 }), hasReason('InvalidArgument'));
        await assert.rejects(s.list('/k/', { continue: 'not a token' }), hasReason('InvalidArgument'));
        const cur = await s.currentRevision();
        await assert.rejects(s.list('/k/', { revision: cur + 1000 }), hasReason('InvalidArgument', 'FutureRevision'));
        // Nothing was half-written by the failures.
        assert.equal(dec((await s.get('/k/a'))?.value), '1');
        assert.equal(await s.count('/k/'), 1);
        // Concurrent updates with the same expected revision: exactly one wins.
        const results = await Promise.allSettled(
          [1, 2, 3, 4].map((i) => s.update('/k/a', enc(`c${i}`), a.modRevision)),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') hasReason('Conflict')(r.reason);
      }),
    );

    it(
      'lists a prefix only, in key order, and counts',
      withStore(async (s) => {
        for (const k of [
          '/registry/pods/ns1/b',
          '/registry/pods/ns1/a',
          '/registry/podsx/ns1/c',
          '/registry/pod',
          '/registry/pods/ns2/a',
        ]) {
          await s.create(k, enc(k));
        }
        const l = await s.list('/registry/pods/');
        assert.deepEqual(
          l.items.map((i) => i.key),
          ['/registry/pods/ns1/a', '/registry/pods/ns1/b', '/registry/pods/ns2/a'],
        );
        assert.equal(l.revision, await s.currentRevision());
        assert.equal(l.continue, undefined);
        assert.deepEqual(
          (await s.list('/registry/pods/ns1/')).items.map((i) => i.key),
          ['/registry/pods/ns1/a', '/registry/pods/ns1/b'],
        );
        assert.equal(await s.count('/registry/pods/'), 3);
        assert.equal(await s.count('/registry/podsx/'), 1);
        assert.equal(await s.count('/registry/nothing/'), 0);
        await s.delete('/registry/pods/ns1/a', 0);
        assert.equal(await s.count('/registry/pods/'), 2);
        // The empty prefix is every key of the store.
        assert.equal(await s.count(''), 4);
        assert.deepEqual(
          (await s.list('', { limit: 3 })).items.map((i) => i.key),
          ['/registry/pod', '/registry/pods/ns1/b', '/registry/pods/ns2/a'],
        );
      }),
    );

    it(
      'paginates with continue at one revision while writes happen',
      withStore(async (s) => {
        const keys = Array.from({ length: 25 }, (_, i) => `/registry/cm/ns/k${String(i).padStart(2, '0')}`);
        for (const k of keys) await s.create(k, enc('orig'));
        const p1 = await s.list('/registry/cm/', { limit: 10 });
        assert.equal(p1.items.length, 10);
        assert.ok(p1.continue);
        assert.equal(p1.remaining, 15);
        // Writes between pages: none of them may show up in the later pages.
        await s.update(keys[15], enc('changed'), 0);
        await s.delete(keys[20], 0);
        await s.create('/registry/cm/ns/k99', enc('new'));
        await s.update(keys[0], enc('changed'), 0);
        const p2 = await s.list('/registry/cm/', { limit: 10, continue: p1.continue });
        const p3 = await s.list('/registry/cm/', { limit: 10, continue: p2.continue });
        assert.equal(p2.revision, p1.revision);
        assert.equal(p3.revision, p1.revision);
        assert.equal(p3.continue, undefined);
        assert.equal(p3.remaining ?? 0, 0);
        const all = [...p1.items, ...p2.items, ...p3.items];
        assert.deepEqual(
          all.map((i) => i.key),
          keys,
        );
        assert.ok(
          all.every((i) => dec(i.value) === 'orig'),
          "every page shows the first page's revision",
        );
        // A fresh list sees the writes.
        const now = await s.list('/registry/cm/');
        assert.equal(now.items.length, 25);
        assert.ok(now.revision > p1.revision);
      }),
    );

    it(
      'lists at a past revision',
      withStore(async (s) => {
        const a = await s.create('/r/a', enc('a1'));
        await s.create('/r/b', enc('b1'));
        const mid = await s.currentRevision();
        await s.update('/r/a', enc('a2'), 0);
        await s.delete('/r/b', 0);
        await s.create('/r/c', enc('c1'));
        assert.deepEqual(kvs((await s.list('/r/', { revision: mid })).items), [
          ['/r/a', 'a1'],
          ['/r/b', 'b1'],
        ]);
        assert.deepEqual(kvs((await s.list('/r/', { revision: a.modRevision })).items), [['/r/a', 'a1']]);
        assert.deepEqual(kvs((await s.list('/r/')).items), [
          ['/r/a', 'a2'],
          ['/r/c', 'c1'],
        ]);
        const paged = await s.list('/r/', { revision: mid, limit: 1 });
        assert.deepEqual(kvs(paged.items), [['/r/a', 'a1']]);
        assert.equal(paged.revision, mid);
        assert.deepEqual(kvs((await s.list('/r/', { continue: paged.continue, limit: 1 })).items), [['/r/b', 'b1']]);
      }),
    );

    it(
      'watches from now: ordered events with prev values',
      withStore(async (s) => {
        const w = s.watch('/registry/pods/', 0);
        try {
          await untilLive(s, w, '/registry/pods/');
          const a = await s.create('/registry/pods/x', enc('1'));
          await s.create('/registry/podsx/y', enc('other prefix'));
          const b = await s.update('/registry/pods/x', enc('2'), a.modRevision);
          const d = await s.delete('/registry/pods/x', b.modRevision);
          const ev = await take(w, 3, 10_000, false, notMarker);
          assert.deepEqual(ev.map(summary), [
            `PUT /registry/pods/x@${a.modRevision}=1`,
            `PUT /registry/pods/x@${b.modRevision}=2`,
            `DELETE /registry/pods/x@${d.modRevision}=2`,
          ]);
          assert.equal(ev[0].type === 'PUT' && ev[0].prev, undefined);
          assert.ok(
            ev[1].type === 'PUT' &&
              ev[1].prev &&
              dec(ev[1].prev.value) === '1' &&
              ev[1].prev.modRevision === a.modRevision,
          );
          assert.ok(
            ev[2].type === 'DELETE' &&
              ev[2].prev &&
              dec(ev[2].prev.value) === '2' &&
              ev[2].prev.modRevision === b.modRevision,
          );
          assert.ok(ev[2].type === 'DELETE' && ev[2].kv.createRevision === a.createRevision);
        } finally {
          w.close();
        }
      }),
    );

    it(
      'watches from a past revision: replay then live, no gaps, no duplicates',
      withStore(async (s) => {
        await s.create('/w/before', enc('x'));
        const from = await s.currentRevision();
        const revs: number[] = [];
        for (let i = 0; i < 30; i++) revs.push((await s.create(`/w/k${i}`, enc(String(i)))).modRevision);
        await s.create('/wx/not-mine', enc('x'));
        const w = s.watch('/w/', from);
        try {
          // More writes while the replay is consumed.
          const more = (async () => {
            for (let i = 30; i < 60; i++) revs.push((await s.create(`/w/k${i}`, enc(String(i)))).modRevision);
          })();
          const ev = await take(w, 60);
          await more;
          assert.deepEqual(
            ev.map((e) => (e.type === 'PROGRESS' ? -1 : e.kv.modRevision)),
            revs,
          );
          assert.deepEqual(
            ev.map((e) => e.type === 'PUT' && dec(e.kv.value)),
            revs.map((_, i) => String(i)),
          );
        } finally {
          w.close();
        }
        // Watching from the revision of the last event yields nothing old.
        const last = revs[revs.length - 1];
        const w2 = s.watch('/w/', last);
        try {
          const c = await s.update('/w/k0', enc('again'), 0);
          const [e] = await take(w2, 1);
          assert.equal(e.type === 'PUT' && e.kv.modRevision, c.modRevision);
          assert.ok(e.type === 'PUT' && dec(e.prev?.value) === '0');
        } finally {
          w2.close();
        }
      }),
    );

    it(
      'fans out to many concurrent watchers, each getting every event',
      withStore(async (s) => {
        const from = await s.currentRevision();
        const watchers = Array.from({ length: 100 }, (_, i) => s.watch(i % 2 ? '/fan/' : '/fan/a/', from));
        try {
          const writes: KeyValue[] = [];
          for (let i = 0; i < 20; i++) writes.push(await s.create(`/fan/${i % 2 ? 'a' : 'b'}/${i}`, enc(String(i))));
          const all = await Promise.all(watchers.map((w, i) => take(w, i % 2 ? 20 : 10)));
          for (let i = 0; i < all.length; i++) {
            const want = writes.filter((kv) => i % 2 || kv.key.startsWith('/fan/a/')).map((kv) => kv.modRevision);
            assert.deepEqual(
              all[i].map((e) => e.type !== 'PROGRESS' && e.kv.modRevision),
              want,
            );
          }
        } finally {
          for (const w of watchers) w.close();
        }
      }),
    );

    it(
      'closes watches: close() and abort end the iteration',
      withStore(async (s) => {
        const ac = new AbortController();
        const w = s.watch('/c/', 0, { signal: ac.signal });
        const w2 = s.watch('/c/', 0);
        setTimeout(() => {
          ac.abort();
          w2.close();
        }, 50);
        const seen: WatchEvent[] = [];
        for await (const e of w) seen.push(e);
        for await (const e of w2) seen.push(e);
        assert.deepEqual(
          seen.filter((e) => e.type !== 'PROGRESS'),
          [],
        );
      }),
    );

    it(
      'sends progress notifications when asked',
      withStore(async (s) => {
        const a = await s.create('/p/a', enc('1'));
        const w = s.watch('/p/', 0, { progressNotify: true });
        try {
          const [e] = await take(w, 1, 15_000, true);
          assert.equal(e.type, 'PROGRESS');
          assert.ok(e.type === 'PROGRESS' && e.revision >= a.modRevision, 'a bookmark covers every earlier write');
        } finally {
          w.close();
        }
      }),
    );

    it(
      'compacts: old list and watch fail with Compacted; newer ones work',
      withStore(async (s) => {
        const a = await s.create('/cp/a', enc('1'));
        await s.update('/cp/a', enc('2'), 0);
        await s.create('/cp/b', enc('1'));
        await s.delete('/cp/b', 0);
        const at = await s.currentRevision();
        await s.update('/cp/a', enc('3'), 0);
        await s.compact(at);
        await s.compact(at); // again: a no-op
        await assert.rejects(s.list('/cp/', { revision: a.modRevision }), hasReason('FailedPrecondition', 'Compacted'));
        await assert.rejects(take(s.watch('/cp/', a.modRevision), 1), hasReason('FailedPrecondition', 'Compacted'));
        assert.deepEqual(kvs((await s.list('/cp/', { revision: at })).items), [['/cp/a', '2']]);
        assert.deepEqual(kvs((await s.list('/cp/')).items), [['/cp/a', '3']]);
        const w = s.watch('/cp/', at);
        try {
          const [e] = await take(w, 1);
          assert.ok(e.type === 'PUT' && dec(e.kv.value) === '3' && dec(e.prev?.value) === '2');
        } finally {
          w.close();
        }
        // A paginated list whose revision got compacted fails too (the API server answers 410).
        await s.create('/cp/c', enc('1'));
        const p = await s.list('/cp/', { limit: 1 });
        assert.ok(p.continue);
        await s.update('/cp/c', enc('2'), 0);
        await s.compact(await s.currentRevision());
        await assert.rejects(
          s.list('/cp/', { limit: 1, continue: p.continue }),
          hasReason('FailedPrecondition', 'Compacted'),
        );
        await assert.rejects(
          s.compact((await s.currentRevision()) + 1000),
          hasReason('InvalidArgument', 'FutureRevision'),
        );
        // Writes still work after compaction.
        const u = await s.update('/cp/a', enc('4'), 0);
        assert.equal(u.createRevision, a.createRevision);
      }),
    );
  });
}

/**
 * Durability check shared by the SQLite and etcd tests: a child process opens `url` and creates
 * keys under /burst/ from 8 concurrent writers, printing "key value" on each acknowledgement; after
 * `acks` acknowledgements it is SIGKILLed. Returns every acknowledged key → value, to be found
 * after reopening. `storeOpts` go to openStore in the child (e.g. aggressive compaction and
 * checkpoints, so the kill can land in the middle of those too).
 */
export async function killedWriterBurst(
  url: string,
  acks: number,
  storeOpts: Record<string, unknown> = { compactIntervalMs: 0 },
): Promise<Map<string, string>> {
  const { spawn } = await import('node:child_process');
  const storeIndex = new URL('./index.ts', import.meta.url).href;
  const code = `
    import { openStore } from ${JSON.stringify(storeIndex)};
    const s = await openStore(${JSON.stringify(url)}, ${JSON.stringify(storeOpts)});
    const w = async (n) => { for (let i = 0; ; i++) { const k = '/burst/w' + n + '/' + i; const v = 'v' + n + '-' + i + '-' + 'x'.repeat(200);
      await s.create(k, new TextEncoder().encode(v)); process.stdout.write(k + ' ' + v + '\\n'); } };
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(w));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked = new Map<string, string>();
  let buf = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer got ${acked.size} of ${acks} acks in 30 s: ${stderr}`));
    }, 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const sp = l.indexOf(' ');
        acked.set(l.slice(0, sp), l.slice(sp + 1));
      }
      if (acked.size >= acks && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    child.on('exit', (_c, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && acked.size >= acks) resolve();
      else reject(new Error(`writer exited early (${signal ?? _c}) after ${acked.size} acks: ${stderr}`));
    });
  });
  // Lines already in the pipe when the kill landed were acknowledged too: the 'exit' event may
  // come before the last 'data', so drain stdout.
  await new Promise((r) => (child.stdout!.readableEnded ? r(undefined) : child.stdout!.once('end', r)));
  for (const l of buf.split('\n').filter(Boolean)) {
    const sp = l.indexOf(' ');
    if (sp > 0) acked.set(l.slice(0, sp), l.slice(sp + 1));
  }
  return acked;
}
