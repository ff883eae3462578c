// dockerode (docker-modem, unversioned paths) against a private `skiff engine`: create/start/wait,
// logs (stdcopy demuxed by modem), attach without hijack (200 raw stream), exec, inspect, list filters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
let d: Docker;
const sfx = Math.random().toString(16).slice(2, 8);

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('dockerode e2e needs root');
  e = await startEngine();
  d = new Docker({ socketPath: e.socket });
});
after(async () => {
  await e?.stop();
});

const collect = (s: PassThrough) => {
  let b = '';
  s.on('data', (x) => {
    b += x;
  });
  return () => b;
};

test('dockerode: ping, version, run with demuxed output and exit code', async () => {
  assert.equal(String(await d.ping()), 'OK');
  assert.equal((await d.version()).ApiVersion, '1.45');
  const out = new PassThrough(),
    err = new PassThrough();
  const o = collect(out),
    er = collect(err);
  const [res, c] = await d.run('busybox', ['sh', '-c', 'echo to-out; echo to-err >&2; exit 7'], [out, err], {
    Tty: false,
    name: `dode-${sfx}`,
  });
  assert.equal(res.StatusCode, 7);
  assert.equal(o(), 'to-out\n');
  assert.equal(er(), 'to-err\n');
  const info = await c.inspect();
  assert.equal(info.State.ExitCode, 7);
  assert.equal(info.Name, `/dode-${sfx}`);
  const logs = await c.logs({ stdout: true, stderr: true, follow: false });
  assert.match(logs.toString('latin1'), /to-out/);
  const list = await d.listContainers({ all: true, filters: { name: [`dode-${sfx}`] } });
  assert.equal(list.length, 1);
  assert.equal(list[0].State, 'exited');
  await c.remove();
  await assert.rejects(c.inspect(), (x: { statusCode?: number }) => x.statusCode === 404);
});

test('dockerode: exec with stdcopy output and inspect exit code', async () => {
  const c = await d.createContainer({ Image: 'busybox', Cmd: ['sleep', '30'] });
  await c.start();
  try {
    const ex = await c.exec({ Cmd: ['sh', '-c', 'echo exec-out; exit 3'], AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const out = new PassThrough(),
      err = new PassThrough();
    const o = collect(out);
    d.modem.demuxStream(stream, out, err);
    await new Promise((r) => stream.on('end', r));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(o(), 'exec-out\n');
    const ins = await ex.inspect();
    assert.equal(ins.ExitCode, 3);
    assert.equal(ins.Running, false);
  } finally {
    await c.remove({ force: true });
  }
});

test('dockerode: attach (non-hijacked raw stream) before start with a tty', async () => {
  const c = await d.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo tty-line'], Tty: true });
  const stream = await c.attach({ stream: true, stdout: true, stderr: true });
  let got = '';
  stream.on('data', (x: Buffer) => {
    got += x.toString();
  });
  await c.start();
  const r = await c.wait();
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(r.StatusCode, 0);
  assert.match(got, /tty-line/);
  await c.remove();
});
