// Cgroup managers on the real kernel. This machine is hybrid: v1 controllers are real; the cgroup2
// mount at /sys/fs/cgroup/unified has no controllers, so there only cgroup.procs / freeze / kill are
// exercised (the v2 controller files are covered by the fake-root unit tests). Every test creates
// its own `skiff-test-<rand>` cgroup at the hierarchy roots, moves only processes it spawned, and
// removes everything it made.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createCgroupManager, type CgroupManager } from '../../src/runtime/cgroups/index.js';
import { cgroupManagerSuite } from '../../src/runtime/cgroups/cgroups.suite.js';

const ROOT = '/sys/fs/cgroup';
const UNIFIED = join(ROOT, 'unified');
if (process.getuid?.() !== 0) throw new Error('cgroups integration tests need root');
if (!existsSync(join(ROOT, 'memory', 'cgroup.procs')))
  throw new Error('cgroup v1 memory hierarchy not mounted at /sys/fs/cgroup/memory');

const children: ChildProcess[] = [];
const managers: CgroupManager[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 50));
  for (const m of managers) {
    await m.killAll('SIGKILL').catch(() => undefined);
    await m.destroy().catch(() => undefined);
  }
});

cgroupManagerSuite('real v1', () => ({
  manager: createCgroupManager(`/skiff-test-${randomBytes(4).toString('hex')}`),
  cleanup: () => undefined,
}));

const name = () => `/skiff-test-${randomBytes(4).toString('hex')}`;
function manager(path: string, mountRoot?: string): CgroupManager {
  const m = createCgroupManager(path, mountRoot ? { mountRoot } : {});
  managers.push(m);
  return m;
}
function child(
  script: string,
): ChildProcess & { exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const c = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(c);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    c.on('exit', (code, signal) => res({ code, signal })),
  );
  return Object.assign(c, { exited });
}
const utime = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[11]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function assertStopsProgressing(pid: number, frozen: boolean) {
  await sleep(50);
  const a = utime(pid);
  if (frozen) {
    await sleep(400);
    assert.equal(utime(pid), a, 'a frozen busy loop accumulates no CPU time');
    return;
  }
  // Thawed: it runs again (allow for a loaded machine and a CPU quota: up to 5 s).
  const end = Date.now() + 5000;
  while (utime(pid) === a) {
    if (Date.now() > end) assert.fail('a thawed busy loop runs again');
    await sleep(50);
  }
}

test('v1 (real kernel): create, join, set, read back, stats, freeze/thaw, destroy leaves nothing', async () => {
  const path = name();
  const m = manager(path);
  assert.equal(m.version, 1);
  await m.create();
  const c = child('while :; do :; done');
  await m.addProcess(c.pid!);
  const cg = readFileSync(`/proc/${c.pid}/cgroup`, 'utf8');
  for (const ctrl of ['memory', 'pids', 'cpu', 'cpuset', 'freezer', 'blkio', 'devices'])
    assert.match(cg, new RegExp(`:${ctrl}:${path}\\n`));
  assert.match(cg, new RegExp(`^0::${path}$`, 'm'), 'joined the unified hierarchy too (hybrid)');
  await m.set({
    memory: { limit: 64 << 20, swap: 64 << 20, reservation: 32 << 20, swappiness: 0 },
    cpu: { shares: 512, quota: 20000, period: 100000, cpus: '0', mems: '0' },
    pids: { limit: 10 },
    blockIO: { throttleReadBpsDevice: [{ major: 7, minor: 0, rate: 1048576 }] },
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    ],
  });
  const rd = (ctrl: string, f: string) => readFileSync(join(m.dirs()[ctrl], f), 'utf8').trim();
  assert.equal(rd('memory', 'memory.limit_in_bytes'), String(64 << 20));
  assert.equal(rd('memory', 'memory.memsw.limit_in_bytes'), String(64 << 20));
  assert.equal(rd('memory', 'memory.soft_limit_in_bytes'), String(32 << 20));
  assert.equal(rd('cpu', 'cpu.shares'), '512');
  assert.equal(rd('cpu', 'cpu.cfs_quota_us'), '20000');
  assert.equal(rd('cpu', 'cpu.cfs_period_us'), '100000');
  assert.equal(rd('cpuset', 'cpuset.cpus'), '0');
  assert.equal(rd('pids', 'pids.max'), '10');
  assert.equal(rd('blkio', 'blkio.throttle.read_bps_device'), '7:0 1048576');
  assert.equal(rd('devices', 'devices.list'), 'c 1:3 rwm');

  await sleep(300);
  const s = await m.stats();
  assert.equal(s.pids.current, 1);
  assert.equal(s.pids.limit, 10);
  assert.equal(s.memory.limit, 64 << 20);
  assert.ok(s.cpu.usageNs > 0, `cpu usage counted (${s.cpu.usageNs} ns)`);
  assert.ok(s.cpu.periods > 0, 'CFS periods counted under a quota');
  assert.deepEqual(await m.pids(), [c.pid]);

  await m.freeze();
  assert.equal(await m.freezerState(), 'FROZEN');
  await assertStopsProgressing(c.pid!, true);
  await m.thaw();
  assert.equal(await m.freezerState(), 'THAWED');
  await assertStopsProgressing(c.pid!, false);

  // A bad value names the file and the value, and the cgroup keeps its previous setting.
  await assert.rejects(
    m.set({ cpu: { cpus: '99' } }),
    (e: Error) => /cpuset\.cpus/.test(e.message) && /"99"/.test(e.message),
  );
  assert.equal(rd('cpuset', 'cpuset.cpus'), '0');

  await m.killAll('SIGKILL');
  assert.equal((await c.exited).signal, 'SIGKILL');
  await m.destroy();
  for (const d of Object.values(m.dirs())) assert.ok(!existsSync(d), `${d} removed`);
  await m.destroy();
});

