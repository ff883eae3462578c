// Live restore: containers keep running while the engine is down (they run under skiff-monitor);
// the restarted engine re-adopts them, records exits that happened while it was away, and applies
// `always` restart policies at start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
before(async () => {
  if (process.getuid?.() !== 0) throw new Error('live-restore e2e needs root');
  e = await startEngine();
});
after(async () => {
  await e?.stop();
});

test('containers survive an engine restart and are re-adopted', async () => {
  e.docker(['run', '-d', '--name', 'keeps', 'busybox', 'sleep', '300']);
  e.docker(['run', '-d', '--name', 'ends', 'busybox', 'sh', '-c', 'sleep 1; exit 9']);
  const pid = JSON.parse(e.docker(['inspect', 'keeps']))[0].State.Pid;
  await e.kill();
  process.kill(pid, 0); // still alive without the engine
  await new Promise((r) => setTimeout(r, 1500));
  await e.restart();
  const keeps = JSON.parse(e.docker(['inspect', 'keeps']))[0].State;
  assert.equal(keeps.Running, true);
  assert.equal(keeps.Pid, pid);
  const ends = JSON.parse(e.docker(['inspect', 'ends']))[0].State;
  assert.equal(ends.Status, 'exited');
  assert.equal(ends.ExitCode, 9);
  assert.equal(e.docker(['exec', 'keeps', 'echo', 'still-here']), 'still-here\n');
  e.docker(['kill', 'keeps']);
  assert.equal(e.docker(['wait', 'keeps']).trim(), '137', 'exit of a re-adopted container is seen');
  e.docker(['rm', 'keeps', 'ends']);
});
