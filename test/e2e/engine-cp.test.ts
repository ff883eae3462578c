// `docker cp` into and out of a container's volumes, bind mounts and tmpfs mounts (running and
// stopped), and what a read-only rootfs allows, with the real docker CLI against a private engine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
let tmp: string;
const sfx = Math.random().toString(16).slice(2, 8);
const n = (x: string) => `cp-${x}-${sfx}`;

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('engine-cp e2e needs root (containers, mounts, cgroups)');
  execFileSync('docker', ['--version']);
  e = await startEngine();
  tmp = mkdtempSync('/tmp/skiff-cpv-');
});
after(async () => {
  await e?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('docker cp into and out of volumes, bind mounts and tmpfs of a running and then a stopped container', () => {
  const c = n('mounts'),
    vol = n('vol');
  const bind = join(tmp, 'bind');
  mkdirSync(bind);
  writeFileSync(join(bind, 'host.txt'), 'from-host\n');
  writeFileSync(join(tmp, 'a.txt'), 'into-volume\n');
  writeFileSync(join(tmp, 'b.txt'), 'into-bind\n');
  e.docker([
    'run',
    '-d',
    '--name',
    c,
    '-v',
    `${vol}:/srv/vol`,
    '-v',
    `${bind}:/bind`,
    '--tmpfs',
    '/tt',
    'busybox',
    'sleep',
    '600',
  ]);
  try {
    // Into the running container.
    e.docker(['cp', join(tmp, 'a.txt'), `${c}:/srv/vol/a.txt`]);
    e.docker(['cp', join(tmp, 'b.txt'), `${c}:/bind/b.txt`]);
    assert.equal(e.docker(['exec', c, 'cat', '/srv/vol/a.txt', '/bind/b.txt']), 'into-volume\ninto-bind\n');
    assert.equal(readFileSync(join(bind, 'b.txt'), 'utf8'), 'into-bind\n', 'written to the bind source on the host');
    assert.equal(
      e.docker(['run', '--rm', '-v', `${vol}:/v`, 'busybox', 'cat', '/v/a.txt']),
      'into-volume\n',
      'written to the volume',
    );
    // Out of it: files, a bind-mounted file from the host, tmpfs content, and a directory holding a volume.
    e.docker(['exec', c, 'sh', '-c', 'echo in-tmpfs > /tt/t.txt; echo in-volume > /srv/vol/v.txt']);
    e.docker(['cp', `${c}:/bind/host.txt`, join(tmp, 'host-out.txt')]);
    assert.equal(readFileSync(join(tmp, 'host-out.txt'), 'utf8'), 'from-host\n');
    e.docker(['cp', `${c}:/tt/t.txt`, join(tmp, 't-out.txt')]);
    assert.equal(readFileSync(join(tmp, 't-out.txt'), 'utf8'), 'in-tmpfs\n');
    e.docker(['cp', `${c}:/srv`, join(tmp, 'srv-out')]);
    assert.equal(
      readFileSync(join(tmp, 'srv-out', 'vol', 'v.txt'), 'utf8'),
      'in-volume\n',
      'a copied directory includes the volume mounted below it',
    );
    assert.match(e.docker(['exec', c, 'ls', '/srv/vol']), /a\.txt/);

    // Stopped: the volume and the bind mount are still reachable both ways.
    e.docker(['stop', '-t', '1', c]);
    writeFileSync(join(tmp, 'c.txt'), 'while-stopped\n');
    e.docker(['cp', join(tmp, 'c.txt'), `${c}:/srv/vol/c.txt`]);
    e.docker(['cp', join(tmp, 'c.txt'), `${c}:/bind/c.txt`]);
    assert.equal(readFileSync(join(bind, 'c.txt'), 'utf8'), 'while-stopped\n');
    e.docker(['cp', `${c}:/srv/vol/a.txt`, join(tmp, 'a-stopped.txt')]);
    assert.equal(readFileSync(join(tmp, 'a-stopped.txt'), 'utf8'), 'into-volume\n');
    e.docker(['start', c]);
    assert.equal(e.docker(['exec', c, 'cat', '/srv/vol/c.txt']), 'while-stopped\n');
    const missing = e.dockerRaw(['cp', `${c}:/srv/vol/nope`, join(tmp, 'nope')]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /Could not find the file \/srv\/vol\/nope/);
    assert.ok(!existsSync(join(tmp, 'nope')));
  } finally {
    e.dockerRaw(['rm', '-f', '-v', c]);
    e.dockerRaw(['volume', 'rm', vol]);
  }
});

test('docker cp with a read-only rootfs: a read-write volume takes files, the rootfs and a read-only bind refuse', () => {
  const c = n('ro'),
    vol = n('rovol');
  const bind = join(tmp, 'robind');
  mkdirSync(bind);
  writeFileSync(join(tmp, 'x.txt'), 'x\n');
  e.docker([
    'run',
    '-d',
    '--read-only',
    '--name',
    c,
    '-v',
    `${vol}:/data`,
    '-v',
    `${bind}:/ro:ro`,
    'busybox',
    'sleep',
    '600',
  ]);
  try {
    e.docker(['cp', join(tmp, 'x.txt'), `${c}:/data/x.txt`]);
    assert.equal(e.docker(['exec', c, 'cat', '/data/x.txt']), 'x\n');
    const root = e.dockerRaw(['cp', join(tmp, 'x.txt'), `${c}:/tmp/x.txt`]);
    assert.notEqual(root.status, 0);
    assert.match(root.stderr, /rootfs is marked read-only/);
    const ro = e.dockerRaw(['cp', join(tmp, 'x.txt'), `${c}:/ro/x.txt`]);
    assert.notEqual(ro.status, 0);
    assert.match(ro.stderr, /read-only/);
    assert.ok(!existsSync(join(bind, 'x.txt')));
  } finally {
    e.dockerRaw(['rm', '-f', '-v', c]);
    e.dockerRaw(['volume', 'rm', vol]);
  }
});
