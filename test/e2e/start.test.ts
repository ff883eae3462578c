// `skiff start` (what `npm start` runs after bootstrapping): one process serving the Docker Engine
// API and the Kubernetes API; the real docker and kubectl clients use what it prints; SIGTERM stops
// it cleanly. Run on private directories, socket and port so it never meets a real installation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

test('skiff start serves docker and kubectl, and stops on SIGTERM', async () => {
  const dir = mkdtempSync('/tmp/skiff-start-test-');
  const tag = Math.random().toString(16).slice(2, 10); // its engine's bridge and iptables chains
  const sock = join(dir, 'engine.sock');
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/main.ts'),
      'start',
      '--engine-root',
      join(dir, 'engine'),
      '--server-dir',
      join(dir, 'server'),
      '--host',
      `unix://${sock}`,
      '--exec-root',
      join(dir, 'exec'),
      '--cgroup-parent',
      `/${dir.split('/').pop()}`,
      '--https-listen',
      `127.0.0.1:${port}`,
      // Pods are tested in pods.test.ts (on private pod networks); here no agent, no CRI socket.
      '--no-agent',
      '--no-cri',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SKIFF_BRIDGE: `sks${tag}`, SKIFF_CHAIN_PREFIX: `SKS${tag}` },
    },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  try {
    const started = Date.now();
    const deadline = started + 60_000;
    while (!out.includes('Ctrl-C stops Skiff')) {
      assert.equal(child.exitCode, null, `skiff start exited early:\n${out}`);
      assert.ok(Date.now() < deadline, `skiff start not ready in 60 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const readyMs = Date.now() - started;
    assert.match(out, new RegExp(`export DOCKER_HOST=unix://${sock}`));
    const kubeconfig = /export KUBECONFIG=(\S+)/.exec(out)?.[1];
    assert.equal(kubeconfig, join(dir, 'server', 'kubeconfig.yaml'));
    const env = {
      ...process.env,
      DOCKER_HOST: `unix://${sock}`,
      KUBECONFIG: kubeconfig,
      DOCKER_CONFIG: join(dir, 'docker-config'),
    };
    assert.equal(
      execFileSync('docker', ['run', '--rm', 'busybox', 'echo', 'hello from skiff'], { env, encoding: 'utf8' }).trim(),
      'hello from skiff',
    );
    const ns = execFileSync('kubectl', ['get', 'namespaces', '-o', 'name'], { env, encoding: 'utf8' });
    assert.match(ns, /^namespace\/kube-system$/m);
    assert.match(readFileSync(kubeconfig!, 'utf8'), new RegExp(`server: https://127.0.0.1:${port}`));
    const stopping = Date.now();
    child.kill('SIGTERM');
    assert.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]), 0, out);
    // The two waits this test bounds, printed for the next time it fails (this test failed once in
    // CI, cause unknown). Seen in three runs beside other tests and two CPU burners (load 5.6–8.6):
    // ready after 2.8–7.7 s (bound 60 s), exit 0.16–0.47 s after SIGTERM (bound 20 s).
    process.stderr.write(`skiff start: ready after ${readyMs} ms, exited ${Date.now() - stopping} ms after SIGTERM\n`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m) => m?.startsWith(dir));
    for (const m of mounts.sort((a, b) => b.length - a.length)) {
      try {
        execFileSync('umount', ['-l', m]);
      } catch {
        /* gone */
      }
    }
    for (const h of ['', ...readdirSync('/sys/fs/cgroup')]) {
      try {
        execFileSync('rmdir', [join('/sys/fs/cgroup', h, dir.split('/').pop()!)], { stdio: 'ignore' });
      } catch {
        /* absent */
      }
    }
    const { NetworkManager } = await import('../../src/network/index.js');
    await new NetworkManager({ stateDir: join(dir, 'engine', 'network'), chainPrefix: `SKS${tag}` }).purge();
    rmSync(dir, { recursive: true, force: true });
  }
});
