// `skiff engine --insecure-registry HOST:PORT` and daemon.json's "insecure-registries": a plain-HTTP
// registry (Debian's docker-registry) on a non-loopback address — inside a network namespace this
// test creates, reached over a veth pair — is pushed to and pulled from only by an engine told it is
// insecure. The same registry under a second address the engine was not told about is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';
import { DISTRIBUTION_BIN } from '../fixtures/distribution.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sfx = randomBytes(3).toString('hex');
const ns = `skreg-${sfx}`;
const hostIf = `skrh${sfx}`;
let dir: string;
let net = '';
let registry: ChildProcess | undefined;
let a: EngineFixture | undefined;
let b: EngineFixture | undefined;
const sh = (args: string[]) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('insecure-registry e2e needs root (netns, veth, containers)');
  if (!existsSync(DISTRIBUTION_BIN)) throw new Error(`${DISTRIBUTION_BIN} missing (Debian docker-registry)`);
  dir = mkdtempSync('/tmp/skiff-insreg-');
  // A /24 of the benchmarking range 198.18.0.0/15 that no route on this host uses yet.
  const routes = sh(['ip', '-4', 'route', 'show']);
  for (let i = 0; i < 50 && !net; i++) {
    const x = Math.floor(Math.random() * 256);
    if (!routes.includes(`198.18.${x}.`)) net = `198.18.${x}`;
  }
  if (!net) throw new Error('no free 198.18.x.0/24');
  sh(['ip', 'netns', 'add', ns]);
  sh(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth-reg', 'netns', ns]);
  sh(['ip', 'addr', 'add', `${net}.1/24`, 'dev', hostIf]);
  sh(['ip', 'link', 'set', hostIf, 'up']);
  for (const c of [
    ['addr', 'add', `${net}.2/24`, 'dev', 'eth-reg'],
    ['addr', 'add', `${net}.3/24`, 'dev', 'eth-reg'],
    ['link', 'set', 'eth-reg', 'up'],
    ['link', 'set', 'lo', 'up'],
  ]) {
    sh(['ip', '-n', ns, ...c]);
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 0.0.0.0:5000\n`,
  );
  registry = spawn('ip', ['netns', 'exec', ns, DISTRIBUTION_BIN, 'serve', join(dir, 'config.yml')], {
    stdio: 'ignore',
  });
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      const r = await fetch(`http://${net}.2:5000/v2/`);
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > until || registry.exitCode !== null)
      throw new Error('docker-registry in the test netns did not come up');
    await new Promise((r) => setTimeout(r, 100));
  }
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'insecure-registries': [`${net}.3:5000`] }));
  a = await startEngine({ args: ['--insecure-registry', `${net}.2:5000`] });
  b = await startEngine({ args: ['--config-file', join(dir, 'daemon.json')] });
});

after(async () => {
  await a?.stop();
  await b?.stop();
  if (registry?.pid && registry.exitCode === null) {
    registry.kill('SIGTERM');
    await new Promise((r) => {
      registry!.once('exit', r);
      setTimeout(r, 3000);
    });
  }
  spawnSync('ip', ['netns', 'del', ns]); // takes the veth pair with it
  spawnSync('ip', ['link', 'del', hostIf]); // in case the namespace never got its end
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('--insecure-registry: push and pull over plain HTTP; another address of the same registry is refused', () => {
  const ok = `${net}.2:5000/t/bb:1`;
  const info = a!.docker(['info']);
  assert.match(
    info,
    new RegExp(`Insecure Registries:\\n(\\s+.+\\n)*\\s+${net.replace(/\./g, '\\.')}\\.2:5000\\n`),
    'docker info lists it',
  );
  assert.match(info, /Insecure Registries:\n(\s+.+\n)*\s+127\.0\.0\.0\/8\n/);
  a!.docker(['tag', 'busybox', ok]);
  assert.match(a!.docker(['push', ok]), /1: digest: sha256:[0-9a-f]{64} size: \d+/);
  a!.docker(['rmi', ok]);
  assert.match(a!.docker(['pull', ok]), /Downloaded newer image|Image is up to date/);
  assert.equal(a!.docker(['run', '--rm', ok, 'echo', 'pulled']), 'pulled\n');
  const refused = `${net}.3:5000/t/bb:1`;
  a!.docker(['tag', 'busybox', refused]);
  const r = a!.dockerRaw(['push', refused]);
  assert.notEqual(r.status, 0, 'a registry not declared insecure is only tried over HTTPS');
  assert.match(r.stderr + r.stdout, /https|tls|ssl|EPROTO|wrong version/i);
});

test('daemon.json "insecure-registries" (--config-file) is honoured the same way', () => {
  const ok = `${net}.3:5000/t/bb:1`; // pushed through .2 above: same registry
  assert.match(b!.docker(['pull', ok]), /Downloaded newer image/);
  assert.equal(b!.docker(['run', '--rm', ok, 'echo', 'via-config']), 'via-config\n');
  const r = b!.dockerRaw(['pull', `${net}.2:5000/t/bb:1`]);
  assert.notEqual(r.status, 0);
});

test('a malformed daemon.json or --insecure-registry value stops the engine with a clear error', () => {
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ 'insecure-registries': 'x:5000' }));
  const run = (args: string[]) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/cli/main.ts'),
        'engine',
        '--data-root',
        join(dir, 'never'),
        '--host',
        `unix://${join(dir, 'never.sock')}`,
        ...args,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
  const bad = run(['--config-file', join(dir, 'bad.json')]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /"insecure-registries" must be an array of strings/);
  const missing = run(['--config-file', join(dir, 'nope.json')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--config-file .*nope\.json/);
  const flag = run(['--insecure-registry', 'http://x:5000/']);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /expected HOST\[:PORT\]/);
  assert.ok(!existsSync(join(dir, 'never')), 'nothing created');
});
