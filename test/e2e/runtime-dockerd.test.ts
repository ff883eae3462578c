// The proof that skiff-runtime is a drop-in for runc: the real dockerd (Debian docker.io) with
// `--add-runtime skiff=<abs>/bin/skiff-runtime` runs containers through containerd's runc shim,
// which drives skiff-runtime exactly as it drives runc (create/start/state/exec/kill/delete, the
// console socket for -t, the JSON log file for errors). Default bridge networking.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { startDockerd, type Dockerd } from '../fixtures/dockerd.js';

const ROOT = process.env.SKIFF_ROOT ?? join(import.meta.dirname, '..', '..');
let d: Dockerd;

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('needs root (dockerd)');
  if (!existsSync(join(ROOT, 'dist/skiff-runtime-main.cjs')) || !existsSync(join(ROOT, 'native/build/skiff-init')))
    throw new Error('run npm run build first');
  d = await startDockerd({ args: ['--add-runtime', `skiff=${join(ROOT, 'bin/skiff-runtime')}`] });
  d.importBusybox();
});
after(async () => {
  await d?.stop();
});

test('docker run --runtime skiff busybox echo hi', () => {
  assert.equal(d.docker(['run', '--rm', '--runtime', 'skiff', 'busybox', 'echo', 'hi']), 'hi\n');
});

test('isolation and exit codes through the shim', () => {
  let info = '';
  assert.throws(
    () =>
      d.docker([
        'run',
        '--rm',
        '--runtime',
        'skiff',
        'busybox',
        'sh',
        '-c',
        'echo $$; hostname; ls /sys/class/net | sort | tr "\\n" " "; exit 3',
      ]),
    (e: { status?: number; stdout?: string }) => {
      info = e.stdout ?? '';
      return e.status === 3;
    },
  );
  const [pid, , nets] = info.split('\n');
  assert.equal(pid, '1');
  assert.equal(nets.trim(), 'eth0 lo', 'dockerd wired its bridge network into the container');
});

test('docker run -d + docker exec + docker stop', () => {
  const id = d.docker(['run', '-d', '--runtime', 'skiff', 'busybox', 'sleep', '100']).trim();
  try {
    assert.equal(d.docker(['inspect', '-f', '{{.State.Running}} {{.HostConfig.Runtime}}', id]).trim(), 'true skiff');
    assert.equal(
      d.docker(['exec', id, 'sh', '-c', 'echo in-exec; cat /proc/1/cmdline | tr "\\0" " "']),
      'in-exec\nsleep 100 ',
    );
    assert.equal(d.docker(['exec', '-u', '65534', id, 'id', '-u']).trim(), '65534');
    assert.match(
      d.docker(['exec', '-t', id, 'tty']).trim(),
      /^\/dev\/pts\/\d+$/,
      'docker exec -t: a pty through the console socket',
    );
    d.docker(['stop', '-t', '1', id]);
    assert.equal(d.docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', id]).trim(), 'false 137');
  } finally {
    d.docker(['rm', '-f', id]);
  }
});

test('docker run -t gets a pty through the console socket', () => {
  assert.equal(d.docker(['run', '--rm', '-t', '--runtime', 'skiff', 'busybox', 'tty']).trim(), '/dev/pts/0');
});
