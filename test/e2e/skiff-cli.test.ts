// `skiff` client verbs against a private engine, checked against what the real docker CLI sees on
// the same engine: images/tag/rmi, push/pull with a private distribution registry, volumes, run
// (output and exit codes, -d, --rm, -e, -w), ps, exec, logs, inspect, rm, login; --host/DOCKER_HOST.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { build } from 'esbuild';
import { busyboxTar } from '../fixtures/busybox.js';
import { startDistribution, type Distribution } from '../fixtures/distribution.js';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');
let E: EngineFixture & { env: NodeJS.ProcessEnv };
let reg: Distribution;
let tarFile: string;

interface Res {
  code: number;
  stdout: string;
  stderr: string;
}
function exec(cmd: string, args: string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Res> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: o.env ?? E.env, timeout: 60_000, maxBuffer: 1 << 26 },
      (err, stdout, stderr) => {
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
    child.stdin!.end(o.input ?? '');
  });
}
let bundle: string;
let bundleDir: string;
/** The CLI bundled once with esbuild (as `npm run build` does), so each call is a plain node start. */
const skiff = (args: string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
  exec(process.execPath, [bundle, ...args], o);
const docker = (args: string[]) => exec('docker', args);
async function ok(p: Promise<Res>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  const f = await startEngine({ seed: false });
  E = Object.assign(f, { env: { ...process.env, DOCKER_HOST: f.host, DOCKER_CONFIG: join(f.dir, 'docker-config') } });
  reg = await startDistribution({ htpasswd: `bob:${bcrypt.hashSync('pw1', 10)}\n` });
  tarFile = busyboxTar(join(E.dir, 'busybox.tar'));
  // Inside the repository so that external packages resolve from its node_modules.
  bundleDir = join(
    dirname(MAIN),
    '..',
    '..',
    'node_modules',
    '.cache',
    `skiff-cli-test-${randomBytes(4).toString('hex')}`,
  );
  bundle = join(bundleDir, 'main.js');
  await build({
    entryPoints: [MAIN],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: bundleDir,
    packages: 'external',
    logLevel: 'silent',
  });
  await ok(docker(['import', '--change', 'CMD ["sh"]', tarFile, 'busybox:latest']));
});

after(async () => {
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  await E?.stop();
  await reg?.stop();
});

