// A test run killed before its after() leaves its engine, dockerd and CRI fixtures running (with
// their containers, pods, mounts, cgroups, bridges and chains); the next start of each fixture reaps
// them. Directories without a marker (older runs) are reaped only when nothing uses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { reapDeadEngines, startEngine } from '../fixtures/engine.js';
import { startCriEngine, criTools } from '../fixtures/cri.js';
import { startDockerd } from '../fixtures/dockerd.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface Made {
  engine: { dir: string; pid: number; cgroupParent: string; chainPrefix: string; bridge: string };
  dockerd: { dir: string; pid: number; bridge: string; container: string };
  cri: { dir: string; sockDir: string; pid: number; podBridge: string; podChainPrefix: string };
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

  assert.ok(linkExists(made.cri.podBridge), 'CRI pod bridge left');
  assert.ok(running(made.cri.pid), 'CRI engine outlived its test process');
  // The pod's cgroup (named by the test, outside the engine's cgroup parent) holds its pause.
  const podCgroup = `kubepods/besteffort/podreap-${made.cri.podBridge}`;
  assert.ok(cgroupsOf(podCgroup).length > 0, 'pod cgroup left');

  const e = await startEngine({ seed: false }); // reaps every dead engine, the CRI one's too
  try {
    assert.equal(running(made.engine.pid), false, 'the dead run’s engine was ended');
    assert.deepEqual(
      cgroupsOf(podCgroup),
      [],
      'the dead run’s pod (its pause process) was ended and its cgroup removed',
    );
    assert.deepEqual(mountsBelow(made.engine.dir), []);
    assert.deepEqual(cgroupsOf(made.engine.cgroupParent), []);
    assert.equal(linkExists(made.engine.bridge), false);
    assert.equal(execFileSync('iptables-save', { encoding: 'utf8' }).includes(made.engine.chainPrefix), false);
    assert.equal(existsSync(made.engine.dir), false);
  } finally {
    await e.stop();
  }
  const c = await startCriEngine({ tools: criTools() });
  try {
    assert.equal(running(made.cri.pid), false, 'the dead run’s CRI engine was ended');
    assert.equal(linkExists(made.cri.podBridge), false, 'its pod bridge was removed by the CRI fixture');
    assert.equal(execFileSync('iptables-save', { encoding: 'utf8' }).includes(made.cri.podChainPrefix), false);
    assert.equal(existsSync(made.cri.dir), false);
    assert.equal(existsSync(made.cri.sockDir), false);
  } finally {
    await c.stop();
  }
  // A stopped CRI fixture leaves no directory behind (its pod network was once purged after the
  // engine's directory was removed, re-creating data/cri/network there without a marker).
  assert.equal(existsSync(c.engine.dir), false);
  assert.equal(existsSync(join(c.socket, '..')), false);
  assert.equal(linkExists(c.podBridge), false);
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

test('directories without a marker are reaped only when old and unused', async () => {
  const sfx = () =>
    Math.floor(Math.random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  const old = Date.now() / 1000 - 3600;
  const make = (age: number) => {
    const dir = mkdtempSync(`/tmp/ske-${sfx()}-`);
    mkdirSync(join(dir, 'data', 'cri', 'network'), { recursive: true });
    utimesSync(dir, age, age);
    return dir;
  };
  const stale = make(old);
  const fresh = make(Date.now() / 1000);
  const busy = make(old);
  const holder = spawn('sleep', ['60'], { cwd: busy, stdio: 'ignore' });
  try {
    await new Promise((r) => holder.once('spawn', r));
    const reaped = await reapDeadEngines();
    assert.ok(reaped.includes(stale), 'an old marker-less directory nothing uses is reaped');
    assert.equal(existsSync(stale), false);
    assert.ok(existsSync(fresh), 'a new one is left (a fixture may be about to write its marker)');
    assert.ok(existsSync(busy), 'one a process works in is left');
  } finally {
    holder.kill('SIGKILL');
    for (const d of [fresh, busy]) rmSync(d, { recursive: true, force: true });
  }
});
