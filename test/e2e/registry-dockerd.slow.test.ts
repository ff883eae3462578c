// The real dockerd (Debian docker.io) and docker CLI against `skiff registry` run as its own process
// on 127.0.0.1:PORT (insecure by default for dockerd): push, rmi, pull; Skiff's client reads what
// docker pushed and docker pulls what Skiff's client pushed; `docker login` with htpasswd and with
// bearer tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import bcrypt from 'bcryptjs';
import { pullImage, pushImage } from '../../src/registry/index.js';
import { createContentStore } from '../../src/image/index.js';
import { startDockerd, type Dockerd } from '../fixtures/dockerd.js';
import { buildBusyboxImage, freePort } from '../fixtures/distribution.js';

const exec = promisify(execFile);
const root = process.env.SKIFF_ROOT ?? process.cwd();
let dir: string;
let dockerd: Dockerd;
const procs: ChildProcess[] = [];

async function startSkiffRegistry(args: string[]): Promise<string> {
  const port = await freePort();
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'registry', '--listen', `127.0.0.1:${port}`, ...args],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  procs.push(p);
  process.once('exit', () => {
    if (p.exitCode === null) p.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (c: Buffer) => {
      out += c;
      if (out.includes('listening on')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`skiff registry exited with ${code}: ${out}`)));
  });
  return `127.0.0.1:${port}`;
}

async function docker(args: string[], input?: string): Promise<string> {
  const env = { ...process.env, DOCKER_HOST: dockerd.host, DOCKER_CONFIG: join(dir, 'docker-config') };
  const child = execFile('docker', args, { env, timeout: 120_000, maxBuffer: 1 << 24 });
  if (input !== undefined) {
    child.stdin!.end(input);
  }
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => {
    stdout += c;
  });
  child.stderr!.on('data', (c) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`docker ${args.join(' ')} failed (${code}): ${stderr}${stdout}`);
  return stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-reg-dockerd-'));
  dockerd = await startDockerd();
  dockerd.importBusybox('busybox:latest');
  dockerd.importBusybox('skiff-bb:keep');
});
after(async () => {
  for (const p of procs)
    if (p.exitCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  await dockerd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('docker push to and docker pull from skiff registry; Skiff client and docker exchange images', async () => {
  const host = await startSkiffRegistry(['--data-root', join(dir, 'reg')]);
  const ref = `${host}/lib/busybox:v1`;
  await docker(['tag', 'busybox:latest', ref]);
  const pushOut = await docker(['push', ref]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushOut)?.[1];
  assert.ok(digest, `docker push printed a digest: ${pushOut}`);
  await docker(['rmi', ref, 'busybox:latest']);
  const pullOut = await docker(['pull', ref]);
  assert.match(pullOut, new RegExp(`Digest: ${digest}`));
  const repoDigests = JSON.parse(
    await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]),
  ) as string[];
  assert.ok(repoDigests.includes(`${host}/lib/busybox@${digest}`));
  // a second push finds every layer already there
  assert.match(await docker(['push', ref]), /Layer already exists/);

  // Skiff's client reads what docker pushed...
  const store = await createContentStore(join(dir, 'cs'));
  const pulled = await pullImage(ref, { store });
  assert.equal(pulled.manifestDigest, digest);
  assert.equal(pulled.manifestMediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  // ...and docker pulls what Skiff's client pushed (a Docker schema2 and an OCI image).
  for (const docker2 of [true, false]) {
    const img = buildBusyboxImage({ docker: docker2, label: docker2 ? 'schema2' : 'oci' });
    for (const b of img.blobs) await store.put(b.data);
    await store.put(img.manifest);
    const r2 = `${host}/skiff/built:${docker2 ? 'schema2' : 'oci'}`;
    await pushImage(r2, { store, manifestDigest: img.manifestDigest });
    await docker(['pull', r2]);
    const label = (await docker(['image', 'inspect', '--format', '{{index .Config.Labels "skiff.test"}}', r2])).trim();
    assert.equal(label, docker2 ? 'schema2' : 'oci');
  }
});

for (const mode of ['htpasswd', 'token'] as const) {
  test(`docker login against skiff registry (${mode})`, async () => {
    const htpasswd = join(dir, `htpasswd-${mode}`);
    writeFileSync(htpasswd, `carol:${bcrypt.hashSync('pa55', 6)}\n`);
    const host = await startSkiffRegistry([
      '--data-root',
      join(dir, `reg-${mode}`),
      '--htpasswd',
      htpasswd,
      ...(mode === 'token' ? ['--token-realm', '/auth/token'] : []),
    ]);
    const ref = `${host}/secure/busybox:v1`;
    await docker(['tag', 'skiff-bb:keep', ref]);
    await assert.rejects(
      docker(['login', host, '-u', 'carol', '--password-stdin'], 'wrong\n'),
      /unauthorized|incorrect|401/i,
    );
    assert.match(await docker(['login', host, '-u', 'carol', '--password-stdin'], 'pa55\n'), /Login Succeeded/);
    await docker(['push', ref]);
    await docker(['logout', host]);
    await docker(['rmi', ref]);
    await assert.rejects(
      docker(['pull', ref]),
      /unauthorized|no basic auth credentials|authentication required|may require 'docker login'/i,
    );
    await docker(['login', host, '-u', 'carol', '--password-stdin'], 'pa55\n');
    await docker(['pull', ref]);
  });
}
