import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jitter, PodQueue } from './pod-queue.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('pod queue (one worker per pod)', () => {
  it('runs every pod at once, never one pod twice at a time, and coalesces updates', async () => {
    const q = new PodQueue<string>();
    const release = new Map<string, () => void>();
    const runs: string[] = [];
    let overlap = false;
    const busy = new Set<string>();
    q.run(async (k) => {
      if (busy.has(k)) overlap = true;
      busy.add(k);
      runs.push(k);
      await new Promise<void>((r) => release.set(k, r));
      busy.delete(k);
    });
    for (let i = 0; i < 100; i++) q.add(`p${i}`);
    await tick();
    assert.equal(q.active, 100, 'no pool: all 100 pods sync at the same time');
    q.add('p0');
    q.add('p0');
    await tick();
    assert.equal(runs.filter((k) => k === 'p0').length, 1, 'p0 waits for its own sync');
    release.get('p0')!();
    await tick();
    assert.equal(runs.filter((k) => k === 'p0').length, 2, 'two updates while busy: one more sync');
    release.get('p0')!();
    for (let i = 1; i < 100; i++) release.get(`p${i}`)!();
    await tick();
    assert.equal(q.active, 0);
    assert.equal(overlap, false);
    q.stop();
  });

  it('retries a failing sync after a growing, jittered back-off', async () => {
    const q = new PodQueue<string>();
    const at: number[] = [];
    q.run(async () => {
      at.push(Date.now());
      if (at.length < 3) throw new Error('boom');
    });
    q.add('x');
    const end = Date.now() + 5000;
    while (at.length < 3 && Date.now() < end) await tick(10);
    q.stop();
    assert.equal(at.length, 3);
    assert.ok(at[1]! - at[0]! >= 100, `first retry after ${at[1]! - at[0]!} ms`);
    assert.ok(at[2]! - at[1]! >= 200, `second retry after ${at[2]! - at[1]!} ms`);
    assert.equal(
      jitter(10_000, 0.5, () => 0),
      10_000,
    );
    assert.equal(
      jitter(10_000, 0.5, () => 0.999),
      14_995,
    );
  });
});
