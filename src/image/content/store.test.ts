import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createContentStore } from './store.js';
import { sha256Digest } from '../digest.js';
import { isSkiffError } from '../../common/index.js';

async function withStore(fn: (root: string, cs: Awaited<ReturnType<typeof createContentStore>>) => Promise<void>) {
  const root = mkdtempSync(join(tmpdir(), 'skiff-cs-'));
  try {
    await fn(root, await createContentStore(root));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('put, read, info, list, delete', () =>
  withStore(async (root, cs) => {
    const data = Buffer.from('hello world');
    const d = await cs.put(data, { labels: { a: 'b' } });
    assert.equal(d, sha256Digest(data));
    assert.ok(existsSync(join(root, 'blobs/sha256', d.slice(7))));
    assert.deepEqual(await cs.readAll(d), data);
    const info = await cs.info(d);
    assert.equal(info.size, data.length);
    assert.deepEqual(info.labels, { a: 'b' });
    const part = await cs.reader(d, { offset: 6, length: 3 });
    const chunks: Buffer[] = [];
    for await (const c of part) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'wor');
    const empty = [];
    for await (const c of await cs.reader(d, { offset: data.length })) empty.push(c);
    for await (const c of await cs.reader(d, { offset: 2, length: 0 })) empty.push(c);
    assert.deepEqual(empty, []);
    await assert.rejects(cs.reader(d, { offset: 99 }), /outside blob/);
    assert.deepEqual(await cs.updateLabels(d, { c: 'd', a: '' }), { c: 'd' });
    const all = [];
    for await (const i of cs.list()) all.push(i.digest);
    assert.deepEqual(all, [d]);
    await cs.delete(d);
    assert.equal(await cs.has(d), false);
    await assert.rejects(cs.info(d), (e) => isSkiffError(e, 'NotFound'));
    await assert.rejects(cs.delete(d), (e) => isSkiffError(e, 'NotFound'));
  }));

test('verification: digest and size mismatches leave nothing behind', () =>
  withStore(async (root, cs) => {
    const data = randomBytes(1000);
    const wrong = sha256Digest('other');
    await assert.rejects(cs.put(data, { expectedDigest: wrong }), /digest mismatch/);
    const w = await cs.writer('ref-1', { expectedDigest: wrong });
    await w.write(data);
    await assert.rejects(
      w.commit(),
      (e) => isSkiffError(e, 'InvalidArgument') && /digest mismatch/.test((e as Error).message),
    );
    const w2 = await cs.writer('ref-2', { expectedSize: 10 });
    await assert.rejects(w2.write(data), /more data than the expected size/);
    await w2.abort();
    const w3 = await cs.writer('ref-3');
    await w3.write(data.subarray(0, 5));
    await assert.rejects(w3.commit({ expectedSize: 6 }), /size mismatch/);
    assert.deepEqual(readdirSync(join(root, 'blobs/sha256')), []);
    assert.deepEqual(await cs.ingests(), []);
    await assert.rejects(cs.writer('x', { expectedDigest: 'sha256:zz' }), /invalid/);
  }));

test('resumable ingest: a writer resumes from the staged offset', () =>
  withStore(async (_root, cs) => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const d = sha256Digest(data);
    const w = await cs.writer('pull-layer', { expectedDigest: d, expectedSize: data.length });
    await w.write(data.subarray(0, 1_000_000));
    await w.close();
    const st = await cs.status('pull-layer');
    assert.equal(st.offset, 1_000_000);
    assert.equal(st.expectedDigest, d);
    const w2 = await cs.writer('pull-layer', { expectedDigest: d, expectedSize: data.length });
    assert.equal(w2.offset, 1_000_000);
    await w2.write(data.subarray(w2.offset));
    assert.equal(await w2.commit(), d);
    assert.deepEqual(await cs.readAll(d), data);
    assert.deepEqual(await cs.ingests(), []);
    // Once the blob exists, a writer for it says so.
    await assert.rejects(cs.writer('again', { expectedDigest: d }), (e) => isSkiffError(e, 'AlreadyExists'));
  }));

test('one writer per ref; concurrent writers of the same blob both succeed', () =>
  withStore(async (_root, cs) => {
    const w = await cs.writer('same');
    await assert.rejects(cs.writer('same'), (e) => isSkiffError(e, 'Unavailable'));
    await assert.rejects(cs.abortIngest('same'), (e) => isSkiffError(e, 'Unavailable'));
    await w.abort();
    const data = randomBytes(2 << 20);
    const d = sha256Digest(data);
    const writers = await Promise.all([1, 2, 3].map((i) => cs.writer(`w${i}`, { expectedDigest: d })));
    const results = await Promise.all(
      writers.map(async (x) => {
        for (let o = 0; o < data.length; o += 65536) await x.write(data.subarray(o, o + 65536));
        return x.commit();
      }),
    );
    assert.deepEqual(results, [d, d, d]);
    assert.deepEqual(await cs.readAll(d), data);
    assert.deepEqual(await cs.ingests(), []);
    // Many concurrent puts of one small blob.
    const small = Buffer.from('x'.repeat(100));
    const ds = await Promise.all(Array.from({ length: 10 }, () => cs.put(small)));
    assert.ok(ds.every((x) => x === sha256Digest(small)));
  }));
