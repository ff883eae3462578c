import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { loadOrCreateEncryptionKey, createSecretTransformer, encryptionKeyPath } from './encryption.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const KEY = '/registry/secrets/default/db';

test('the key is created once (0600, 32 bytes) and loaded afterwards, also under concurrent first use', async (t) => {
  const dir = await fs.mkdtemp(join(tmpdir(), 'skiff-enc-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateEncryptionKey(dir)));
  assert.equal(keys[0].length, 32);
  for (const k of keys) assert.deepEqual(k, keys[0]);
  assert.deepEqual(await loadOrCreateEncryptionKey(dir), keys[0]);
  assert.equal((await fs.stat(encryptionKeyPath(dir))).mode & 0o777, 0o600);
  assert.deepEqual(await fs.readdir(join(dir, 'pki')), ['encryption.key'], 'no temp files left');
  await fs.writeFile(encryptionKeyPath(dir), 'c2hvcnQ=\n');
  await assert.rejects(
    loadOrCreateEncryptionKey(dir),
    (e: any) => e.code === 'FailedPrecondition' && /32 bytes/.test(e.message) && e.field === encryptionKeyPath(dir),
  );
});

test('round trip; the stored form is prefixed, random per write, and hides the plaintext', () => {
  const tr = createSecretTransformer(randomBytes(32));
  const plain = enc.encode('{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}');
  const a = tr.encrypt(plain, KEY);
  const b = tr.encrypt(plain, KEY);
  assert.ok(dec.decode(a).startsWith('k8s:enc:aesgcm:v1:skiff:'));
  assert.equal(a.length, 'k8s:enc:aesgcm:v1:skiff:'.length + 12 + plain.length + 16);
  assert.notDeepEqual(a, b, 'fresh nonce per write');
  assert.ok(!Buffer.from(a).includes(Buffer.from('aHVudGVyMg==')));
  assert.ok(tr.isEncrypted(a));
  assert.deepEqual(tr.decrypt(a, KEY), plain);
  assert.deepEqual(tr.decrypt(b, KEY), plain);
  assert.deepEqual(tr.decrypt(tr.encrypt(new Uint8Array(), KEY), KEY), new Uint8Array());
});

test('values written before encryption pass through', () => {
  const tr = createSecretTransformer(randomBytes(32));
  const old = enc.encode('{"kind":"Secret"}');
  assert.equal(tr.isEncrypted(old), false);
  assert.deepEqual(tr.decrypt(old, KEY), old);
});

test('tampering, another storage key, another key or truncation fail with a clear Internal error', () => {
  const tr = createSecretTransformer(randomBytes(32));
  const stored = tr.encrypt(enc.encode('secret'), KEY);
  const flipped = Uint8Array.from(stored);
  flipped[flipped.length - 20] ^= 1;
  const fails = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: any) => e.code === 'Internal' && e.reason === 'DecryptionFailed' && re.test(e.message));
  fails(() => tr.decrypt(flipped, KEY), /\/registry\/secrets\/default\/db: authentication failed/);
  fails(() => tr.decrypt(stored, '/registry/secrets/default/other'), /authentication failed/);
  fails(() => createSecretTransformer(randomBytes(32)).decrypt(stored, KEY), /authentication failed/);
  fails(() => tr.decrypt(stored.subarray(0, 30), KEY), /truncated/);
  fails(
    () => tr.decrypt(enc.encode('k8s:enc:aesgcm:v1:other:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'), KEY),
    /no encryption key named "other"/,
  );
});

test('key rotation: a new key writes, previous keys still read', () => {
  const oldKey = randomBytes(32);
  const before = createSecretTransformer(oldKey, { name: 'k1' }).encrypt(enc.encode('v'), KEY);
  const rotated = createSecretTransformer(randomBytes(32), { name: 'k2', previous: [{ name: 'k1', key: oldKey }] });
  assert.equal(dec.decode(rotated.decrypt(before, KEY)), 'v');
  assert.ok(dec.decode(rotated.encrypt(enc.encode('v'), KEY)).startsWith('k8s:enc:aesgcm:v1:k2:'));
  assert.throws(
    () => createSecretTransformer(randomBytes(16)),
    (e: any) => e.field === 'key',
  );
  assert.throws(
    () => createSecretTransformer(randomBytes(32), { name: 'a:b' }),
    (e: any) => e.field === 'name',
  );
});