test('v1 (real kernel): pids limit stops forks beyond it', async () => {
  const m = manager(name());
  await m.create();
  await m.set({ pids: { limit: 3 } });
  const c = child('read x; for i in 1 2 3 4 5 6; do sleep 5 & done; sleep 0.3; exit 0');
  await m.addProcess(c.pid!);
  let err = '';
  c.stderr!.on('data', (d) => (err += d));
  c.stdin!.end('go\n');
  await sleep(150);
  const s = await m.stats();
  assert.ok(s.pids.current <= 3, `pids.current ${s.pids.current} <= 3`);
  await c.exited;
  assert.match(err, /fork|Resource temporarily unavailable/i);
  assert.equal((await m.pids()).length, 2, 'the two sleeps that fit are still there');
  await m.killAll('SIGKILL');
  await m.destroy();
  assert.ok(!existsSync(m.dirs().pids));
});

test('v1 (real kernel): killAll signals a whole process tree (freeze, signal, thaw)', async () => {
  const m = manager(name());
  await m.create();
  const c = child('read x; sleep 100 & sleep 100 & (sleep 100 & wait) & wait');
  await m.addProcess(c.pid!);
  c.stdin!.end('go\n');
  const deadline = Date.now() + 5000;
  while ((await m.pids()).length < 5 && Date.now() < deadline) await sleep(20);
  assert.equal((await m.pids()).length, 5, 'shell, three sleeps and a subshell are in the cgroup');
  await m.killAll('SIGTERM');
  assert.equal((await c.exited).signal, 'SIGTERM');
  const end = Date.now() + 3000;
  while ((await m.pids()).length && Date.now() < end) await sleep(20);
  assert.deepEqual(await m.pids(), []);
  assert.equal(await m.freezerState(), 'THAWED');
  await m.destroy();
  for (const d of Object.values(m.dirs())) assert.ok(!existsSync(d));
});

test('v1 (real kernel): hitting the memory limit OOM-kills and oomKillCount rises', async () => {
  const m = manager(name());
  await m.create();
  await m.set({ memory: { limit: 16 << 20, swap: 16 << 20 } });
  assert.equal(await m.oomKillCount(), 0);
  // dd allocates a 64 MiB block and fills it from /dev/zero: far above the 16 MiB limit.
  const c = child('read x; exec /bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1');
  await m.addProcess(c.pid!);
  c.stdin!.end('go\n');
  const r = await c.exited;
  assert.equal(r.signal, 'SIGKILL');
  assert.ok((await m.oomKillCount()) >= 1, 'oom_kill counted in memory.oom_control');
  const s = await m.stats();
  assert.ok(s.memory.oomKillEvents >= 1);
  assert.ok(s.memory.maxUsage! > 8 << 20, `peak usage ${s.memory.maxUsage} reached near the limit`);
  assert.equal(m.oomFile(), join(ROOT, 'memory', m.path, 'memory.oom_control'));
  await m.destroy();
  assert.ok(!existsSync(m.dirs().memory));
});

test('v2 (real unified mount, no controllers): join, freeze via cgroup.freeze, kill via cgroup.kill, destroy', async () => {
  if (!existsSync(join(UNIFIED, 'cgroup.controllers'))) throw new Error('no cgroup2 mount at /sys/fs/cgroup/unified');
  const path = name();
  const m = manager(path, UNIFIED);
  assert.equal(m.version, 2);
  const subtreeBefore = readFileSync(join(UNIFIED, 'cgroup.subtree_control'), 'utf8');
  await m.create();
  assert.equal(
    readFileSync(join(UNIFIED, 'cgroup.subtree_control'), 'utf8'),
    subtreeBefore,
    'root subtree_control untouched',
  );
  const c = child('while :; do :; done');
  await m.addProcess(c.pid!);
  assert.match(readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'), new RegExp(`^0::${path}$`, 'm'));
  assert.deepEqual(await m.pids(), [c.pid]);
  await m.freeze();
  assert.equal(await m.freezerState(), 'FROZEN');
  await assertStopsProgressing(c.pid!, true);
  await m.thaw();
  assert.equal(await m.freezerState(), 'THAWED');
  await assertStopsProgressing(c.pid!, false);
  const s = await m.stats();
  assert.ok(s.cpu.usageNs > 0, 'cpu.stat usage is available without the cpu controller');
  await assert.rejects(m.set({ memory: { limit: 1 << 20 } }), (e: Error) => /memory\.max/.test(e.message));
  await m.killAll('SIGKILL');
  assert.equal((await c.exited).signal, 'SIGKILL');
  await m.destroy();
  assert.ok(!existsSync(join(UNIFIED, path)));
});
