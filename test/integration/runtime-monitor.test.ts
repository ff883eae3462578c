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
  const spec = env.spec((s) => {
    s.process!.args = ['sh', '-c', 'i=0; while true; do echo line$i; i=$((i+1)); sleep 0.05; done'];
  });
  const log = join(env.dir, `${id}.log`);
  // A separate Node process creates the container, reports, then waits to be killed.
  const script = `import { Runtime } from ${JSON.stringify(join(ROOT_DIR, 'src/runtime/index.ts'))};
    const rt = new Runtime({ root: ${JSON.stringify(join(env.dir, 'state'))} });
    await rt.create(${JSON.stringify(id)}, ${JSON.stringify(spec)}, { monitor: { logFile: ${JSON.stringify(log)} } });
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
  const ex = await waitExit(env.rt.monitorDir(id)!, AbortSignal.timeout(10_000));
  assert.equal(ex.exitCode, 137);
  assert.equal(ex.signal, 'SIGKILL');
  assert.equal(ex.oomKilled, false);
  await env.rt.delete(id);
  assert.ok(!existsSync(join(env.dir, 'state', id)));
});

test('memory limit: the OOM kill is detected and reported', async () => {
  const id = env.id('oom');
  const b = env.spec((s) => {
    s.process!.args = ['sh', '-c', 'x=aaaaaaaa; while true; do x="$x$x"; done'];
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } };
  });
  await env.rt.create(id, b, { monitor: { logFile: join(env.dir, `${id}.log`) } });
  const cg = env.rt.cgroupOf(id);
  await env.rt.start(id);
  const ex = await waitExit(env.rt.monitorDir(id)!, AbortSignal.timeout(20_000));
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

test('library: a monitored exec is attached before it runs; waitExit and delete by exec id', async () => {
  const id = env.id('mexec');
  await env.rt.create(
    id,
    env.spec((s) => {
      s.process!.args = ['sleep', '300'];
    }),
    { monitor: { logFile: join(env.dir, `${id}.log`) } },
  );
  await env.rt.start(id);
  let out = '';
  let attachedFirst = false;
  const r = await env.rt.exec(
    id,
    { args: ['sh', '-c', 'echo early; exit 3'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'] },
    {
      monitor: { execId: 'e1' },
      beforeStart: async () => {
        const sess = await env.rt.attach(id, { execId: 'e1' });
        sess.stdout.on('data', (b: Buffer) => {
          out += b.toString();
        });
        attachedFirst = true;
      },
    },
  );
  assert.ok(attachedFirst && r.pid > 0);
  const ex = await env.rt.waitExit(id, { execId: 'e1', signal: AbortSignal.timeout(10_000) });
  assert.equal(ex.exitCode, 3);
  await sleep(100);
  assert.equal(out, 'early\n', 'the first output reached the client attached before start');
  assert.ok(existsSync(env.rt.monitorDir(id, 'e1')!));
  await env.rt.delete(id, { execId: 'e1' });
  assert.ok(!existsSync(env.rt.monitorDir(id, 'e1')!));
  await env.rt.kill(id, 'SIGKILL');
  const cex = await env.rt.waitExit(id, { signal: AbortSignal.timeout(10_000) });
  assert.equal(cex.exitCode, 137);
  assert.equal(cex.signal, 'SIGKILL');
  await env.rt.delete(id);
});

test('library: a foreground container reports its exit (code, signal) to waitExit', async () => {
  const id = env.id('fg');
  // not PID 1 of its own namespace, so SIGTERM is not ignored
  const spec = env.spec((s) => {
    s.process!.args = ['sleep', '300'];
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid');
  });
  await env.rt.create(id, spec, { stdio: 'ignore' });
  await env.rt.start(id);
  await env.rt.kill(id, 'SIGTERM');
  const ex = await env.rt.waitExit(id, { signal: AbortSignal.timeout(10_000) });
  assert.deepEqual([ex.exitCode, ex.signal, ex.oomKilled], [143, 'SIGTERM', false]);
  await env.rt.delete(id);
  const id2 = env.id('fg');
  await env.rt.create(
    id2,
    env.spec((s) => (s.process!.args = ['sh', '-c', 'exit 130'])),
    { stdio: 'ignore' },
  );
  // skiff-init (the init's parent) holds the container's mount namespace until it ends, after it
  // reported the exit; delete waits for that end, so no part of the container outlives delete
  const parent = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${env.rt.state(id2).pid}/status`, 'utf8'))?.[1]);
  assert.ok(readFileSync(`/proc/${parent}/cmdline`, 'utf8').includes('skiff-init'), 'the parent is skiff-init');
  await env.rt.start(id2);
  const ex2 = await env.rt.waitExit(id2, { signal: AbortSignal.timeout(10_000) });
  assert.deepEqual([ex2.exitCode, ex2.signal], [130, null], 'an exit code above 128 is not a signal');
  await env.rt.delete(id2);
  assert.ok(!isAlive(parent), 'skiff-init has ended when delete returns');
});
