// `docker system df` (plain and -v) and `docker system prune` through the real docker CLI: the CLI
// templates read fields of every image, container and volume (UsageData), so a missing one fails it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let E: EngineFixture;
before(async () => {
  E = await startEngine();
});
after(async () => {
  await E?.stop();
});

test('docker system df and df -v with a volume, a running and a stopped container; system prune', () => {
  const vol = `df-${randomBytes(3).toString('hex')}`;
  E.docker(['volume', 'create', vol]);
  E.docker(['run', '--rm', '-v', `${vol}:/data`, 'busybox', 'sh', '-c', 'head -c 100000 /dev/zero > /data/blob']);
  const running = E.docker(['run', '-d', '-v', `${vol}:/data`, 'busybox', 'sleep', '60']).trim();
  E.docker(['run', 'busybox', 'true']);
  const df = E.docker(['system', 'df']);
  assert.match(df, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/m);
  assert.match(df, /^Images\s+1\s+1\s/m);
  assert.match(df, /^Containers\s+2\s+1\s/m);
  assert.match(df, /^Local Volumes\s+1\s+1\s+\d+(\.\d+)?kB\s/m);
  assert.match(df, /^Build Cache\s+0\s+0\s/m);
  const v = E.docker(['system', 'df', '-v']);
  assert.match(v, /Local Volumes space usage:/);
  assert.match(v, new RegExp(`^${vol}\\s+1\\s+\\d+(\\.\\d+)?kB$`, 'm'));
  E.docker(['rm', '-f', running]);
  const pruned = E.docker(['system', 'prune', '-f', '--volumes']);
  assert.match(pruned, /Total reclaimed space/);
  assert.equal(E.docker(['ps', '-aq']).trim(), '');
});
