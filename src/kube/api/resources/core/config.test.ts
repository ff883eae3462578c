import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../../index.js';
import type { KubeObject } from '../../types.js';

const now = new Date('2024-01-03T12:00:00Z');
const meta = (name: string) => ({ name, namespace: 'default', creationTimestamp: '2024-01-01T09:00:00Z' });
const msgs = (errs: { field: string; message: string }[]) => errs.map((e) => `${e.field}: ${e.message}`);

test('namespace: defaults, finalizers, table, field selector', () => {
  const ns = findResource('', 'v1', 'Namespace')!;
  assert.equal(ns.nameRule, 'label');
  assert.equal(ns.namespaced, false);
  const o = { metadata: { name: 'team-a', creationTimestamp: '2024-01-01T09:00:00Z' } } as any;
  ns.defaults!(o);
  assert.deepEqual(o.spec, { finalizers: ['kubernetes'] });
  assert.equal(o.status.phase, 'Active');
  assert.equal(o.metadata.labels['kubernetes.io/metadata.name'], 'team-a');
  assert.deepEqual(ns.row(o, now), ['team-a', 'Active', '2d3h']);
  assert.equal(ns.fieldSelectors!['status.phase'](o), 'Active');
  o.spec.finalizers = ['bogus'];
  assert.deepEqual(msgs(ns.validate!(o)), ['spec.finalizers[0]: Invalid value: "bogus": name is neither a standard finalizer name nor is it fully qualified']);
});

test('configmap: keys, overlap, size, immutability, table', () => {
  const cm = findResource('', 'v1', 'cm')!;
  const ok: KubeObject = { metadata: meta('c'), data: { 'a.conf': 'x', b: 'y' }, binaryData: { c: Buffer.from('z').toString('base64') } };
  assert.deepEqual(cm.validate!(ok), []);
  assert.deepEqual(cm.row(ok, now), ['c', 3, '2d3h']);
  const bad: KubeObject = { metadata: meta('c'), data: { 'a b': 'x', k: '1' }, binaryData: { k: 'AA==' } };
  const errs = msgs(cm.validate!(bad));
  assert.equal(errs.length, 2);
  assert.match(errs[0], /^data: Invalid value: "a b": a valid config key must consist of alphanumeric characters/);
  assert.equal(errs[1], 'binaryData: Invalid value: "k": duplicate of key present in data');
  const big: KubeObject = { metadata: meta('c'), data: { k: 'x'.repeat(1024 * 1024 + 1) } };
  assert.equal(cm.validate!(big)[0].type, 'FieldValueTooLong');
  const imm = { ...ok, immutable: true };
  assert.deepEqual(msgs(cm.validateUpdate!({ ...imm, data: { a: 'changed' } }, imm)), ['data: Forbidden: field is immutable when `immutable` is set']);
  assert.deepEqual(cm.validateUpdate!({ ...imm, metadata: { ...meta('c'), labels: { x: 'y' } } }, imm), []);
});

test('secret: type default, stringData folding, tls requirements, table, field selector', () => {
  const s = findResource('', 'v1', 'secrets')!;
  const o = { metadata: meta('s'), stringData: { password: 'hunter2' } } as any;
  s.defaults!(o);
  assert.equal(o.type, 'Opaque');
  assert.equal(o.data.password, Buffer.from('hunter2').toString('base64'));
  assert.equal(o.stringData, undefined);
  assert.deepEqual(s.validate!(o), []);
  assert.deepEqual(s.row(o, now), ['s', 'Opaque', 1, '2d3h']);
  assert.equal(s.fieldSelectors!.type(o), 'Opaque');
  const tls = { metadata: meta('t'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'AA==' } } as any;
  assert.deepEqual(msgs(s.validate!(tls)), ['data[tls.key]: Required value']);
  const notB64 = { metadata: meta('t'), type: 'Opaque', data: { k: '!!!' } } as any;
  assert.deepEqual(msgs(s.validate!(notB64)), ['data[k]: Invalid value: "<secret contents redacted>": illegal base64 data']);
  const dcj = { metadata: meta('d'), type: 'kubernetes.io/dockerconfigjson', data: {} } as any;
  assert.deepEqual(msgs(s.validate!(dcj)), ['data[.dockerconfigjson]: Required value']);
  assert.deepEqual(msgs(s.validateUpdate!({ ...o, type: 'kubernetes.io/tls' }, o)), ['type: Invalid value: "kubernetes.io/tls": field is immutable']);
});
