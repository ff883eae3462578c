// `docker run --init` (HostConfig.Init) against a private `skiff engine`: skiff-tini is PID 1, reaps
// orphans (and, as the control, they stay <defunct> without it), passes exit codes and signal deaths
// through, and forwards `docker stop`'s SIGTERM to the command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
const sfx = Math.random().toString(16).slice(2, 8);
const n = (x: string) => `init-${x}-${sfx}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('engine-init e2e needs root (containers, mounts, cgroups)');
  execFileSync('docker', ['--version']);
  e = await startEngine();
});
after(async () => {
  await e?.stop();
});

test('--init: PID 1 is skiff-tini at /sbin/docker-init, the command its child', () => {
  const out = e.docker([
    'run',
    '--rm',
    '--init',
    'busybox',
    'sh',
    '-c',
    'readlink /proc/1/exe; tr "\\0" " " </proc/1/cmdline; echo; echo ppid=$PPID pid=$$',
  ]);
  const [exe, cmdline, ids] = out.trim().split('\n');
  assert.equal(exe, '/sbin/docker-init');
  assert.match(cmdline, /^\/sbin\/docker-init -- sh -c /);
  assert.match(ids, /^ppid=1 pid=[2-9]\d*$/);
  // Without --init the command itself is PID 1.
  assert.equal(e.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo $$']).trim(), '1');
  assert.equal(e.docker(['run', '--rm', '--init', 'busybox', 'true']), '');
});

/** Zombie lines (`ps -o stat` starting with Z) inside a running container. */
function zombies(name: string): string[] {
  return e
    .docker(['exec', name, 'ps', '-o', 'pid,stat,comm'])
    .split('\n')
    .filter((l) => /^\s*\d+\s+Z/.test(l));
}

test('--init reaps orphans; without it they stay <defunct>', async () => {
  // Each `( … &)` leaves an orphan that is re-parented to PID 1; `exec sleep` makes the container's
  // main process one that never calls wait(). The orphans exit only once /tmp/go exists (made after
  // the exec): an orphan that exited while the shell was still PID 1 would be reaped by the shell
  // itself (busybox sh waits for any child), and the control would hold fewer zombies — that
  // happened with `sleep 0.1` orphans at a load of 37, when the loop took longer than 0.1 s.
  const script = 'for i in 1 2 3 4 5; do (while [ ! -e /tmp/go ]; do sleep 0.05; done &); done; exec sleep 60';
  const withInit = n('reap'),
    without = n('noreap');
  e.docker(['run', '-d', '--init', '--name', withInit, 'busybox', 'sh', '-c', script]);
  e.docker(['run', '-d', '--name', without, 'busybox', 'sh', '-c', script]);
  try {
    const main = (name: string) => e.docker(['exec', name, 'ps', '-o', 'pid,args']).split('\n');
    // (docker-init's own command line, PID 1 with --init, names the script too)
    const waiting = (name: string) => main(name).filter((l) => /sh -c for i/.test(l) && !/docker-init/.test(l));
    const until = Date.now() + 30_000;
    // The shell has exec'd (sleep 60 runs) and the five orphans are waiting: then let them go.
    for (const name of [withInit, without])
      while ((!main(name).some((l) => /sleep 60/.test(l)) || waiting(name).length < 5) && Date.now() < until)
        await sleep(200);
    for (const name of [withInit, without]) e.docker(['exec', name, 'touch', '/tmp/go']);
    // Every orphan has exited: the control then holds five zombies, and the container with --init
    // has neither the orphans nor zombies left.
    while ((zombies(without).length < 5 || waiting(withInit).length > 0) && Date.now() < until) await sleep(200);
    assert.equal(zombies(without).length, 5, 'control: orphans of a non-reaping PID 1 stay zombies');
    assert.deepEqual(zombies(withInit), [], 'skiff-tini reaped every orphan');
    assert.match(e.docker(['top', withInit]), /docker-init/);
  } finally {
    e.docker(['rm', '-f', withInit, without]);
  }
});

test('--init: exit codes and signal deaths pass through', () => {
  assert.equal(e.dockerRaw(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'exit 7']).status, 7);
  assert.equal(e.dockerRaw(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'kill -KILL $$']).status, 137);
  assert.equal(e.dockerRaw(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'kill -TERM $$']).status, 143);
  const missing = e.dockerRaw(['run', '--rm', '--init', 'busybox', 'no-such-binary']);
  assert.equal(missing.status, 127);
  assert.match(missing.stderr + missing.stdout, /no-such-binary/);
});

test("--init forwards docker stop's SIGTERM to the command", () => {
  // A plain `sleep` as PID 1 ignores SIGTERM (no handler in a pid namespace's init), so docker stop
  // would wait for the timeout and SIGKILL; under skiff-tini it dies of the forwarded SIGTERM.
  const plain = n('stop'),
    trapped = n('trap');
  e.docker(['run', '-d', '--init', '--name', plain, 'busybox', 'sleep', '300']);
  e.docker([
    'run',
    '-d',
    '--init',
    '--name',
    trapped,
    'busybox',
    'sh',
    '-c',
    'trap "echo got-term; exit 42" TERM; while true; do sleep 0.1; done',
  ]);
  try {
    let t = Date.now();
    e.docker(['stop', '-t', '20', plain]);
    assert.ok(Date.now() - t < 10_000, `stop took ${Date.now() - t} ms: SIGTERM was not forwarded`);
    assert.equal(e.docker(['inspect', '-f', '{{.State.ExitCode}}', plain]).trim(), '143');
    t = Date.now();
    e.docker(['stop', '-t', '20', trapped]);
    assert.ok(Date.now() - t < 10_000, `stop took ${Date.now() - t} ms`);
    assert.equal(e.docker(['inspect', '-f', '{{.State.ExitCode}}', trapped]).trim(), '42');
    assert.match(e.docker(['logs', trapped]), /got-term/);
  } finally {
    e.docker(['rm', '-f', plain, trapped]);
  }
});
