import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createCgroupManager } from '../index.js';
import { fakeV2Root } from '../fake-root.js';
import { isSkiffError } from '../../../common/index.js';

const P = '/skiff/c2';

test('v2: detected, one dir, controllers enabled in the root', async () => {
  const f = fakeV2Root(P);
  try {
    const m = createCgroupManager(P, { mountRoot: f.root });
    assert.equal(m.version, 2);
    assert.deepEqual(m.dirs(), { unified: join(f.root, P) });
    assert.equal(m.oomFile(), join(f.root, P, 'memory.events'));
    await m.create();
    assert.equal(f.read('cgroup.subtree_control'), '+cpuset +cpu +io +memory +pids');
  } finally {
    f.cleanup();
  }
});

test('v2: set converts OCI values the way runc does', async () => {
  const f = fakeV2Root(P);
  try {
    const m = createCgroupManager(P, { mountRoot: f.root });
    await m.set({
      memory: { limit: 100 << 20, swap: 300 << 20, reservation: 10 << 20 },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 32 },
      blockIO: { weight: 500, throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }] },
      devices: [{ allow: false, access: 'rwm' }],
      unified: { 'memory.high': '90000000' },
    });
    assert.equal(f.read(`${P}/memory.max`), String(100 << 20));
    assert.equal(f.read(`${P}/memory.swap.max`), String(200 << 20), 'swap.max = OCI swap - limit');
    assert.equal(f.read(`${P}/memory.low`), String(10 << 20));
    assert.equal(f.read(`${P}/cpu.weight`), '39');
    assert.equal(f.read(`${P}/cpu.max`), '50000 100000');
    assert.equal(f.read(`${P}/cpuset.cpus`), '0');
    assert.equal(f.read(`${P}/pids.max`), '32');
    assert.equal(f.read(`${P}/io.weight`), 'default 4950');
    assert.equal(f.read(`${P}/io.max`), '8:0 wiops=100');
    assert.equal(f.read(`${P}/memory.high`), '90000000');
    await m.set({ memory: { limit: -1 }, cpu: { quota: -1, period: 100000 } });
    assert.equal(f.read(`${P}/memory.max`), 'max');
    assert.equal(f.read(`${P}/memory.swap.max`), 'max', 'unlimited memory without swap given: swap unlimited too');
    assert.equal(f.read(`${P}/cpu.max`), 'max 100000');
    await assert.rejects(
      m.set({ memory: { limit: 100, swap: 50 } }),
      (e) => isSkiffError(e, 'InvalidArgument') && e.field === 'linux.resources.memory.swap',
    );
    await assert.rejects(m.set({ unified: { '../x': '1' } }), (e) => isSkiffError(e, 'InvalidArgument'));
  } finally {
    f.cleanup();
  }
});

test('v2: stats, oomKillCount, freeze via cgroup.events, kill via cgroup.kill, destroy', async () => {
  const f = fakeV2Root(P);
  try {
    const m = createCgroupManager(P, { mountRoot: f.root });
    const s = await m.stats();
    assert.equal(s.cpu.usageNs, 1_500_000);
    assert.equal(s.cpu.userNs, 1_000_000);
    assert.equal(s.cpu.throttledTimeNs, 20_000);
    assert.equal(s.memory.usage, 65536);
    assert.equal(s.memory.maxUsage, 131072);
    assert.equal(s.memory.limit, -1);
    assert.equal(s.memory.rss, 300);
    assert.equal(s.memory.cache, 400);
    assert.equal(s.memory.oomEvents, 2);
    assert.equal(s.memory.oomKillEvents, 1);
    assert.equal(s.pids.current, 2);
    assert.equal(s.io.readBytes, 1024);
    assert.equal(s.io.writeOps, 2);
    assert.equal(await m.oomKillCount(), 1);
    f.write(`${P}/cgroup.events`, 'populated 1\nfrozen 1\n');
    await m.freeze();
    assert.equal(f.read(`${P}/cgroup.freeze`), '1');
    assert.equal(await m.freezerState(), 'FROZEN');
    await m.thaw();
    assert.equal(f.read(`${P}/cgroup.freeze`), '0');
    await m.killAll('SIGKILL');
    assert.equal(f.read(`${P}/cgroup.kill`), '1');
    await m.destroy();
    assert.ok(!existsSync(join(f.root, P)));
    await m.destroy();
  } finally {
    f.cleanup();
  }
});

test('v2: freeze times out when the kernel never reports frozen', async () => {
  const f = fakeV2Root(P);
  try {
    const m = createCgroupManager(P, { mountRoot: f.root, freezeTimeoutMs: 50 });
    await assert.rejects(m.freeze(), (e) => isSkiffError(e, 'Unavailable') && /cgroup\.events/.test(e.message));
    assert.equal(f.read(`${P}/cgroup.freeze`), '0', 'left thawed after the failure');
  } finally {
    f.cleanup();
  }
});
