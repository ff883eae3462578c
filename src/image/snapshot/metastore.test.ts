// The snapshot metadata journal: concurrent mutations share appends and each is on disk when it is
// acknowledged; a mutation that throws changes nothing; a torn tail (a crash mid-append) and an
// interrupted compaction lose nothing that was acknowledged; compaction keeps the state; a failed
// append fails its batch and what was built on it, leaves no trace on disk, and the next one works;
// the older whole-document file is taken over; and a writer SIGKILLed mid-churn (compacting often)
// loses no acknowledged change and leaves a journal that opens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Journal } from './journal.js';
import { MetaStore } from './metastore.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'skiff-metastore-'));
const journalLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
const keysOf = (m: MetaStore) =>
  m
    .all()
    .map(([k]) => k)
    .sort();
const add = (m: MetaStore, k: string) => m.mutate((tx) => MetaStore.add(tx, k, 'active', undefined));

test('snapshot metadata: concurrent mutations share appends, each durable when acknowledged', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'metadata.journal');
    const m = await new MetaStore(file).load();
    const before = journalLines(file);
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    await Promise.all(
      keys.map((k) =>
        add(m, k).then((r) => {
          // acknowledged: on disk (a fresh open sees it), and visible to readers
          assert.match(readFileSync(file, 'utf8'), new RegExp(`"put":"${k}",`));
          assert.equal(m.get(k).id, r.id);
        }),
      ),
    );
    assert.equal(journalLines(file) - before, keys.length, 'one line per change, not a rewrite');
    assert.equal(new Set(keys.map((k) => m.get(k).id)).size, keys.length, 'distinct ids');
    // a mutation that throws changes nothing (and writes nothing)
    const size = readFileSync(file).length;
    await assert.rejects(add(m, 'k1'), /already exists/);
    assert.equal(readFileSync(file).length, size);
    // removals and label updates replay
    await m.mutate((tx) => tx.delete('k0'));
    await m.mutate((tx) => tx.put('k2', { ...tx.find('k2'), labels: { a: 'b' } }));
    await m.close();
    const reopened = await new MetaStore(file).load();
    assert.deepEqual(keysOf(reopened), keys.filter((k) => k !== 'k0').sort());
    assert.deepEqual(reopened.get('k2').labels, { a: 'b' });
    // ids stay unique across the reopen
    assert.ok(reopened.reserveId() > Math.max(...keys.slice(1).map((k) => reopened.get(k).id)));
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshot metadata: a torn tail and an interrupted compaction lose nothing acknowledged', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'metadata.journal');
    const m = await new MetaStore(file).load();
    for (const k of ['a', 'b', 'c']) await add(m, k);
    await m.close();
    // a crash mid-append: half a record, then one whose checksum does not match
    const good = readFileSync(file, 'utf8');
    appendFileSync(file, '0badc0de {"put":"d","rec":{"id":9');
    let r = await new MetaStore(file).load();
    assert.deepEqual(keysOf(r), ['a', 'b', 'c']);
    assert.equal(readFileSync(file, 'utf8').includes('"d"'), false, 'the torn tail is gone from the file');
    await add(r, 'e'); // appends after the cut, and the next open sees it
    await r.close();
    r = await new MetaStore(file).load();
    assert.deepEqual(keysOf(r), ['a', 'b', 'c', 'e']);
    await r.close();
    writeFileSync(file, `${good}deadbeef {"del":"a"}\n`);
    r = await new MetaStore(file).load();
    assert.deepEqual(keysOf(r), ['a', 'b', 'c'], 'a complete line with a wrong checksum is not replayed');
    await r.close();
    // a crash during compaction: the temporary file is half written, the journal is the old one
    writeFileSync(`${file}.tmp`, '1234abcd {"nextId":1}\n5678');
    r = await new MetaStore(file).load();
    assert.deepEqual(keysOf(r), ['a', 'b', 'c']);
    assert.equal(existsSync(`${file}.tmp`), false);
    await r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshot metadata: compaction keeps the state and bounds the journal', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'metadata.journal');
    const m = await new MetaStore(file, 64).load();
    for (let i = 0; i < 150; i++) {
      await add(m, `k${i}`);
      if (i >= 5) await m.mutate((tx) => tx.delete(`k${i - 5}`));
    }
    assert.ok(journalLines(file) <= 64 + 2, `journal has ${journalLines(file)} lines`);
    const ids = keysOf(m).map((k) => m.get(k).id);
    await m.close();
    const r = await new MetaStore(file, 64).load();
    assert.deepEqual(keysOf(r), ['k145', 'k146', 'k147', 'k148', 'k149']);
    assert.deepEqual(
      keysOf(r).map((k) => r.get(k).id),
      ids,
    );
    assert.ok(r.reserveId() > Math.max(...ids));
    await r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshot metadata: a failed append fails its batch and what was built on it; the next one works', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'metadata.journal');
    let fail = false;
    let entered = () => {};
    let gate: Promise<void> = Promise.resolve();
    class FailingJournal extends Journal {
      override async append(recs: unknown[]): Promise<void> {
        entered();
        await gate;
        if (fail) throw new Error('disk full');
        return super.append(recs);
      }
    }
    const m = await new MetaStore(file, 8192, new FailingJournal(file)).load();
    await add(m, 'kept');
    fail = true;
    let open!: () => void;
    gate = new Promise<void>((r) => {
      open = r;
    });
    const writing = new Promise<void>((r) => {
      entered = r;
    });
    const first = add(m, 'a');
    await writing; // 'a' is being appended; 'b' is applied on top of it meanwhile
    const second = add(m, 'b');
    open();
    await assert.rejects(first, /disk full/);
    await assert.rejects(second, /disk full/);
    assert.equal(m.has('a') || m.has('b'), false);
    fail = false;
    await add(m, 'c');
    await add(m, 'a'); // the failed key is free again
    await m.close();
    const r = await new MetaStore(file).load();
    assert.deepEqual(keysOf(r), ['a', 'c', 'kept']);
    await r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshot metadata: the older whole-document file is taken over', async () => {
  const dir = tmp();
  try {
    const doc = { nextId: 7, snapshots: { x: { id: 3, kind: 'committed', created: 't', updated: 't', labels: {} } } };
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify(doc));
    const m = await new MetaStore(join(dir, 'metadata.journal')).load();
    assert.deepEqual(keysOf(m), ['x']);
    assert.equal(m.reserveId(), 7);
    assert.equal(existsSync(join(dir, 'metadata.json')), false);
    await m.close();
    const r = await new MetaStore(join(dir, 'metadata.journal')).load();
    assert.equal(r.get('x').id, 3);
    await r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshot metadata: a writer SIGKILLed mid-churn loses no acknowledged change', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'metadata.journal');
    const store = new URL('./metastore.ts', import.meta.url).href;
    const ackFile = join(dir, 'acks');
    // 8 writers each add a key and remove their previous one; with at most 16 live keys and a
    // compaction threshold of 40 lines the journal is rewritten every few batches, so the kill
    // lands in appends and in compactions. Each acknowledged change is written to a file ("+key"
    // or "-key") with a synchronous write, so it is recorded before the next change starts: a pipe
    // would not do (it fills when this process is slow to read, and queued acknowledgements die
    // with the writer).
    const code = `
      import { MetaStore } from ${JSON.stringify(store)};
      import { openSync, writeSync } from 'node:fs';
      const fd = openSync(${JSON.stringify(ackFile)}, 'a');
      const ack = (l) => writeSync(fd, l + '\\n');
      const m = await new MetaStore(${JSON.stringify(file)}, 40).load();
      const w = async (n) => { for (let i = 0; ; i++) { const k = 'w' + n + '-' + i;
        await m.mutate((tx) => MetaStore.add(tx, k, 'active', undefined)); ack('+' + k);
        if (i > 0) { const d = 'w' + n + '-' + (i - 1); await m.mutate((tx) => tx.delete(d)); ack('-' + d); } } };
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(w));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const read = () => (existsSync(ackFile) ? readFileSync(ackFile, 'utf8') : '');
    const acks = () => read().split('\n').length - 1;
    await new Promise<void>((resolve, reject) => {
      // the bound is for the child's start-up (tsx) on a loaded machine; 400 acks take well under 1 s
      const timer = setTimeout(() => {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error(`writer got ${acks()} acks in 60 s: ${stderr}`));
      }, 60_000);
      const poll = setInterval(() => {
        if (acks() >= 400 && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, 10);
      child.on('exit', (c, signal) => {
        clearTimeout(timer);
        clearInterval(poll);
        if (signal === 'SIGKILL') resolve();
        else reject(new Error(`writer exited early (${signal ?? c}) after ${acks()} acks: ${stderr}`));
      });
    });
    const out = read();
    const live = new Set<string>();
    const last = new Map<string, string>(); // writer → its last acknowledged change
    for (const l of out.split('\n').filter((x) => x.length > 1)) {
      if (l[0] === '+') live.add(l.slice(1));
      else live.delete(l.slice(1));
      last.set(l.slice(1).split('-')[0], l);
    }
    const m = await new MetaStore(file, 40).load();
    const have = new Set(keysOf(m));
    // Every acknowledged change is there. Each writer's next change may have reached the file
    // without its acknowledgement reaching us: one more key, or the key it was deleting gone.
    const mayBeGone = new Set<string>();
    for (const l of last.values()) {
      const [w, i] = l.slice(1).split('-');
      if (l[0] === '+' && Number(i) > 0) mayBeGone.add(`${w}-${Number(i) - 1}`);
    }
    for (const k of live)
      assert.ok(
        have.has(k) || mayBeGone.has(k),
        `acknowledged ${k} survived (its writer's acknowledgements end ${out
          .split('\n')
          .filter((l) => l.slice(1).startsWith(`${k.split('-')[0]}-`))
          .slice(-4)
          .join(' ')}; journal ends ${readFileSync(file, 'utf8').slice(-600)})`,
      );
    const extra = [...have].filter((k) => !live.has(k));
    assert.ok(extra.length <= 8, `unacknowledged extras: ${extra.join(' ')}`);
    assert.ok(acks() >= 400);
    await m.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
