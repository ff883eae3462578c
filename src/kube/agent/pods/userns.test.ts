import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podUsernsOptions } from './userns.js';

test("user namespace ranges: 65536 ids per pod from 65536, kept in the pod's directory, freed with it", () => {
  const root = mkdtempSync(join(tmpdir(), 'skiff-userns-'));
  try {
    const dirs = {
      podDir: (uid: string) => join(root, uid),
      podUids: () => readdirSync(root),
    };
    const host = (uid: string) => podUsernsOptions(dirs, uid).uids?.[0]?.hostId;
    assert.deepEqual(podUsernsOptions(dirs, 'a'), {
      mode: 'POD',
      uids: [{ containerId: 0, hostId: 65536, length: 65536 }],
      gids: [{ containerId: 0, hostId: 65536, length: 65536 }],
    });
    assert.equal(host('b'), 131072);
    assert.equal(host('a'), 65536, 'the same pod keeps its range');
    rmSync(join(root, 'a'), { recursive: true });
    assert.equal(host('c'), 65536, 'a removed pod frees its range');
    assert.equal(host('b'), 131072);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
