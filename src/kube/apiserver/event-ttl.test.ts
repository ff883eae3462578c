import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../storage/index.js';
import { allResources } from '../api/index.js';
import { EventReaper, lastWriteTime } from './event-ttl.js';
import { parseApiServerArgs } from './flags.js';
import { createApiServer } from './server.js';

const enc = (o: unknown) => Buffer.from(JSON.stringify(o));
const event = (name: string, extra: Record<string, unknown> = {}) =>
  enc({ apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'ns' }, reason: 'R', ...extra });
const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('EventReaper: an Event goes ttl after its last write, not before; stored ones by their recorded time; other kinds stay', async () => {
  const store = createMemoryStore();
  const P = '/registry/core/events/ns/';
  const HOUR = 3600_000;
  let now = 1_000_000;
  const wall = Date.parse('2026-12-07T12:00:00Z');
  const old = new Date(wall - 2 * HOUR).toISOString();
  const recent = new Date(wall - HOUR / 2).toISOString();
  // Stored before the reaper starts: one last written two hours ago (by its managedFields, though it
  // was created earlier), one half an hour ago (by lastTimestamp), one with no time at all.
  await store.create(
    `${P}old`,
    event('old', { metadata: { name: 'old', managedFields: [{ time: old }], creationTimestamp: old } }),
  );
  await store.create(`${P}recent`, event('recent', { lastTimestamp: recent, firstTimestamp: old }));
  await store.create(`${P}untimed`, event('untimed'));
  const cm = await store.create('/registry/core/configmaps/ns/c', enc({ kind: 'ConfigMap' }));
  const reaper = new EventReaper({
    store,
    prefixes: [P],
    ttlMs: HOUR,
    now: () => now,
    wall: () => wall,
    sweepMs: 1e9,
    relistMs: 1e9,
  });
  await reaper.start();
  try {
    assert.equal(await store.get(`${P}old`), undefined, 'expired while no server ran: reaped at start');
    assert.ok(await store.get(`${P}recent`));
    now += HOUR / 2 - 1000;
    await reaper.sweep();
    assert.ok(await store.get(`${P}recent`), 'not before its hour');
    now += 2000;
    await reaper.sweep();
    assert.equal(await store.get(`${P}recent`), undefined, 'an hour after its last write');
    assert.ok(await store.get(`${P}untimed`), 'no time recorded: counts from the start');

    // Written by this server while the reaper runs (the API server reports its own writes):
    // rewritten at half its ttl, it lives an hour from the rewrite.
    const a = await store.create(`${P}a`, event('a'));
    reaper.written(a);
    now += HOUR / 2;
    const a2 = await store.update(`${P}a`, event('a', { count: 2 }), a.modRevision);
    reaper.written(a2);
    now += HOUR / 2 + 1;
    await reaper.sweep();
    assert.equal((await store.get(`${P}a`))?.modRevision, a2.modRevision, 'the first write’s expiry is stale');
    assert.equal(await store.get(`${P}untimed`), undefined);
    now += HOUR / 2;
    await reaper.sweep();
    assert.equal(await store.get(`${P}a`), undefined);
    // Deleted by someone else (another server's reaper, a user) before it expires: nothing to do.
    const b = await store.create(`${P}b`, event('b'));
    reaper.written(b);
    await store.delete(`${P}b`, b.modRevision);
    now += 2 * HOUR;
    await reaper.sweep();
    assert.equal(reaper.seen(`${P}b`), undefined);
    // Written by another server (not reported here): found by the next list, expiring by the time
    // it records; and one it rewrote after this server's write, by its new revision.
    const other = await store.create(
      `${P}other`,
      event('other', { lastTimestamp: new Date(wall - HOUR / 4).toISOString() }),
    );
    const c = await store.create(`${P}c`, event('c'));
    reaper.written(c);
    const c2 = await store.update(
      `${P}c`,
      event('c', { count: 2, lastTimestamp: new Date(wall).toISOString() }),
      c.modRevision,
    );
    await reaper.relist();
    assert.equal(reaper.seen(`${P}other`), other.modRevision);
    assert.equal(reaper.seen(`${P}c`), c2.modRevision);
    now += HOUR * 0.75 + 1;
    await reaper.sweep();
    assert.equal(await store.get(`${P}other`), undefined, '¾ h after the start it is an hour old');
    assert.ok(await store.get(`${P}c`), 'the other server’s rewrite keeps it');
    now += HOUR / 4;
    await reaper.sweep();
    assert.equal(await store.get(`${P}c`), undefined);
    assert.equal((await store.get('/registry/core/configmaps/ns/c'))?.modRevision, cm.modRevision);
  } finally {
    await reaper.stop();
    await store.close();
  }
});

