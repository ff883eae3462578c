// `skiff server` as a user starts it: without --disable-agent it runs (the agent does not exist
// yet) and says so, prints the kubeconfig path and a ready-to-paste kubectl line that works, and
// exits 0 on SIGTERM.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = process.env.SKIFF_ROOT ?? join(import.meta.dirname, '..', '..');

/** `skiff server` on a memory datastore in `dir` with `extra` flags, once it printed its note. */
async function startServerCli(dir: string, extra: string[] = []) {
  const p = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/main.ts'),
      'server',
      '--data-dir',
      dir,
      '--https-listen',
      '127.0.0.1:0',
      '--datastore',
      'memory://',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SKIFF_LOG: 'warn' } },
  );
  const r = { p, out: '' };
  p.stdout.on('data', (d) => (r.out += d));
  p.stderr.on('data', (d) => (r.out += d));
  const deadline = Date.now() + 60_000;
  while (!/Pending/.test(r.out)) {
    if (p.exitCode !== null || Date.now() > deadline) {
      p.kill('SIGKILL');
      assert.fail(`skiff server did not get ready: ${r.out}`);
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  return r;
}

/** SIGTERM, and the exit code must be 0. */
async function stopServerCli(s: { p: ChildProcess; out: string }) {
  const exited = new Promise<number | null>((r) => s.p.once('exit', (code) => r(code)));
  s.p.kill('SIGTERM');
  assert.equal(await exited, 0, s.out);
}

it('skiff server without --disable-agent prints the kubeconfig, a kubectl line and the no-agent note', async () => {
  if (!existsSync('/usr/bin/kubectl')) throw new Error('kubectl is required at /usr/bin/kubectl');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-server-cli-'));
  const srv = await startServerCli(dir);
  const out = srv.out;
  try {
    assert.match(out, new RegExp(`kubeconfig: ${join(dir, 'kubeconfig.yaml')}`));
    assert.match(out, /no node agent runs/);
    const line = /^ {2}(kubectl --kubeconfig \S+ get ns)$/m.exec(out);
    assert.ok(line, out);
    const args = line[1].split(' ').slice(1);
    const r = await promisify(execFile)('/usr/bin/kubectl', [...args, '--cache-dir', join(dir, 'kcache')]);
    assert.match(r.stdout, /^default\s+Active/m);
  } finally {
    await stopServerCli(srv);
    rmSync(dir, { recursive: true, force: true });
  }
});

it('skiff server --kube-apiserver-arg: event-ttl expires Events (kubectl sees them go); an unknown flag is refused by name', async () => {
  const run = promisify(execFile);
  const bad = await run(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'server', '--kube-apiserver-arg', 'audit-log-path=/x'],
    { env: { ...process.env, SKIFF_LOG: 'warn' } },
  ).then(
    () => assert.fail('an unknown kube-apiserver flag was accepted'),
    (e: { code?: number; stderr?: string }) => e,
  );
  assert.notEqual(bad.code, 0);
  assert.match(String(bad.stderr), /unknown kube-apiserver flag "audit-log-path"/);

  const dir = mkdtempSync(join(tmpdir(), 'skiff-server-ttl-'));
  const srv = await startServerCli(dir, ['--disable-agent', '--kube-apiserver-arg', 'event-ttl=3s']);
  try {
    const kc = ['--kubeconfig', join(dir, 'kubeconfig.yaml'), '--cache-dir', join(dir, 'kcache')];
    const manifest = join(dir, 'event.json');
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'ttl-test', namespace: 'default' },
      involvedObject: { kind: 'ConfigMap', name: 'x', namespace: 'default' },
      reason: 'Tested',
      message: 'expires',
      type: 'Normal',
    };
    // and one through events.k8s.io/v1 (client-go's events library, kube-scheduler): the same
    // stored object, so `kubectl get events` (core/v1) lists it.
    const ev1 = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'ttl-test-v1', namespace: 'default' },
      eventTime: new Date().toISOString().replace('Z', '000Z'),
      reportingController: 'skiff.test/ttl',
      reportingInstance: 'test',
      action: 'Testing',
      regarding: { kind: 'ConfigMap', name: 'x', namespace: 'default' },
      reason: 'TestedV1',
      note: 'expires too',
      type: 'Normal',
    };
    writeFileSync(manifest, JSON.stringify(ev));
    writeFileSync(`${manifest}1`, JSON.stringify(ev1));
    await run('/usr/bin/kubectl', [...kc, 'create', '-f', manifest, '-f', `${manifest}1`]);
    const t0 = Date.now();
    const listed = (await run('/usr/bin/kubectl', [...kc, 'get', 'events'])).stdout;
    assert.match(listed, /Tested\s/);
    assert.match(listed, /TestedV1\s+configmap\/x\s+expires too/);
    for (;;) {
      const r = await run('/usr/bin/kubectl', [...kc, 'get', 'event', 'ttl-test', 'ttl-test-v1']).then(
        () => 'present',
        (e: { stderr?: string }) => String(e.stderr),
      );
      if (r !== 'present') {
        assert.match(r, /NotFound|not found/);
        break;
      }
      assert.ok(Date.now() - t0 < 20_000, 'the Event is still there 20 s after its write (ttl 3 s)');
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.ok(Date.now() - t0 >= 2000, `gone ${Date.now() - t0} ms after its write, before its ttl of 3 s`);
  } finally {
    await stopServerCli(srv);
    rmSync(dir, { recursive: true, force: true });
  }
});