test('images, tag, inspect and rmi agree with the docker CLI', async () => {
  await ok(skiff(['tag', 'busybox', 'mine/bb:1']));
  const mine = await ok(skiff(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']));
  const theirs = await ok(docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']));
  assert.deepEqual(mine.trim().split('\n').sort(), theirs.trim().split('\n').sort());
  assert.match(mine, /^mine\/bb:1 [a-f0-9]{12}$/m);
  const table = await ok(skiff(['images']));
  assert.match(table, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/m);
  const id = (await ok(skiff(['inspect', '--format', '{{.Id}}', 'mine/bb:1']))).trim();
  assert.equal(id, (await ok(docker(['inspect', '--format', '{{.Id}}', 'busybox']))).trim());
  assert.match(await ok(skiff(['rmi', 'mine/bb:1'])), /^Untagged: mine\/bb:1$/m);
  const missing = await skiff(['rmi', 'nope:nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Error response from daemon: No such image: nope:nope/);
});

test('login, push and pull with a private registry', async () => {
  const bad = await skiff(['login', '-u', 'bob', '--password-stdin', reg.host], { input: 'nope\n' });
  assert.equal(bad.code, 1);
  assert.match(
    await ok(skiff(['login', '-u', 'bob', '--password-stdin', reg.host], { input: 'pw1\n' })),
    /Login Succeeded/,
  );
  const ref = `${reg.host}/cli/bb:t1`;
  await ok(skiff(['tag', 'busybox', ref]));
  const pushed = await ok(skiff(['push', ref]));
  assert.match(pushed, /The push refers to repository/);
  assert.match(pushed, /t1: digest: sha256:[a-f0-9]{64}/);
  await ok(skiff(['rmi', ref]));
  const pulled = await ok(skiff(['pull', ref]));
  assert.match(pulled, /Pulling from cli\/bb/);
  assert.match(pulled, /Status: (Downloaded newer image|Image is up to date) for /);
  assert.match(
    await ok(docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])),
    new RegExp(`^${reg.host}/cli/bb:t1$`, 'm'),
  );
});

test('run: output, exit codes, env and workdir, --rm, -d with ps/exec/logs/rm', async () => {
  assert.equal(
    (await ok(skiff(['run', '--rm', '-e', 'A=b', '-w', '/tmp', 'busybox', 'sh', '-c', 'echo $A $(pwd)']))).trim(),
    'b /tmp',
  );
  const failed = await skiff(['run', '--rm', 'busybox', 'sh', '-c', 'echo err >&2; exit 7']);
  assert.equal(failed.code, 7);
  assert.equal(failed.stderr.trim(), 'err');
  const name = `cli-${randomBytes(3).toString('hex')}`;
  const id = (await ok(skiff(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo started; sleep 60']))).trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  const ps = await ok(skiff(['ps', '--format', '{{.Names}} {{.State}}']));
  assert.match(ps, new RegExp(`^${name} running$`, 'm'));
  assert.equal((await ok(skiff(['ps', '-q', '--no-trunc']))).trim().split('\n').includes(id), true);
  const ex = await skiff(['exec', name, 'sh', '-c', 'echo inside; exit 3']);
  assert.equal(ex.code, 3);
  assert.equal(ex.stdout.trim(), 'inside');
  let logs = '';
  for (let i = 0; i < 20 && !logs.includes('started'); i++) {
    logs = await ok(skiff(['logs', name]));
    if (!logs.includes('started')) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(logs.trim(), 'started');
  assert.equal((await ok(skiff(['inspect', '--format', '{{.State.Status}}', name]))).trim(), 'running');
  assert.equal((await ok(skiff(['rm', '-f', name]))).trim(), name);
  const gone = await docker(['inspect', name]);
  assert.equal(gone.code, 1);
  const noImage = await skiff(['run', '--rm', `${reg.host}/cli/none:1`]);
  assert.equal(noImage.code, 125);
  assert.match(noImage.stderr, /Unable to find image/);
});

test('run -it through a real pty (script) and -i with piped stdin', async () => {
  const tty = await exec(
    'script',
    ['-qec', `${process.execPath} ${bundle} run -it --rm busybox sh -c 'tty; exit 4'`, '/dev/null'],
    { env: { ...E.env, SKIFF_HOST: E.host } },
  );
  assert.equal(tty.code, 4, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /\/dev\/pts\/\d+/);
  const piped = await skiff(['run', '-i', '--rm', 'busybox', 'sh'], { input: 'echo from-stdin\nexit 5\n' });
  assert.equal(piped.code, 5);
  assert.equal(piped.stdout.trim(), 'from-stdin');
});

test('import with --change, save and load round trip', async () => {
  const id = (await ok(skiff(['import', '-c', 'CMD ["echo", "x"]', '-m', 'cli', tarFile, 'cliimp:1']))).trim();
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  assert.equal((await ok(docker(['inspect', '--format', '{{json .Config.Cmd}}', 'cliimp:1']))).trim(), '["echo","x"]');
  const file = join(E.dir, 'cli-save.tar');
  await ok(skiff(['save', '-o', file, 'cliimp:1']));
  await ok(skiff(['rmi', 'cliimp:1']));
  assert.match(await ok(skiff(['load', '-i', file])), /Loaded image: cliimp:1/);
  assert.equal((await ok(skiff(['inspect', '--format', '{{.Id}}', 'cliimp:1']))).trim(), id);
});

test('volume create/ls/inspect/rm/prune', async () => {
  const name = `v-${randomBytes(3).toString('hex')}`;
  assert.equal((await ok(skiff(['volume', 'create', '--label', 'k=v', name]))).trim(), name);
  assert.equal((await ok(skiff(['volume', 'ls', '-q', '--filter', 'label=k=v']))).trim(), name);
  const v = JSON.parse(await ok(skiff(['volume', 'inspect', name])))[0];
  assert.equal(v.Name, name);
  assert.deepEqual(v.Labels, { k: 'v' });
  assert.equal((await ok(docker(['volume', 'ls', '-q', '--filter', `name=${name}`]))).trim(), name);
  assert.match(await ok(skiff(['volume', 'prune', '-a'])), new RegExp(`Deleted Volumes:\\n${name}`));
  const r = await skiff(['volume', 'rm', name]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no such volume/);
});

test('--host and DOCKER_HOST select the engine; a dead socket is a clear error', async () => {
  const env = { ...process.env, DOCKER_HOST: 'unix:///nonexistent/skiff.sock', SKIFF_HOST: '' };
  const dead = await skiff(['images'], { env });
  assert.equal(dead.code, 1);
  assert.match(dead.stderr, /Cannot connect to the Skiff engine at unix:\/\/\/nonexistent\/skiff\.sock/);
  const viaFlag = await ok(skiff(['images', '--host', E.host, '-q'], { env }));
  assert.match(viaFlag, /^[a-f0-9]{12}$/m);
});
