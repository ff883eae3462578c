import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource, type KubeObject } from '../api/index.js';
import type { KeyValue } from '../storage/index.js';
import { Registry } from './registry.js';

const pods = findResource('', 'v1', 'pods')!;
const KEY = '/registry/core/pods/ns/p';

async function stored(reg: Registry, obj: KubeObject, rev: number, createRev = rev): Promise<KeyValue> {
  return { key: KEY, value: await reg.encode(pods, KEY, obj), createRevision: createRev, modRevision: rev };
}
const pod = (nodeName?: string, rv?: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns', uid: 'u', ...(rv ? { resourceVersion: String(rv) } : {}) },
  spec: { containers: [{ name: 'c', image: 'i' }], ...(nodeName ? { nodeName } : {}) },
});

test('decodeShared: a remembered write is the decode of its revision, the revision before it too; others are parsed', async () => {
  const reg = new Registry([pods]);
  const created = pod(undefined, 5);
  reg.remember(pods, created, await stored(reg, pod(), 5));
  assert.equal(await reg.decodeShared(pods, await stored(reg, pod(), 5)), created, 'no parse: the handler’s object');
  assert.equal(
    reg.storedBytes(pods, created)?.toString(),
    '{"apiVersion":"v1","kind":"Pod","metadata":{"resourceVersion":"5","name":"p","namespace":"ns","uid":"u"},"spec":{"containers":[{"name":"c","image":"i"}]}}',
  );
  const bound = pod('n1', 9);
  reg.remember(pods, bound, await stored(reg, pod('n1'), 9, 5));
  // The MODIFIED event of revision 9 needs its previous value (revision 5) after the binding
  // remembered 9: both are known.
  assert.equal(await reg.decodeShared(pods, await stored(reg, pod('n1'), 9, 5)), bound);
  assert.equal(await reg.decodeShared(pods, await stored(reg, pod(), 5)), created);
  // Another revision is parsed from its bytes, with its own resourceVersion.
  const other = await reg.decodeShared(pods, await stored(reg, pod('n2'), 12, 5));
  assert.notEqual(other, bound);
  assert.equal((other.spec as { nodeName?: string }).nodeName, 'n2');
  assert.equal(other.metadata.resourceVersion, '12');
  // An object whose resourceVersion is not the write's, or of another version, is not remembered.
  const reg2 = new Registry([pods]);
  reg2.remember(pods, pod('x'), await stored(reg2, pod('x'), 3));
  reg2.remember(pods, { ...pod('y', 3), apiVersion: 'v2' }, await stored(reg2, pod('y'), 3));
  const parsed = await reg2.decodeShared(pods, await stored(reg2, pod('z'), 3));
  assert.equal((parsed.spec as { nodeName?: string }).nodeName, 'z');
  assert.equal(reg2.storedBytes(pods, pod('x')), undefined);
  // A kind stored through a conversion is always decoded from its bytes.
  const converted = { ...pods, conversion: { toStored: (o: KubeObject) => o, fromStored: (o: KubeObject) => o } };
  const reg3 = new Registry([converted]);
  reg3.remember(converted, pod('x', 4), await stored(reg3, pod('x'), 4));
  const p3 = await reg3.decodeShared(converted, await stored(reg3, pod('w'), 4));
  assert.equal((p3.spec as { nodeName?: string }).nodeName, 'w');
});

test('decodeShared: an event carrying an in-flight write’s bytes takes that object, equal to the parse; other bytes are parsed', async () => {
  const reg = new Registry([pods]);
  const written = pod('n1');
  const bytes = await reg.encode(pods, KEY, written);
  const done = reg.expectWrite(pods, KEY, bytes, written);
  // The watch event of the write arrives before its answer (etcd: two streams).
  const ev: KeyValue = { key: KEY, value: Buffer.from(bytes), createRevision: 4, modRevision: 7 };
  const got = await reg.decodeShared(pods, ev);
  assert.equal(got.spec, written.spec, 'no parse: the written object’s parts');
  assert.deepEqual(got, await reg.decode(pods, ev), 'what a parse gives, resourceVersion included');
  assert.equal(got.metadata.resourceVersion, '7');
  assert.equal(written.metadata.resourceVersion, undefined, 'the writer’s object is not changed');
  // Other bytes for the key (another server's write) are parsed.
  const otherEv = await stored(reg, pod('n2'), 8, 4);
  assert.equal(((await reg.decodeShared(pods, otherEv)).spec as { nodeName?: string }).nodeName, 'n2');
  done();
  // Ended: the same bytes at a later revision are parsed.
  const later: KeyValue = { key: KEY, value: Buffer.from(bytes), createRevision: 4, modRevision: 9 };
  const parsed = await reg.decodeShared(pods, later);
  assert.notEqual(parsed.spec, written.spec);
  assert.equal(parsed.metadata.resourceVersion, '9');
  // A kind stored through a conversion is never taken from the writer.
  const converted = { ...pods, conversion: { toStored: (o: KubeObject) => o, fromStored: (o: KubeObject) => o } };
  const reg2 = new Registry([converted]);
  const b2 = await reg2.encode(converted, KEY, written);
  reg2.expectWrite(converted, KEY, b2, written);
  const p2 = await reg2.decodeShared(converted, { key: KEY, value: b2, createRevision: 3, modRevision: 3 });
  assert.notEqual(p2.spec, written.spec);
});

test('rawBytes: the stored bytes with their resourceVersion, framed, equal to the decode; undefined when not canonical', async () => {
  const reg = new Registry([pods]);
  const obj = pod('n1');
  obj.metadata.annotations = { note: 'é ✓ 𝄞 "quoted" \\ back' };
  const kv = await stored(reg, obj, 42);
  const framed = reg.rawBytes(pods, kv, Buffer.from('{"type":"ADDED","object":'), Buffer.from('}\n'))!;
  assert.ok(framed.toString().endsWith('}\n'));
  const ev = JSON.parse(framed.toString());
  assert.equal(ev.type, 'ADDED');
  assert.deepEqual(ev.object, await reg.decode(pods, kv));
  assert.equal(ev.object.metadata.resourceVersion, '42');
  assert.equal(reg.rawBytes(pods, kv)?.toString(), framed.subarray(25, framed.length - 2).toString());
  // A metadata object stored empty gets no trailing comma.
  const bare = {
    key: KEY,
    value: Buffer.from('{"apiVersion":"v1","kind":"Pod","metadata":{},"spec":{}}'),
    createRevision: 3,
    modRevision: 3,
  };
  assert.deepEqual(JSON.parse(reg.rawBytes(pods, bare)!.toString()).metadata, { resourceVersion: '3' });
  // Bytes in another key order (not written by encode()) are decoded instead.
  const other = { ...kv, value: Buffer.from('{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"}}') };
  assert.equal(reg.rawBytes(pods, other), undefined);
  assert.equal(reg.rawBytes(pods, { ...kv, value: Buffer.from('{"apiVersion":"v1"') }), undefined);
});
