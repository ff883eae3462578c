// Containers under skiff-monitor: they outlive the process that created them (SIGKILLed here),
// keep logging, and their exit (code, signal, OOM) is recorded. Also the cgroup limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeEnv, ROOT_DIR, type Env } from './runtime-helpers.js';
import { isAlive, waitExit, readCriLog } from '../../src/runtime/index.js';

let env: Env;
before(() => {
  env = makeEnv();
});
after(async () => {
  await env.cleanup();
});

test('SIGKILL of the creating process leaves the container running and logging under its monitor', async () => {
  const id = env.id('mon');
  const b = env.bundle((s) => {
    s.process!.args = ['sh', '-c', 'i=0; while true; do echo line$i; i=$((i+1)); sleep 0.05; done'];
  });
  const log = join(env.dir, `${id}.log`);
  // A separate Node process creates the container, reports, then waits to be killed.
  const script = `import { Runtime } from ${JSON.stringify(join(ROOT_DIR, 'src/runtime/index.ts'))};
    const rt = new Runtime({ root: ${JSON.stringify(join(env.dir, 'state'))} });
    await rt.create(${JSON.stringify(id)}, ${JSON.stringify(b)}, { monitor: { logFile: ${JSON.stringify(log)} } });
    process.stdout.write('created\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT_DIR,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('created')) res();
    });
    child.on('exit', (c) => rej(new Error(`creator exited ${c}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await env.rt.start(id);
  const pid = env.rt.state(id).pid!;
  await sleep(400);
  assert.ok(isAlive(pid), 'the container still runs');
  const size1 = readFileSync(log, 'utf8').length;
  await sleep(300);
  const recs = [];
  for await (const r of readCriLog(log)) recs.push(r);
  assert.ok(readFileSync(log, 'utf8').length > size1, 'and keeps logging');
  assert.equal(recs[0].stream, 'stdout');
  assert.equal(recs[0].line, 'line0');
  await env.rt.kill(id, 'SIGKILL');
  const ex = await waitExit(env.rt.store.load(id).monitorDir!, AbortSignal.timeout(10_000));
  assert.equal(ex.exitCode, 137);
  assert.equal(ex.signal, 'SIGKILL');
  assert.equal(ex.oomKilled, false);
  await env.rt.delete(id);
  assert.ok(!existsSync(env.rt.store.dir(id)));
});

test('memory limit: the OOM kill is detected and reported', async () => {
  const id = env.id('oom');
  const b = env.bundle((s) => {
    s.process!.args = ['sh', '-c', 'x=aaaaaaaa; while true; do x="$x$x"; done'];
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } };
  });
  await env.rt.create(id, b, { monitor: { logFile: join(env.dir, `${id}.log`) } });
  const cg = env.rt.cgroup(env.rt.store.load(id));
  await env.rt.start(id);
  const ex = await waitExit(env.rt.store.load(id).monitorDir!, AbortSignal.timeout(20_000));
  assert.equal(ex.oomKilled, true);
  assert.equal(ex.exitCode, 137);
  assert.ok((await cg.oomKillCount()) >= 1);
  await env.rt.delete(id);
});

test('pids limit and cpu quota are applied (seen from inside through /sys/fs/cgroup)', async () => {
  const r = await env.runIn(
    [
      'sh',
      '-c',
      'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us; for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait; echo done',
    ],
    (s) => {
      s.linux!.resources = { ...s.linux!.resources, pids: { limit: 4 }, cpu: { quota: 50000, period: 100000 } };
    },
  );
  const lines = r.out.trim().split('\n');
  assert.deepEqual(lines.slice(0, 3), ['4', '50000', '100000']);
  assert.match(r.err, /can't fork|Resource temporarily unavailable/, 'forks beyond the pids limit fail');
});
