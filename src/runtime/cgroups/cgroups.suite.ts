// The CgroupManager contract, shared by every implementation and environment: fake v1 and v2
// roots (unit tests) and the real kernel (test/integration/cgroups.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { CgroupManager } from './types.js';
import { isSkiffError } from '../../common/index.js';

export interface SuiteEnv {
  manager: CgroupManager;
  /** Makes a pending freeze complete where no kernel does it (fake v2 roots). */
  completeFreeze?: () => void;
  cleanup(): void | Promise<void>;
}

export function cgroupManagerSuite(label: string, make: () => SuiteEnv | Promise<SuiteEnv>): void {
  const run = (name: string, fn: (env: SuiteEnv) => Promise<void>) =>
    test(`${label}: ${name}`, async () => {
      const env = await make();
      try {
        await fn(env);
      } finally {
        await env.manager.destroy().catch(() => undefined);
        await env.cleanup();
      }
    });

  run('create is idempotent and makes every directory in dirs()', async ({ manager }) => {
    await manager.create();
    await manager.create();
    for (const d of Object.values(manager.dirs())) assert.ok(existsSync(d), `${d} exists`);
  });

  run('a pids limit set is read back by stats()', async ({ manager }) => {
    await manager.create();
    await manager.set({ pids: { limit: 42 } });
    assert.equal((await manager.stats()).pids.limit, 42);
    await manager.set({ pids: { limit: -1 } });
    assert.equal((await manager.stats()).pids.limit, undefined, 'unlimited');
  });

  run('freeze / thaw round trip', async ({ manager, completeFreeze }) => {
    await manager.create();
    completeFreeze?.();
    await manager.freeze();
    assert.equal(await manager.freezerState(), 'FROZEN');
    await manager.thaw();
    assert.equal(await manager.freezerState(), 'THAWED');
  });

  run('bad input is rejected naming the field', async ({ manager }) => {
    await manager.create();
    await assert.rejects(manager.addProcess(-3), (e) => isSkiffError(e, 'InvalidArgument') && e.field === 'pid');
    await assert.rejects(manager.set({ unified: { '../../etc/passwd': 'x' } }), (e) =>
      isSkiffError(e, 'InvalidArgument'),
    );
  });

  run('an empty cgroup has no pids; destroy removes everything and is idempotent', async ({ manager }) => {
    await manager.create();
    assert.deepEqual(await manager.pids(), []);
    await manager.destroy();
    for (const d of Object.values(manager.dirs())) assert.ok(!existsSync(d), `${d} removed`);
    await manager.destroy();
  });
}
