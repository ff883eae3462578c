// The Store conformance suite against the etcd backend on a real etcd (Debian's /usr/bin/etcd,
// started here on loopback), plus durability (the Skiff writer is SIGKILLed mid-burst) and
// reconnection (etcd itself is SIGKILLed and restarted under a live watch). A missing etcd is
// a failure, never a skip.
import { before, after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { storeSuite, killedWriterBurst } from '../../src/kube/storage/store.suite.js';
import { openStore, type Store, type WatchEvent } from '../../src/kube/storage/index.js';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';

let etcd: Etcd;
before(async () => {
  etcd = await startEtcd({ progressNotifyInterval: '1s' });
});
after(async () => {
  await etcd?.stop();
});

/**
 * A TCP relay to etcd whose connections the test can cut, or freeze first (nothing more from etcd
 * reaches the client; what etcd sends meanwhile is dropped with the connection at the cut).
 */
async function relay(target: string) {
  const [host, port] = target.split(':');
  const socks = new Set<Socket>();
  const upstream = new Set<Socket>();
  const server = createServer((c) => {
    c.on('error', () => undefined);
    const u = connect(Number(port), host);
    u.on('error', () => undefined);
    upstream.add(u);
    u.on('close', () => upstream.delete(u));
    for (const [x, y] of [
      [c, u],
      [u, c],
    ]) {
      socks.add(x);
      x.pipe(y);
      x.on('close', () => {
        socks.delete(x);
        y.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const r = {
    endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    cuts: 0,
    freeze() {
      for (const u of upstream) {
        u.unpipe();
        u.pause();
      }
    },
    cut() {
      r.cuts++;
      for (const s of socks) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        r.cut();
        server.close(() => resolve());
      }),
  };
  return r;
}

const url = (prefix: string) => `etcd://${etcd.endpoint}?prefix=${encodeURIComponent(prefix)}`;

storeSuite('etcd', async () => {
  const store = await openStore(url(`/t${randomBytes(4).toString('hex')}`), { progressIntervalMs: 500 });
  return { store, cleanup: () => store.close() };
});

storeSuite('etcd, one etcd watch per Store watch', async () => {
  const store = await openStore(url(`/d${randomBytes(4).toString('hex')}`), {
    progressIntervalMs: 500,
    etcd: { sharedWatch: false },
  });
  return { store, cleanup: () => store.close() };
});

describe('etcd store: durability, reconnection, shared watches, bad URLs', () => {
  it('shared watch: a late watcher from a recent revision replays from the ring, then goes live', async () => {
    const store: Store = await openStore(url(`/h${randomBytes(4).toString('hex')}`), { watchBufferLimit: 50 });
    try {
      const w1 = store.watch('/h/', 0);
      const it1 = w1[Symbol.asyncIterator]();
      await new Promise((r) => setTimeout(r, 300)); // the shared etcd watch attaches
      const revs: number[] = [];
      for (let i = 0; i < 5; i++) revs.push((await store.create(`/h/${i}`, new Uint8Array([i]))).modRevision);
      const w2 = store.watch('/h/', revs[1]);
      const it2 = w2[Symbol.asyncIterator]();
      const after = (await store.create('/h/5', new Uint8Array([5]))).modRevision;
      const read = async (it: AsyncIterator<WatchEvent>, n: number) => {
        const out: number[] = [];
        while (out.length < n) {
          const r = await it.next();
          assert.ok(!r.done);
          if (r.value.type !== 'PROGRESS') out.push(r.value.kv.modRevision);
        }
        return out;
      };
      assert.deepEqual(await read(it2, 4), [...revs.slice(2), after]);
      assert.deepEqual(await read(it1, 6), [...revs, after]);
      // A subscriber that stops reading is ended gracefully once past its buffer limit (w2), the other is unaffected.
      const more: number[] = [];
      const got1 = read(it1, 60);
      for (let i = 0; i < 60; i++) more.push((await store.create(`/h/m${i}`, new Uint8Array([i]))).modRevision);
      assert.deepEqual(await got1, more);
      let n = 0;
      for (;;) {
        const r = await it2.next();
        if (r.done) break;
        n++;
      }
      assert.ok(n <= 50, `the stalled watcher got ${n} events before ending`);
      // The ring still holds revs[0], but after compaction a watch from there is Compacted, as without the ring.
      await store.compact(more[10]);
      const old = store.watch('/h/', revs[0])[Symbol.asyncIterator]();
      await assert.rejects(old.next(), (e: Error & { reason?: string }) => e.reason === 'Compacted');
      w1.close();
    } finally {
      await store.close();
    }
  });

  it('a dedicated watch replaying more than 1000 revisions gets every event (etcd sends them in batches)', async () => {
    // etcd answers a catching-up watcher with at most 1000 revisions per response, each carrying the
    // current revision in its header; the events after the first batch must still be delivered.
    const store: Store = await openStore(url(`/r${randomBytes(4).toString('hex')}`), {
      etcd: { sharedWatch: false },
    });
    const N = 1050;
    try {
      const from = await store.currentRevision();
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let i = next++; i < N; i = next++) await store.create(`/r/k${i}`, new TextEncoder().encode(String(i)));
        }),
      );
      const w = store.watch('/r/', from);
      const seen = new Set<string>();
      let last = 0;
      // Missing events would leave the iteration waiting: it is ended after 30 s (the replay takes
      // well under a second here) and the count below then fails.
      const timer = setTimeout(() => w.close(), 30_000);
      try {
        for await (const ev of w) {
          if (ev.type === 'PROGRESS') continue;
          assert.ok(ev.kv.modRevision > last, 'in revision order');
          last = ev.kv.modRevision;
          seen.add(ev.kv.key);
          if (seen.size === N) break;
        }
      } finally {
        clearTimeout(timer);
        w.close();
      }
      assert.equal(seen.size, N);
    } finally {
      await store.close();
    }
  });

  it('a watch broken while it catches up resumes after its last event: none skipped, none doubled', async () => {
    // etcd sends a watcher catching up at most 1000 revisions per response, one response per 100 ms
    // (its sync loop), each headed with the current revision. The etcd3 library resumed a broken
    // stream from that header revision + 1, so a break before the last batch skipped the rest
    // (this test got 1000 of the events). The store's connections to etcd are cut as soon as the
    // first event arrives (N leaves etcd ~300 ms of batches still to send); the watch must then
    // deliver every revision exactly once, in order.
    const r = await relay(etcd.endpoint);
    const store: Store = await openStore(`etcd://${r.endpoint}?prefix=/cu${randomBytes(4).toString('hex')}`, {
      etcd: { sharedWatch: false },
    });
    const N = 3050;
    try {
      const from = await store.currentRevision();
      const written: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          for (let i = next++; i < N; i = next++)
            written.push((await store.create(`/c/k${i}`, new Uint8Array([i & 255]))).modRevision);
        }),
      );
      written.sort((x, y) => x - y);
      const w = store.watch('/c/', from);
      const revs: number[] = [];
      // A skipped event would leave the iteration waiting: it is ended after 30 s, and the count
      // below then fails.
      const timer = setTimeout(() => w.close(), 30_000);
      try {
        for await (const ev of w) {
          if (ev.type === 'PROGRESS') continue;
          if (revs.length === 0) r.cut();
          revs.push(ev.kv.modRevision);
          if (revs.length === N) break;
        }
      } finally {
        clearTimeout(timer);
        w.close();
      }
      assert.ok(r.cuts > 0, 'the connections were cut');
      assert.equal(revs.length, N, `${revs.length} of ${N} events`);
      for (let i = 0; i < N; i++)
        assert.equal(revs[i], written[i], `event ${i}: revision ${revs[i]}, written ${written[i]}`);
    } finally {
      await store.close();
      await r.close();
    }
  });

  it('a watch whose resume point was compacted while its stream was broken ends with Compacted', async () => {
    const r = await relay(etcd.endpoint);
    const prefix = `/cc${randomBytes(4).toString('hex')}`;
    const store: Store = await openStore(`etcd://${r.endpoint}?prefix=${prefix}`, { etcd: { sharedWatch: false } });
    const direct: Store = await openStore(url(prefix));
    try {
      const from = await store.currentRevision();
      const a = await store.create('/c/a', new Uint8Array([1]));
      const it = store.watch('/c/', from)[Symbol.asyncIterator]();
      const first = await it.next();
      assert.ok(!first.done && first.value.type === 'PUT' && first.value.kv.modRevision === a.modRevision);
      // Freeze the store's connections; meanwhile two more writes, and etcd compacts past them; then cut.
      r.freeze();
      await direct.create('/c/b', new Uint8Array([2]));
      const c = await direct.create('/c/c', new Uint8Array([3]));
      await direct.compact(c.modRevision);
      r.cut();
      await assert.rejects(
        it.next(),
        (e: Error & { reason?: string }) => e.reason === 'Compacted',
        'a resume from a compacted revision must fail, not skip /c/b',
      );
    } finally {
      await direct.close();
      await store.close();
      await r.close();
    }
  });

  it('getRecent: what this store last saw, stale after another writer until a conflict refreshes it', async () => {
    const u = url(`/rec${randomBytes(4).toString('hex')}`);
    const [a, b] = [await openStore(u), await openStore(u)];
    const bytes = (s: string) => new TextEncoder().encode(s);
    const text = (kv?: { value: Uint8Array }) => (kv ? new TextDecoder().decode(kv.value) : undefined);
    try {
      assert.equal(await a.getRecent!('/r/x'), undefined);
      const c = await a.create('/r/x', bytes('1'));
      assert.equal((await a.getRecent!('/r/x'))?.modRevision, c.modRevision);
      // Unknown to b: a serializable read finds it.
      assert.equal(text(await b.getRecent!('/r/x')), '1');
      const u2 = await b.update('/r/x', bytes('2'), c.modRevision);
      // (b knew the key at exactly that revision: its put went without prev_kv, the create revision
      // came from its copy)
      assert.equal(u2.createRevision, c.createRevision);
      // a has not seen b's write: its copy is stale, and a write on it fails instead of landing.
      const stale = await a.getRecent!('/r/x');
      assert.equal(stale?.modRevision, c.modRevision);
      await assert.rejects(
        a.update('/r/x', bytes('3'), stale!.modRevision),
        (e: Error & { code?: string }) => e.code === 'Conflict',
      );
      // The failed write brought the current value back.
      assert.equal((await a.getRecent!('/r/x'))?.modRevision, u2.modRevision);
      // A write from a revision this store never saw asks etcd for the previous value instead.
      const d = await openStore(u);
      const u3 = await d.update('/r/x', bytes('4'), u2.modRevision).finally(() => d.close());
      assert.equal(u3.createRevision, c.createRevision);
      // A delete through a: its copy goes with it.
      await a.delete('/r/x', u3.modRevision);
      assert.equal(await a.getRecent!('/r/x'), undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps every acknowledged write when the Skiff writer is SIGKILLed mid-burst', async () => {
    const u = url(`/kill${randomBytes(4).toString('hex')}`);
    const acked = await killedWriterBurst(u, 150);
    const store = await openStore(u);
    try {
      for (const [key, value] of acked)
        assert.equal(new TextDecoder().decode((await store.get(key))?.value), value, `acknowledged ${key} lost`);
    } finally {
      await store.close();
    }
  });

  it('a watch survives etcd being killed and restarted: no gap, no duplicate', async () => {
    const store: Store = await openStore(url(`/re${randomBytes(4).toString('hex')}`));
    try {
      const first = await store.create('/a/0', new Uint8Array([0]));
      const w = store.watch('/a/', first.modRevision);
      const it = w[Symbol.asyncIterator]();
      const seen: number[] = [];
      const next = async (): Promise<WatchEvent> => {
        for (;;) {
          const r = await it.next();
          assert.ok(!r.done);
          if (r.value.type !== 'PROGRESS') return r.value;
        }
      };
      const revs = [(await store.create('/a/1', new Uint8Array([1]))).modRevision];
      const e1 = await next();
      seen.push(e1.type !== 'PROGRESS' ? e1.kv.modRevision : -1);
      await etcd.kill();
      await etcd.restart();
      // Writes fail while etcd is away, then succeed once the client has reconnected.
      const deadline = Date.now() + 20_000;
      for (let i = 2; i < 5; i++) {
        for (;;) {
          try {
            revs.push((await store.create(`/a/${i}`, new Uint8Array([i]))).modRevision);
            break;
          } catch (e) {
            if (Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      }
      while (seen.length < revs.length) {
        const e = await next();
        seen.push(e.type !== 'PROGRESS' ? e.kv.modRevision : -1);
      }
      assert.deepEqual(seen, revs);
      w.close();
    } finally {
      await store.close();
    }
  });

  it("closing a watch ends its etcd watcher (etcd's own count), for shared and dedicated watches", async () => {
    // (an etcd of its own: the other tests' watchers, ending asynchronously, do not move its count)
    const own = await startEtcd();
    const watchers = async () => {
      const text = await (await fetch(`${own.url}/metrics`)).text();
      return Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)?.[1]);
    };
    const until = async (want: number) => {
      const deadline = Date.now() + 10_000;
      while ((await watchers()) !== want) {
        assert.ok(Date.now() < deadline, `etcd's watchers: ${await watchers()}, want ${want}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      const base = await watchers();
      assert.equal(base, 0);
      for (const sharedWatch of [false, true]) {
        const store = await openStore(`etcd://${own.endpoint}?prefix=/${sharedWatch}`, { etcd: { sharedWatch } });
        try {
          const rev = await store.currentRevision();
          const ws = [0, 1, 2].map((i) => store.watch(`/p${i}/`, rev));
          // attached once a write under each prefix is delivered
          for (let i = 0; i < 3; i++) {
            const kv = await store.create(`/p${i}/x`, new Uint8Array([i]));
            const ev = await ws[i][Symbol.asyncIterator]().next();
            assert.ok(!ev.done && ev.value.type === 'PUT' && ev.value.kv.modRevision === kv.modRevision);
          }
          await until(base + 3);
          for (const w of ws) w.close();
          // (a shared watch outlives its last subscriber for a while; closing the store ends it)
          if (!sharedWatch) await until(base);
        } finally {
          await store.close();
        }
        await until(base);
      }
    } finally {
      await own.stop();
    }
  });

  it('with etcd auth: a watch resumed with an expired token authenticates again; calls too', async () => {
    // (tokens expire after 1 s unused, so the one the watch was created with is stale when it resumes)
    const authed = await startEtcd({ args: ['--auth-token-ttl', '1'] });
    try {
      const post = async (path: string, body: object) => {
        const r = await fetch(`${authed.url}/v3/auth/${path}`, { method: 'POST', body: JSON.stringify(body) });
        assert.equal(r.status, 200, `${path}: ${await r.text()}`);
      };
      await post('role/add', { name: 'root' });
      await post('user/add', { name: 'root', password: 'pw-root' });
      await post('user/grant', { user: 'root', role: 'root' });
      await post('enable', {});
      await assert.rejects(
        openStore(`etcd://${authed.endpoint}`, { etcd: { username: 'root', password: 'wrong', timeoutMs: 3000 } }),
        (e: Error & { code?: string }) => e.code === 'Unavailable' && /authentication failed/.test(e.message),
      );
      const open = () => openStore(`etcd://${authed.endpoint}`, { etcd: { username: 'root', password: 'pw-root' } });
      const store = await open();
      let writer: Store | undefined;
      try {
        const w = store.watch('/auth/', 0);
        const it = w[Symbol.asyncIterator]();
        const next = async () => {
          for (;;) {
            const r = await it.next();
            assert.ok(!r.done);
            if (r.value.type !== 'PROGRESS') return r.value;
          }
        };
        const a = await store.create('/auth/a', new Uint8Array([1]));
        assert.equal((await next()).kv.modRevision, a.modRevision);
        await new Promise((r) => setTimeout(r, 1500));
        await authed.kill();
        await authed.restart();
        // Written by another client, so the watching store makes no call that would renew its
        // token: its watch stream, re-created with the forgotten token, must authenticate again.
        writer = await open();
        let b: Awaited<ReturnType<Store['create']>> | undefined;
        const deadline = Date.now() + 20_000;
        while (!b) {
          try {
            b = await writer.create('/auth/b', new Uint8Array([2]));
          } catch (e) {
            if (Date.now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        assert.equal((await next()).kv.modRevision, b.modRevision);
        // and the store's own calls too
        const c = await store.create('/auth/c', new Uint8Array([3]));
        assert.equal((await next()).kv.modRevision, c.modRevision);
        w.close();
      } finally {
        await store.close();
        await writer?.close();
      }
    } finally {
      await authed.stop();
    }
  });

  it('etcd killed and restarted under concurrent writes: every acknowledged write kept and watched', async () => {
    const store: Store = await openStore(url(`/kw${randomBytes(4).toString('hex')}`));
    try {
      const WRITERS = 16;
      const base = await Promise.all(
        Array.from({ length: WRITERS }, (_, i) => store.create(`/k/${i}`, new Uint8Array([0]))),
      );
      const w = store.watch('/k/', Math.max(...base.map((kv) => kv.modRevision)));
      const watched: number[] = [];
      const watching = (async () => {
        for await (const ev of w) if (ev.type === 'PUT') watched.push(ev.kv.modRevision);
      })();
      // Each writer updates its key in a loop; a failed write (etcd away: its outcome unknown)
      // re-reads the key and goes on from what is stored.
      const acked: { rev: number; value: number }[][] = base.map(() => []);
      let failures = 0;
      let stop = false;
      let restarted = false;
      const writer = async (i: number) => {
        let rev = base[i].modRevision;
        let afterRestart = 0;
        for (let n = 1; !stop && afterRestart < 10; n++) {
          try {
            rev = (await store.update(`/k/${i}`, new Uint8Array([n % 256]), rev)).modRevision;
            acked[i].push({ rev, value: n % 256 });
            if (restarted) afterRestart++;
          } catch {
            failures++;
            for (;;) {
              try {
                rev = (await store.get(`/k/${i}`))!.modRevision;
                break;
              } catch {
                await new Promise((r) => setTimeout(r, 100));
              }
            }
          }
        }
      };
      const writers = Promise.all(Array.from({ length: WRITERS }, (_, i) => writer(i)));
      while (acked.reduce((n, a) => n + a.length, 0) < 100) await new Promise((r) => setTimeout(r, 10));
      await etcd.kill();
      await etcd.restart();
      restarted = true;
      const deadline = setTimeout(() => (stop = true), 30_000);
      await writers;
      clearTimeout(deadline);
      assert.ok(!stop, 'the writers went on after etcd came back');
      assert.ok(failures > 0, 'some writes failed while etcd was away (else the test proved nothing)');
      // Every acknowledged write is in etcd: each key's last acknowledged value is its value now.
      const all = acked.flat().map((a) => a.rev);
      for (let i = 0; i < WRITERS; i++) {
        const last = acked[i].at(-1)!;
        const kv = (await store.get(`/k/${i}`))!;
        assert.equal(kv.modRevision, last.rev);
        assert.deepEqual([...kv.value], [last.value]);
      }
      // The watch resumed after the restart and saw every acknowledged write once, in order.
      const max = Math.max(...all);
      const until = Date.now() + 30_000;
      while (!watched.length || watched.at(-1)! < max) {
        assert.ok(Date.now() < until, `the watch stopped at ${watched.at(-1)} of ${max}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      w.close();
      await watching;
      assert.deepEqual(
        watched,
        [...watched].sort((a, b) => a - b),
      );
      assert.equal(new Set(watched).size, watched.length);
      const seen = new Set(watched);
      assert.deepEqual(
        all.filter((r) => !seen.has(r)),
        [],
      );
    } finally {
      await store.close();
    }
  });

  it('speaks etcd+https:// with client certificates', async () => {
    const secure = await startEtcd({ tls: true });
    try {
      const tls = secure.tls!;
      const store = await openStore(`etcd+https://${secure.endpoint}`, { etcd: { tls } });
      try {
        const w = store.watch('/tls/', 0);
        const kv = await store.create('/tls/a', new Uint8Array([1]));
        assert.equal((await store.get('/tls/a'))?.modRevision, kv.modRevision);
        // The watch stream runs on the same TLS connection.
        const ev = await w[Symbol.asyncIterator]().next();
        assert.ok(!ev.done && ev.value.type === 'PUT' && ev.value.kv.modRevision === kv.modRevision);
        w.close();
      } finally {
        await store.close();
      }
      // The same with the PEM files named in the URL (one --datastore flag).
      const pki = `${secure.dir}/pki`;
      const byUrl = await openStore(
        `etcd+https://${secure.endpoint}?ca=${pki}/ca.crt&cert=${pki}/client.crt&key=${pki}/client.key`,
      );
      try {
        assert.ok(await byUrl.get('/tls/a'));
      } finally {
        await byUrl.close();
      }
      await assert.rejects(
        openStore(`etcd+https://${secure.endpoint}?ca=${pki}/missing.crt`),
        (e: Error & { field?: string }) => e.field === 'datastore' && /missing\.crt/.test(e.message),
      );
      // Without a client certificate etcd refuses the connection.
      await assert.rejects(
        openStore(`etcd+https://${secure.endpoint}`, { etcd: { tls: { ca: tls.ca }, timeoutMs: 2000 } }),
        (e: Error & { code?: string }) => e.code === 'Unavailable',
      );
    } finally {
      await secure.stop();
    }
  });

  it('fails clearly on an unreachable etcd and on malformed URLs', async () => {
    await assert.rejects(
      openStore('etcd://127.0.0.1:1', { etcd: { timeoutMs: 1000 } }),
      (e: Error & { code?: string }) => e.code === 'Unavailable' && /127\.0\.0\.1:1/.test(e.message),
    );
    await assert.rejects(openStore('etcd://'), (e: Error & { field?: string }) => e.field === 'datastore');
    await assert.rejects(openStore('etcd://bad host:2379'), (e: Error & { field?: string }) => e.field === 'datastore');
    await assert.rejects(openStore('postgres://x'), (e: Error & { code?: string }) => e.code === 'InvalidArgument');
  });
});
