// The hand-written Txn codec against protobufjs (through @grpc/proto-loader with the options
// etcd3 uses, as kv.ts loads it for every other call): both directions, on every shape the store
// sends and etcd answers.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import type { ITxnRequest } from 'etcd3';
import { decodeTxnResponse, encodeTxnRequest } from './txn-codec.js';

const proto = createRequire(import.meta.url).resolve('etcd3/proto/rpc.proto');
const def = loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const kvService = def['etcdserverpb.KV'];
if (!kvService || 'format' in kvService) throw new Error('no etcdserverpb.KV');
const txn = kvService.Txn as MethodDefinition<object, object>;

const k = (s: string) => Buffer.from(s);
const requests: ITxnRequest[] = [
  {
    compare: [{ key: k('/registry/a'), target: 'Create', result: 'Equal', create_revision: 0 }],
    success: [{ request_put: { key: k('/registry/a'), value: k('{"x":1}') } }],
  },
  {
    compare: [{ key: k('/registry/ü/b'), target: 'Mod', result: 'Equal', mod_revision: 123456789012 }],
    success: [{ request_put: { key: k('/registry/ü/b'), value: Buffer.alloc(70_000, 7), prev_kv: true } }],
    failure: [{ request_range: { key: k('/registry/ü/b') } }],
  },
  {
    compare: [{ key: k('/k'), target: 'Create', result: 'Greater', create_revision: 0 }],
    success: [{ request_delete_range: { key: k('/k'), prev_kv: true } }],
    failure: [{ request_range: { key: k('/k'), range_end: k('/l'), limit: 5, revision: '77', serializable: true } }],
  },
  {
    compare: [{ key: k('/k'), target: 'Version', result: 'NotEqual', version: '3' }],
    success: [
      { request_put: { key: k('/k'), value: Buffer.alloc(0), lease: 42 } },
      { request_range: { key: k('/k'), count_only: true, keys_only: true } },
    ],
  },
  { compare: [], success: [] },
];

test('Txn requests: what the codec writes, protobufjs reads as what protobufjs writes', () => {
  for (const req of requests) {
    const mine = encodeTxnRequest(req, 5);
    assert.ok(mine, `encodes ${JSON.stringify(req).slice(0, 80)}`);
    const ours = txn.requestDeserialize(mine.subarray(5));
    const theirs = txn.requestDeserialize(txn.requestSerialize(req));
    assert.deepEqual(ours, theirs);
  }
});

test('Txn requests outside the subset are left to protobufjs', () => {
  const unsupported: ITxnRequest[] = [
    { compare: [{ key: k('/k'), target: 'Value', result: 'Equal', value: k('v') }] },
    { success: [{ request_txn: { compare: [] } }] },
    { success: [{ request_range: { key: k('/k'), sort_order: 'Descend' } }] },
    { compare: [{ key: k('/k'), target: 'Mod', result: 'Equal', mod_revision: -1 }] },
    { compare: [{ key: k('/k'), target: 'Mod', result: 'Equal', mod_revision: '99999999999999999999' }] },
  ];
  for (const req of unsupported) assert.equal(encodeTxnRequest(req), undefined, JSON.stringify(req));
});

const header = {
  cluster_id: '18446744073709551615',
  member_id: '9372538179322589801',
  revision: '1234567',
  raft_term: '9',
};
const kv = (key: string, rev: string, value: Buffer) => ({
  key: k(key),
  create_revision: '3',
  mod_revision: rev,
  version: '2',
  value,
  lease: '0',
});
const replies: object[] = [
  { header, succeeded: true, responses: [{ response_put: { header, prev_kv: kv('/a', '1234566', k('old')) } }] },
  { header, succeeded: true, responses: [{ response_put: { header } }] },
  {
    header,
    succeeded: false,
    responses: [{ response_range: { header, kvs: [kv('/b', '12', Buffer.alloc(5000, 1))], count: '1', more: false } }],
  },
  { header, succeeded: false, responses: [{ response_range: { header, kvs: [], count: '0' } }] },
  {
    header,
    succeeded: true,
    responses: [{ response_delete_range: { header, deleted: '1', prev_kvs: [kv('/c', '40', k(''))] } }],
  },
  { header, succeeded: true, responses: [] },
  {
    header,
    succeeded: true,
    responses: [
      {
        response_txn: {
          header,
          succeeded: true,
          responses: [{ response_range: { header, kvs: [], more: true, count: '3' } }],
        },
      },
    ],
  },
];

test('Txn replies: the codec reads what etcd sends as protobufjs does', () => {
  for (const r of replies) {
    const bytes = txn.responseSerialize(r);
    assert.deepEqual({ ...decodeTxnResponse(bytes) }, { ...txn.responseDeserialize(bytes) });
  }
});

test('Txn replies: malformed bytes fail, never decode to something', () => {
  const good = txn.responseSerialize(replies[0]);
  for (const cut of [1, 3, good.length - 1]) assert.throws(() => decodeTxnResponse(good.subarray(0, cut)));
  assert.throws(() => decodeTxnResponse(Buffer.from([0x0f]))); // wire type 7
});
