import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createCgroupManager, CgroupV1Manager } from '../index.js';
import { fakeV1Root } from '../fake-root.js';
import { isSkiffError } from '../../../common/index.js';

const P = '/skiff/c1';

test('v1: detected from the layout, dirs per hierarchy', () => {
  const f = fakeV1Root(P);
  try {
    const m = createCgroupManager(P, { mountRoot: f.root });
    assert.equal(m.version, 1);
    assert.equal(m.dirs().memory, join(f.root, 'memory', P));
    assert.equal(m.dirs().freezer, join(f.root, 'freezer', P));
    assert.equal(m.dirs().unified, undefined);
    assert.equal(m.oomFile(), join(f.root, 'memory', P, 'memory.oom_control'));
  } finally {
    f.cleanup();
  }
});

test('v1: create copies the parent cpuset; set writes every controller file', async () => {
  const f = fakeV1Root(P);
  try {
    const m = createCgroupManager(P, { mountRoot: f.root });
    await m.create();
    assert.equal(f.read(`cpuset${P}/cpuset.cpus`), '0-1');
    assert.equal(f.read(`cpuset${P}/cpuset.mems`), '0');
    await m.set({
      memory: { limit: 100 << 20, swap: 200 << 20, reservation: 50 << 20, swappiness: 10, disableOOMKiller: true },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '1', mems: '0' },
      pids: { limit: 64 },
      blockIO: {
        weight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 200 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      },
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      ],
    });
    assert.equal(f.read(`memory${P}/memory.limit_in_bytes`), String(100 << 20));
    assert.equal(
      f.read(`memory${P}/memory.memsw.limit_in_bytes`),
      String(200 << 20),
      'OCI swap is memory+swap = memsw',
    );
    assert.equal(f.read(`memory${P}/memory.soft_limit_in_bytes`), String(50 << 20));
    assert.equal(f.read(`memory${P}/memory.swappiness`), '10');
    assert.equal(f.read(`memory${P}/memory.oom_control`), '1');
    assert.equal(f.read(`cpu${P}/cpu.shares`), '512');
    assert.equal(f.read(`cpu${P}/cpu.cfs_quota_us`), '50000');
    assert.equal(f.read(`cpu${P}/cpu.cfs_period_us`), '100000');
    assert.equal(f.read(`cpuset${P}/cpuset.cpus`), '1');
    assert.equal(f.read(`pids${P}/pids.max`), '64');
    assert.equal(f.read(`blkio${P}/blkio.weight`), '300');
    assert.equal(f.read(`blkio${P}/blkio.weight_device`), '8:0 200');
    assert.equal(f.read(`blkio${P}/blkio.throttle.read_bps_device`), '8:0 1048576');
    assert.equal(f.read(`devices${P}/devices.deny`), 'a');
    assert.equal(f.read(`devices${P}/devices.allow`), 'c 1:3 rwm');
    await m.set({ pids: { limit: 0 } });
    assert.equal(f.read(`pids${P}/pids.max`), 'max');
  } finally {
    f.cleanup();
  }
});

test('v1: a missing controller file fails naming the file and the value', async () => {
  const f = fakeV1Root(P);
  try {
    const m = createCgroupManager(P, { mountRoot: f.root });
    await m.create();
    await assert.rejects(m.set({ cpu: { realtimeRuntime: 950 } }), (e) => {
      assert.ok(isSkiffError(e, 'NotFound'));
      assert.match(e.message, /cpu\.rt_runtime_us/);
      assert.match(e.message, /"950"/);
      assert.ok(!existsSync(join(f.root, 'cpu', P, 'cpu.rt_runtime_us')), 'no regular file created in its place');
      return true;
    });
  } finally {
    f.cleanup();
  }
});

test('v1: stats, pids, oomKillCount, freeze/thaw, destroy', async () => {
  const f = fakeV1Root(P);
  try {
    const m = createCgroupManager(P, { mountRoot: f.root });
    f.write(`pids${P}/cgroup.procs`, '11\n12\n');
    const s = await m.stats();
    assert.equal(s.cpu.usageNs, 123456789);
    assert.equal(s.cpu.userNs, 500_000_000);
    assert.equal(s.cpu.systemNs, 250_000_000);
    assert.deepEqual(s.cpu.perCpuNs, [100, 200]);
    assert.equal(s.cpu.throttledPeriods, 2);
    assert.equal(s.memory.usage, 4096000);
    assert.equal(s.memory.limit, -1, 'the kernel\'s "unlimited" is reported as -1');
    assert.equal(s.memory.cache, 1000);
    assert.equal(s.memory.rss, 2000);
    assert.equal(s.memory.swapUsage, 1000000);
    assert.equal(s.memory.oomKillEvents, 3);
    assert.equal(s.pids.current, 4);
    assert.equal(s.pids.limit, undefined);
    assert.equal(s.io.readBytes, 4096);
    assert.equal(s.io.writeBytes, 8192);
    assert.equal(s.io.writeOps, 3);
    assert.deepEqual(await m.pids(), [11, 12]);
    assert.equal(await m.oomKillCount(), 3);
    await m.freeze();
    assert.equal(await m.freezerState(), 'FROZEN');
    await m.thaw();
    assert.equal(await m.freezerState(), 'THAWED');
    await m.destroy();
    assert.ok(!existsSync(join(f.root, 'memory', P)));
    assert.ok(existsSync(join(f.root, 'memory', 'skiff')), 'parents are left alone');
    await m.destroy(); // idempotent
  } finally {
    f.cleanup();
  }
});

test('v1: freeze that never completes times out with a clear error and thaws', async () => {
  const f = fakeV1Root(P);
  try {
    const m = createCgroupManager(P, { mountRoot: f.root, freezeTimeoutMs: 100 });
    // A state file that never reads back FROZEN: /dev/null takes every write and reads empty.
    const file = join(f.root, 'freezer', P, 'freezer.state');
    rmSync(file);
    symlinkSync('/dev/null', file);
    await assert.rejects(m.freeze(), (e) => isSkiffError(e, 'Unavailable') && /did not reach FROZEN/.test(e.message));
  } finally {
    f.cleanup();
  }
});

test('v1: named hierarchies (name=systemd) are made and joined too, co-mount links are not joined twice', async () => {
  const f = fakeV1Root(P);
  try {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(f.root, 'systemd', P), { recursive: true });
    writeFileSync(join(f.root, 'systemd', P, 'cgroup.procs'), '');
    mkdirSync(join(f.root, 'net_cls,net_prio', P), { recursive: true });
    writeFileSync(join(f.root, 'net_cls,net_prio', P, 'cgroup.procs'), '');
    symlinkSync('net_cls,net_prio', join(f.root, 'net_cls'));
    const m = createCgroupManager(P, { mountRoot: f.root });
    assert.equal(m.dirs().systemd, join(f.root, 'systemd', P));
    assert.equal(m.dirs()['net_cls,net_prio'], join(f.root, 'net_cls,net_prio', P));
    assert.equal(m.dirs().net_cls, undefined);
    await m.addProcess(4242);
    assert.equal(f.read(`systemd${P}/cgroup.procs`), '4242');
    assert.ok(m instanceof CgroupV1Manager);
    assert.deepEqual(m.layout().links, [{ name: 'net_cls', target: 'net_cls,net_prio' }]);
  } finally {
    f.cleanup();
  }
});