test('lastWriteTime: the latest of the times an Event records; the fallback when none parses', () => {
  const kv = (o: unknown) => ({ key: 'k', value: enc(o), modRevision: 1, createRevision: 1 });
  const t = (s: string) => Date.parse(s);
  assert.equal(
    lastWriteTime(
      kv({
        metadata: { creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{ time: '2026-01-01T00:05:00Z' }] },
        eventTime: '2026-01-01T00:01:00.123456Z',
        series: { count: 3, lastObservedTime: '2026-01-01T00:07:00.000001Z' },
      }),
      0,
    ),
    t('2026-01-01T00:07:00.000Z'),
  );
  assert.equal(lastWriteTime(kv({ metadata: {}, lastTimestamp: 'not a time' }), 42), 42);
  assert.equal(lastWriteTime({ key: 'k', value: Buffer.from('{'), modRevision: 1, createRevision: 1 }, 7), 7);
});

test('the API server deletes Events of both APIs after --event-ttl, seen by a watch as DELETED; 0 keeps them', async () => {
  const api = createApiServer({ store: createMemoryStore(), resources: allResources(), eventTtlMs: 300 });
  const base = (await api.listen(0)).url;
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() };
  };
  try {
    const watch = await fetch(`${base}/api/v1/namespaces/default/events?watch=1`);
    const seen: string[] = [];
    void (async () => {
      const dec = new TextDecoder();
      let buf = '';
      for await (const c of watch.body!) {
        buf += dec.decode(c as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const ev = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          seen.push(`${ev.type} ${ev.object.metadata.name}`);
        }
      }
    })().catch(() => undefined);
    const core = await call('POST', '/api/v1/namespaces/default/events', {
      metadata: { name: 'core-ev' },
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
      reason: 'Started',
      message: 'm',
      type: 'Normal',
    });
    assert.equal(core.status, 201, JSON.stringify(core.body));
    const v1 = await call('POST', '/apis/events.k8s.io/v1/namespaces/default/events', {
      metadata: { name: 'v1-ev' },
      eventTime: new Date().toISOString().replace('Z', '000Z'),
      reportingController: 'skiff.test/c',
      reportingInstance: 'i',
      action: 'Do',
      reason: 'Done',
      type: 'Normal',
      regarding: { kind: 'Pod', name: 'p', namespace: 'default' },
    });
    assert.equal(v1.status, 201, JSON.stringify(v1.body));
    assert.equal(
      (await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'cm' } })).status,
      201,
    );
    // One object both APIs serve (upstream stores events.k8s.io Events as core ones).
    const asCore = (await call('GET', '/api/v1/namespaces/default/events/v1-ev')).body;
    assert.equal(asCore.kind, 'Event');
    assert.equal(asCore.apiVersion, 'v1');
    assert.deepEqual(
      [asCore.involvedObject?.name, asCore.reportingComponent, asCore.regarding],
      ['p', 'skiff.test/c', undefined],
    );
    const asV1 = (await call('GET', '/apis/events.k8s.io/v1/namespaces/default/events/core-ev')).body;
    assert.equal(asV1.apiVersion, 'events.k8s.io/v1');
    assert.deepEqual([asV1.regarding?.name, asV1.note, asV1.message], ['p', 'm', undefined]);
    const byRegarding = await call(
      'GET',
      '/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name%3Dp',
    );
    assert.deepEqual(byRegarding.body.items.map((e: { metadata: { name: string } }) => e.metadata.name).sort(), [
      'core-ev',
      'v1-ev',
    ]);
    await until(
      'both Events deleted, seen by the core watch',
      () => seen.includes('DELETED core-ev') && seen.includes('DELETED v1-ev'),
    );
    assert.equal((await call('GET', '/api/v1/namespaces/default/events/core-ev')).status, 404);
    assert.equal((await call('GET', '/apis/events.k8s.io/v1/namespaces/default/events/v1-ev')).status, 404);
    assert.equal((await call('GET', '/api/v1/namespaces/default/configmaps/cm')).status, 200);
    await watch.body?.cancel().catch(() => undefined);
  } finally {
    await api.close();
  }
  const keep = createApiServer({ store: createMemoryStore(), resources: allResources(), eventTtlMs: 0 });
  const kb = (await keep.listen(0)).url;
  try {
    const r = await fetch(`${kb}/api/v1/namespaces/default/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'kept' }, involvedObject: { kind: 'Pod', name: 'p' }, reason: 'R' }),
    });
    assert.equal(r.status, 201);
    await new Promise((res) => setTimeout(res, 400));
    assert.equal((await fetch(`${kb}/api/v1/namespaces/default/events/kept`)).status, 200);
  } finally {
    await keep.close();
  }
});

test('--kube-apiserver-arg: event-ttl as a Go duration; other flags and bad values refused by name', () => {
  assert.deepEqual(parseApiServerArgs(['event-ttl=90m']), { eventTtlMs: 90 * 60_000 });
  assert.deepEqual(parseApiServerArgs(['--event-ttl=0s']), { eventTtlMs: 0 });
  assert.throws(() => parseApiServerArgs(['audit-log-path=/x']), /unknown kube-apiserver flag "audit-log-path"/);
  assert.throws(() => parseApiServerArgs(['event-ttl=soon']), /invalid value "soon" for flag --event-ttl/);
  assert.throws(() => parseApiServerArgs(['event-ttl']), /needs a value/);
});
