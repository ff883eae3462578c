// A test run killed before its after() leaves its engine and dockerd fixtures running (with their
// containers, mounts, cgroups, bridges and chains); the next start of each fixture reaps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEngine } from '../fixtures/engine.js';
import { startDockerd } from '../fixtures/dockerd.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface Made {
  engine: { dir: string; pid: number; cgroupParent: string; chainPrefix: string; bridge: string };
  dockerd: { dir: string; pid: number; bridge: string; container: string };
}

const mountsBelow = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m?.startsWith(`${dir}/`));
const cgroupsOf = (parent: string) =>
  readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, parent)));
const running = (pid: number) =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
const linkExists = (name: string) => {
  try {
    execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

test('fixtures of a SIGKILLed test run are reaped by the next start', { timeout: 300_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/reap-child.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const made = await new Promise<Made>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]) as Made);
    });
    child.once('exit', (c) => reject(new Error(`fixture child exited (${c}) before it was ready`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  // What the killed run left: both daemons, their mounts, the engine's cgroups, bridge and chains.
  assert.ok(running(made.engine.pid), 'engine outlived its test process');
  assert.ok(running(made.dockerd.pid), 'dockerd outlived its test process');
  assert.ok(mountsBelow(made.engine.dir).length > 0, 'engine mounts left');
  assert.ok(mountsBelow(made.dockerd.dir).length > 0, 'dockerd mounts left');
  assert.ok(cgroupsOf(made.engine.cgroupParent).length > 0, 'engine cgroups left');
  assert.ok(linkExists(made.engine.bridge), 'engine bridge left');
  assert.ok(linkExists(made.dockerd.bridge), 'dockerd bridge left');
  assert.ok(cgroupsOf(`docker/${made.dockerd.container}`).length > 0, 'dockerd container cgroups left');

  const e = await startEngine({ seed: false });
  try {
    assert.equal(running(made.engine.pid), false, 'the dead run’s engine was ended');
    assert.deepEqual(mountsBelow(made.engine.dir), []);
    assert.deepEqual(cgroupsOf(made.engine.cgroupParent), []);
    assert.equal(linkExists(made.engine.bridge), false);
    assert.equal(execFileSync('iptables-save', { encoding: 'utf8' }).includes(made.engine.chainPrefix), false);
    assert.equal(existsSync(made.engine.dir), false);
  } finally {
    await e.stop();
  }
  const d = await startDockerd();
  try {
    assert.equal(running(made.dockerd.pid), false, 'the dead run’s dockerd was ended');
    assert.deepEqual(mountsBelow(made.dockerd.dir), []);
    assert.deepEqual(cgroupsOf(`docker/${made.dockerd.container}`), []);
    assert.equal(linkExists(made.dockerd.bridge), false);
    const cmdline = (p: string) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    };
    const left = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && cmdline(p).includes(`${made.dockerd.dir}/`));
    assert.deepEqual(left, [], 'no process of the dead dockerd (containerd, shims) left');
    assert.equal(existsSync(made.dockerd.dir), false);
  } finally {
    await d.stop();
  }
});
