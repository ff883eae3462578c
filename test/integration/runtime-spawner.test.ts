// skiff-spawn: processes started for this Node process without forking it. Relayed lines arrive
// tagged with the child's descriptor and before the exit status; this process's descriptors are
// handed over by number; a spec payload arrives on its pipe; failures are reported, not hung.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Spawner } from '../../src/runtime/spawner.js';
import { nativeBinary } from '../../src/runtime/native.js';

let dir: string;
let sp: Spawner;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-spawner-'));
  sp = new Spawner(nativeBinary('skiff-spawn'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('relayed lines (tagged by fd) come before the exit status; a spec payload is read from its pipe', async () => {
  const lines: string[] = [];
  const p = await sp.spawn(
    ['/bin/sh', '-c', 'echo out; echo err >&2; cat <&4 >&3; exit 3'],
    { 0: { kind: 'null' }, 1: { kind: 'relay' }, 2: { kind: 'relay' }, 3: { kind: 'relay' }, 4: { kind: 'spec' } },
    { payload: 'spec line 1\nspec line 2\n', onLine: (fd, l) => lines.push(`${fd}:${l}`) },
  );
  assert.ok(p.pid > 0);
  const st = await p.status;
  assert.equal(st >> 8, 3);
  assert.deepEqual(lines.sort(), ['1:out', '2:err', '3:spec line 1', '3:spec line 2']);
});

test('a descriptor of this process is handed over by number', async () => {
  const f = join(dir, 'out');
  const fd = openSync(f, 'w');
  try {
    const p = await sp.spawn(['/bin/sh', '-c', 'echo to-file'], { 0: { kind: 'null' }, 1: { kind: 'parent', fd } });
    assert.equal(await p.status, 0);
  } finally {
    closeSync(fd);
  }
  assert.equal(readFileSync(f, 'utf8'), 'to-file\n');
});

test('an executable that cannot run exits 127 with a message; many at once are all answered', async () => {
  const lines: string[] = [];
  const p = await sp.spawn(['/no/such/binary'], { 2: { kind: 'relay' } }, { onLine: (_fd, l) => lines.push(l) });
  assert.equal((await p.status) >> 8, 127);
  assert.match(lines.join('\n'), /exec \/no\/such\/binary: No such file/);
  // alive at the same time: more than the child table's first sizes (16, 32, 64)
  const all = await Promise.all(
    Array.from({ length: 80 }, (_, i) =>
      sp.spawn(['/bin/sh', '-c', `sleep 1; exit ${i % 7}`], { 0: { kind: 'null' } }),
    ),
  );
  const codes = await Promise.all(all.map((x) => x.status));
  assert.deepEqual(
    codes.map((c) => c >> 8),
    Array.from({ length: 80 }, (_, i) => i % 7),
  );
});

test('requests skiff-spawn could not read are refused here, and the helper keeps serving', async () => {
  await assert.rejects(sp.spawn(['/bin/sh', '-c', 'x'.repeat(5000)], {}), /at most 64 arguments/);
  await assert.rejects(sp.spawn(['/bin/true'], { 30: { kind: 'null' } }), /at most 16 descriptors/);
  const p = await sp.spawn(['/bin/sh', '-c', 'exit 4'], { 0: { kind: 'null' } });
  assert.equal((await p.status) >> 8, 4);
});
