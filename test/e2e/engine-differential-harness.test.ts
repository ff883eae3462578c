// The engine differential's harness refuses `docker cp CONTAINER:SRC DEST` to a host path shared by
// its runs: the docker CLI follows a DEST that already is a symlink, so the second copy of a container
// symlink (the other side's run, or a repeat) wrote at the link's target on this host — how the host's
// /etc/passwd became a symlink to itself on 2026-12-07. No daemon needed: the refusal comes first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OUT, docker, hostCopyOut, sh, type Side } from './engine-differential-harness.js';

const tmp = mkdtempSync('/tmp/skiff-ediff-guard-');
// a socket nobody serves: a command that is let through fails to connect, fast
const side: Side = { name: 'skiff', host: `unix://${tmp}/none.sock`, socket: `${tmp}/none.sock`, config: tmp };

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('hostCopyOut names the host destination of a copy out of a container only', () => {
  assert.equal(hostCopyOut(['cp', 'c:/lnk', '/tmp/x']), '/tmp/x');
  assert.equal(hostCopyOut(['container', 'cp', '-a', 'c:/lnk', 'rel/x']), 'rel/x');
  assert.equal(hostCopyOut(['cp', '-L', 'c:/lnk', '-']), undefined);
  assert.equal(hostCopyOut(['cp', '/tmp/f', 'c:/tmp/']), undefined);
  assert.equal(hostCopyOut(['cp', './a:b', '/tmp/x']), undefined); // a host path with a colon
  assert.equal(hostCopyOut(['exec', 'c', 'cp', 'c:/a', '/b']), undefined);
});

test('a copy out to a host path is refused before the CLI runs; stdout and OUT are let through', async () => {
  const dest = join(tmp, 'dest');
  await assert.rejects(docker(side, ['cp', 'c:/lnk', dest]), /docker cp to the host path .*follows a destination/);
  await assert.rejects(sh(side, `docker cp c:/lnk ${dest}`), /docker cp to the host path/);
  await assert.rejects(sh(side, `docker cp c:/a - | tar t; docker cp c:/lnk ${dest}`), /docker cp to the host path/);
  assert.equal(existsSync(dest), false);
  for (const r of [
    await docker(side, ['cp', 'c:/lnk', '-']),
    await docker(side, ['cp', 'c:/lnk', `${OUT}/x`]),
    await sh(side, 'docker cp c:/lnk - | tar t'),
  ])
    assert.match(r.stderr, /none\.sock|Cannot connect/, 'ran the CLI');
});
