import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, appendFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseCriLine, parseTimeNs, readCriLog, type CriLogRecord } from './cri-log.js';

const rec = (t: string, s: string, f: string, c: string) => `${t} ${s} ${f} ${c}\n`;

test('parseCriLine: fields, partial flag, empty content, garbage', () => {
  const r = parseCriLine(Buffer.from('2026-01-02T03:04:05.123456789Z stderr P hello world'))!;
  assert.equal(r.stream, 'stderr');
  assert.equal(r.partial, true);
  assert.equal(r.line, 'hello world');
  assert.equal(r.timeNs, BigInt(Date.parse('2026-01-02T03:04:05Z')) * 1_000_000n + 123456789n);
  assert.equal(parseCriLine(Buffer.from('2026-01-02T03:04:05Z stdout F'))!.line, '');
  assert.equal(parseCriLine(Buffer.from('2026-01-02T03:04:05.5Z stdout F '))!.line, '');
  assert.equal(parseCriLine(Buffer.from('not a record')), undefined);
  assert.equal(parseCriLine(Buffer.from('2026-01-02T03:04:05Z console F x')), undefined);
  assert.equal(
    parseTimeNs('2026-01-02T03:04:05.5+01:00'),
    BigInt(Date.parse('2026-01-02T02:04:05Z')) * 1_000_000n + 500_000_000n,
  );
});

test('readCriLog: rotated files first, since/until, tail across files', async () => {
  const d = mkdtempSync(join(tmpdir(), 'skiff-cri-'));
  try {
    const f = join(d, 'c.log');
    writeFileSync(`${f}.2`, rec('2026-01-01T00:00:01Z', 'stdout', 'F', 'a'));
    writeFileSync(`${f}.1`, rec('2026-01-01T00:00:02Z', 'stdout', 'F', 'b') + 'garbage line\n');
    writeFileSync(
      f,
      rec('2026-01-01T00:00:03Z', 'stderr', 'F', 'c') + rec('2026-01-01T00:00:04.000000001Z', 'stdout', 'P', 'd'),
    );
    writeFileSync(`${f}.bak`, rec('2026-01-01T00:00:00Z', 'stdout', 'F', 'ignored'));
    const all = async (o = {}) => {
      const out: string[] = [];
      for await (const r of readCriLog(f, o)) out.push(r.line);
      return out;
    };
    assert.deepEqual(await all(), ['a', 'b', 'c', 'd']);
    assert.deepEqual(await all({ since: '2026-01-01T00:00:02Z', until: new Date('2026-01-01T00:00:03Z') }), ['b', 'c']);
    assert.deepEqual(await all({ since: '2026-01-01T00:00:04.000000001Z' }), ['d']);
    assert.deepEqual(await all({ tail: 2 }), ['c', 'd']);
    assert.deepEqual(await all({ tail: 0 }), []);
    await assert.rejects(all({ since: 'yesterday-ish' }), (e: { field?: string }) => e.field === 'since');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('readCriLog follow: new lines, a record written in two pieces, rotation', async () => {
  const d = mkdtempSync(join(tmpdir(), 'skiff-cri-'));
  try {
    const f = join(d, 'c.log');
    writeFileSync(f, rec('2026-01-01T00:00:01Z', 'stdout', 'F', 'one'));
    const got: CriLogRecord[] = [];
    const ac = new AbortController();
    const reading = (async () => {
      for await (const r of readCriLog(f, { follow: true, signal: ac.signal, pollMs: 20 })) got.push(r);
    })();
    const wait = async (n: number) => {
      for (let i = 0; i < 200 && got.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await wait(1);
    appendFileSync(f, '2026-01-01T00:00:02Z stdout F tw');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(got.length, 1, 'a half-written record is not emitted');
    appendFileSync(f, 'o\n');
    await wait(2);
    // Rotation: the old file gets a last record after the rename (the writer still had it open).
    renameSync(f, `${f}.1`);
    appendFileSync(`${f}.1`, rec('2026-01-01T00:00:03Z', 'stdout', 'F', 'three'));
    writeFileSync(f, rec('2026-01-01T00:00:04Z', 'stderr', 'F', 'four'));
    await wait(4);
    ac.abort();
    await reading;
    assert.deepEqual(
      got.map((r) => r.line),
      ['one', 'two', 'three', 'four'],
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('readCriLog follow ends on abort', async () => {
  const d = mkdtempSync(join(tmpdir(), 'skiff-cri-'));
  try {
    const ac = new AbortController();
    const lines: string[] = [];
    const reading = (async () => {
      for await (const r of readCriLog(join(d, 'missing.log'), { follow: true, signal: ac.signal, pollMs: 20 }))
        lines.push(r.line);
    })();
    await new Promise((r) => setTimeout(r, 50));
    writeFileSync(join(d, 'missing.log'), rec('2026-01-01T00:00:01Z', 'stdout', 'F', 'late'));
    for (let i = 0; i < 100 && !lines.length; i++) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await reading;
    assert.deepEqual(lines, ['late'], 'a file created after following began is picked up');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
