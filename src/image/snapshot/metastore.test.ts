// The snapshot metadata's group commit: concurrent mutations share writes, each is on disk when it
// is acknowledged, a failed write fails every mutation it (or a later one) carried and leaves the
// document as it is on disk, and a mutation that throws changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeFileAtomic } from '../atomic-file.js';
import { MetaStore } from './metastore.js';

const onDisk = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { snapshots: Record<string, unknown> };

test('snapshot metadata: concurrent mutations share writes and each is durable when acknowledged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-metastore-'));
  try {
    const file = join(dir, 'metadata.json');
    let writes = 0;
    const m = await new MetaStore(file, async (p, d) => {
      writes++;
      await writeFileAtomic(p, d);
    }).load();
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    await Promise.all(
      keys.map((k) =>
        m
          .mutate((doc) => MetaStore.add(doc, k, 'active', undefined))
          .then((r) => {
            // acknowledged: on disk, and visible to readers
            assert.ok(onDisk(file).snapshots[k], `${k} on disk when acknowledged`);
            assert.equal(m.get(k).id, r.id);
          }),
      ),
    );
    assert.ok(writes < keys.length / 4, `40 concurrent mutations took ${writes} writes`);
    assert.equal(new Set(keys.map((k) => m.get(k).id)).size, keys.length, 'distinct ids');
    // a mutation that throws changes nothing (and writes nothing)
    const before = writes;
    await assert.rejects(
      m.mutate((doc) => MetaStore.add(doc, 'k1', 'active', undefined)),
      /already exists/,
    );
    assert.equal(writes, before);
    const reopened = await new MetaStore(file).load();
    assert.deepEqual(
      reopened
        .all()
        .map(([k]) => k)
        .sort(),
      [...keys].sort(),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshot metadata: a failed write fails its batch and what was built on it; the next one works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-metastore-'));
  try {
    const file = join(dir, 'metadata.json');
    let fail = false;
    let entered = () => {};
    let gate: Promise<void> = Promise.resolve();
    const m = await new MetaStore(file, async (p, d) => {
      entered();
      await gate;
      if (fail) throw new Error('disk full');
      await writeFileAtomic(p, d);
    }).load();
    await m.mutate((doc) => MetaStore.add(doc, 'kept', 'active', undefined));
    fail = true;
    let open!: () => void;
    gate = new Promise<void>((r) => {
      open = r;
    });
    const writing = new Promise<void>((r) => {
      entered = r;
    });
    const first = m.mutate((doc) => MetaStore.add(doc, 'a', 'active', undefined));
    await writing; // 'a' is being written; 'b' is applied on top of it meanwhile
    const second = m.mutate((doc) => MetaStore.add(doc, 'b', 'active', undefined));
    open();
    await assert.rejects(first, /disk full/);
    await assert.rejects(second, /disk full/);
    assert.equal(m.has('a') || m.has('b'), false);
    fail = false;
    await m.mutate((doc) => MetaStore.add(doc, 'c', 'active', undefined));
    assert.deepEqual(Object.keys(onDisk(file).snapshots).sort(), ['c', 'kept']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
