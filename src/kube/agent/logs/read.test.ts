// CRI log files as kubectl logs sees them: partial lines, tail, since, timestamps, limitBytes,
// follow across appends and a rotation; and rotation itself.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCriLine, readContainerLog, tailLines } from './read.js';
import { rotateIfNeeded } from './rotate.js';
import type { ContainerRuntime } from '../../../cri/index.js';

const line = (t: string, s: string, tag: string, msg: string) => `${t} ${s} ${tag} ${msg}\n`;
const collect = () => {
  const parts: Buffer[] = [];
  return { write: (b: Buffer) => void parts.push(Buffer.from(b)), text: () => Buffer.concat(parts).toString() };
};

describe('CRI log reading', () => {
  const d = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
  const f = join(d, '0.log');
  writeFileSync(
    f,
    line('2026-01-01T00:00:01.000000001Z', 'stdout', 'F', 'one') +
      line('2026-01-01T00:00:02Z', 'stderr', 'P', 'two-a ') +
      line('2026-01-01T00:00:02Z', 'stderr', 'F', 'two-b') +
      'garbage line\n' +
      line('2026-01-01T00:00:03Z', 'stdout', 'F', 'three'),
  );

  it('parses lines and joins partial ones', async () => {
    assert.deepEqual(parseCriLine(Buffer.from('2026-01-01T00:00:00Z stdout F hi'))?.content.toString(), 'hi');
    assert.equal(parseCriLine(Buffer.from('nonsense')), undefined);
    const out = collect();
    await readContainerLog(f, {}, out, async () => false);
    assert.equal(out.text(), 'one\ntwo-a two-b\nthree\n');
    assert.equal(tailLines(Buffer.from(line('t', 'stdout', 'F', 'x') + line('t', 'stdout', 'F', 'y')), 1), 'y\n');
  });

  it('tail, since, timestamps, limitBytes, one stream', async () => {
    const run = async (o: object) => {
      const out = collect();
      await readContainerLog(f, o, out, async () => false);
      return out.text();
    };
    assert.equal(await run({ tailLines: 1 }), 'three\n');
    assert.equal(await run({ tailLines: 0 }), '');
    assert.equal(await run({ sinceMs: Date.parse('2026-01-01T00:00:02Z') }), 'two-a two-b\nthree\n');
    assert.equal(await run({ timestamps: true, tailLines: 1 }), '2026-01-01T00:00:03Z three\n');
    assert.equal(await run({ limitBytes: 6 }), 'one\ntw');
    assert.equal(await run({ stream: 'stderr' }), 'two-a two-b\n');
  });

  it('follows appends and a rotation, and ends when the container stops', async () => {
    const g = join(d, '1.log');
    writeFileSync(g, line('2026-01-01T00:00:00Z', 'stdout', 'F', 'a'));
    let running = true;
    const out = collect();
    const done = readContainerLog(g, { follow: true }, out, async () => running);
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(g, line('2026-01-01T00:00:01Z', 'stdout', 'F', 'b'));
    await new Promise((r) => setTimeout(r, 200));
    renameSync(g, `${g}.20260101-000000`);
    writeFileSync(g, line('2026-01-01T00:00:02Z', 'stdout', 'F', 'c'));
    await new Promise((r) => setTimeout(r, 1300));
    running = false;
    await done;
    assert.equal(out.text(), 'a\nb\nc\n');
  });

  it('rotates over the size: renames, reopens, keeps at most maxFiles, compresses older ones', async () => {
    const dir = join(d, 'r');
    mkdirSync(dir, { recursive: true });
    const h = join(dir, '0.log');
    const reopened: string[] = [];
    const rt: Pick<ContainerRuntime, 'reopenContainerLog'> = {
      reopenContainerLog: async (r) => {
        reopened.push(r.containerId ?? '');
        return {};
      },
    };
    for (let i = 0; i < 5; i++) {
      writeFileSync(h, 'x'.repeat(200));
      assert.equal(await rotateIfNeeded(rt, 'cid', h, { maxBytes: 100, maxFiles: 3 }), true);
    }
    writeFileSync(h, 'small');
    assert.equal(await rotateIfNeeded(rt, 'cid', h, { maxBytes: 100, maxFiles: 3 }), false);
    assert.equal(reopened.length, 5);
    const files = readdirSync(dir).sort();
    // The current file and maxFiles-1 rotations: the newest plain, older ones gzipped.
    assert.equal(files.length, 3, String(files));
    assert.equal(files.filter((x) => x.endsWith('.gz')).length, 1, String(files));
    assert.ok(existsSync(h));
  });
});
