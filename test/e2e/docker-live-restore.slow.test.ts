// Live restore: containers keep running while the engine is down (they run under skiff-monitor);
// the restarted engine re-adopts them, records exits that happened while it was away, and applies
// `always` restart policies at start. With live restore turned off in daemon.json (dockerd's
// default), the engine stops its containers when it shuts down and those it finds running at start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
const cfgDir = mkdtempSync('/tmp/skiff-lr-cfg-');
const daemonJson = join(cfgDir, 'daemon.json');
before(async () => {
  if (process.getuid?.() !== 0) throw new Error('live-restore e2e needs root');
  writeFileSync(daemonJson, '{}');
  e = await startEngine({ args: ['--config-file', daemonJson] });
});
after(async () => {
  await e?.stop();
  rmSync(cfgDir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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

test('live restore off (daemon.json): info says so; containers stop at engine start and shutdown', async () => {
  assert.equal(e.docker(['info', '--format', '{{.LiveRestoreEnabled}}']).trim(), 'true');
  // A trap so that SIGTERM ends it at once (busybox sleep as PID 1 would wait for the timeout).
  const sh = ['sh', '-c', 'trap "exit 3" TERM; sleep 300 & wait'];
  e.docker(['run', '-d', '--name', 'was-running', 'busybox', ...sh]);
  e.docker(['run', '-d', '--name', 'comes-back', '--restart', 'always', 'busybox', ...sh]);
  const pid1 = JSON.parse(e.docker(['inspect', 'was-running']))[0].State.Pid;
  await e.kill(); // live restore still on: both keep running
  assert.ok(alive(pid1));
  writeFileSync(daemonJson, JSON.stringify({ 'live-restore': false }));
  await e.restart();
  assert.equal(e.docker(['info', '--format', '{{.LiveRestoreEnabled}}']).trim(), 'false');
  const was = JSON.parse(e.docker(['inspect', 'was-running']))[0].State;
  assert.equal(was.Status, 'exited', 'found running at start: stopped');
  assert.equal(was.ExitCode, 3);
  assert.ok(!alive(pid1));
  // Then its restart policy applies (started in the background once the engine serves).
  let back = JSON.parse(e.docker(['inspect', 'comes-back']))[0].State;
  for (let i = 0; i < 100 && back.Status !== 'running'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    back = JSON.parse(e.docker(['inspect', 'comes-back']))[0].State;
  }
  assert.equal(back.Status, 'running', 'then its restart policy applies');
  // Shutdown: the running container is stopped with its stop signal, not marked stopped by the user.
  const pid2 = back.Pid;
  await e.kill();
  assert.ok(!alive(pid2), 'stopped with the engine');
  writeFileSync(daemonJson, '{}');
  await e.restart();
  let st = '';
  for (let i = 0; i < 100 && st !== 'running'; i++) {
    st = e.docker(['inspect', '--format', '{{.State.Status}}', 'comes-back']).trim();
    if (st !== 'running') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(st, 'running', 'not stopped by the user: its policy starts it again');
  e.docker(['rm', '-f', 'was-running', 'comes-back']);
});
