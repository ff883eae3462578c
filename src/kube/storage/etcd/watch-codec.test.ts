// The hand-written WatchResponse decoder against protobufjs (proto-loader with etcd3's options, as
// kv.ts loads the other calls), and gRPC's message framing over DATA payloads split anywhere.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { decodeWatchResponse, GrpcMessages } from './watch-codec.js';

const proto = createRequire(import.meta.url).resolve('etcd3/proto/rpc.proto');
const def = loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const svc = def['etcdserverpb.Watch'];
if (!svc || 'format' in svc) throw new Error('no etcdserverpb.Watch');
const watch = svc.Watch as MethodDefinition<object, object>;

const kv = (key: string, rev: number, value: Buffer | string, create = rev) => ({
  key: Buffer.from(key),
  create_revision: String(create),
  mod_revision: String(rev),
  version: '3',
  value: Buffer.from(value),
  lease: '0',
});
const header = (rev: string) => ({
  cluster_id: '14841639068965178418',
  member_id: '10276657743932975437',
  revision: rev,
  raft_term: '2',
});
const replies = [
  { header: header('41'), watch_id: '0', created: true },
  { header: header('9007199254740993'), watch_id: '7' }, // a progress notification, revision above 2^53
  {
    header: header('120'),
    watch_id: '3',
    events: [
      { type: 'Put', kv: kv('/registry/a', 100, '{"a":1}', 90), prev_kv: kv('/registry/a', 95, '{"a":0}', 90) },
      { type: 'Delete', kv: { ...kv('/registry/ü', 101, ''), create_revision: '0', version: '0' }, prev_kv: null },
      { type: 'Put', kv: kv('/registry/big', 102, Buffer.alloc(70_000, 9)) },
    ],
  },
  { header: header('200'), watch_id: '1', canceled: true, compact_revision: '150', cancel_reason: '' },
  { header: header('200'), watch_id: '2', canceled: true, cancel_reason: 'etcdserver: permission denied' },
];

test('decodes every WatchResponse shape as protobufjs does', () => {
  for (const r of replies) {
    const bytes = watch.responseSerialize(r);
    const want = watch.responseDeserialize(bytes) as Record<string, unknown>;
    const got = decodeWatchResponse(bytes);
    assert.deepEqual({ ...got }, { ...want }, JSON.stringify(r).slice(0, 80));
  }
});

test('rejects a truncated reply', () => {
  const bytes = watch.responseSerialize(replies[2]);
  assert.throws(() => decodeWatchResponse(bytes.subarray(0, bytes.length - 10)), /truncated/);
});

test('frames: messages split across payloads, several in one, a large one in many pieces', () => {
  const bodies = replies.map((r) => watch.responseSerialize(r));
  const framed = Buffer.concat(
    bodies.map((b) => {
      const h = Buffer.alloc(5);
      h.writeUInt32BE(b.length, 1);
      return Buffer.concat([h, b]);
    }),
  );
  for (const step of [1, 3, 5, 7, 4096, 16384, framed.length]) {
    const got: Buffer[] = [];
    const f = new GrpcMessages((m) => got.push(Buffer.from(m)));
    for (let off = 0; off < framed.length; off += step) f.push(framed.subarray(off, off + step));
    assert.deepEqual(
      got.map((b) => b.toString('hex')),
      bodies.map((b) => b.toString('hex')),
      `in pieces of ${step}`,
    );
  }
  const f = new GrpcMessages(() => undefined, 1000);
  assert.throws(() => f.push(Buffer.from([0, 0, 0, 0x10, 0])), /4096-byte/);
  assert.throws(() => new GrpcMessages(() => undefined).push(Buffer.from([1, 0, 0, 0, 0])), /compressed/);
});
