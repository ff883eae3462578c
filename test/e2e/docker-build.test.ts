// The real docker CLI's classic builder (DOCKER_BUILDKIT=0) against a private Skiff engine:
// multi-stage build and run, a fully cached second build, a changed COPY source rebuilding from its
// step, build errors, `docker builder prune`, and docker-compose build.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let E: EngineFixture;
const env = { DOCKER_BUILDKIT: '0' };

before(async () => {
  E = await startEngine();
});
after(async () => {
  await E?.stop();
});

function ctx(files: Record<string, string>): string {
  const d = mkdtempSync(join(E.dir, 'ctx-'));
  for (const [p, v] of Object.entries(files)) {
    mkdirSync(join(d, p, '..'), { recursive: true });
    writeFileSync(join(d, p), v);
  }
  return d;
}

test('multi-stage build and run; second build fully cached; changed COPY source rebuilds from its step', {
  timeout: 120_000,
}, () => {
  const d = ctx({
    'msg.txt': 'v1\n',
    'other.txt': 'o\n',
    Dockerfile:
      'FROM busybox AS b\nRUN echo built > /art\nFROM busybox\nCOPY --from=b /art /art\nCOPY other.txt /\nCOPY msg.txt /\nRUN cat /art /msg.txt > /all\nCMD ["cat", "/all"]\n',
  });
  const iid = join(E.dir, 'iid');
  const out1 = E.docker(['build', '-t', 'mb:1', '-t', 'mb:alias', '--iidfile', iid, d], { env });
  assert.match(out1, /Step 1\/8 : FROM busybox AS b/);
  assert.match(out1, /Successfully tagged mb:1/);
  const id = readFileSync(iid, 'utf8');
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(E.docker(['run', '--rm', 'mb:alias']), 'built\nv1\n');
  const out2 = E.docker(['build', '-t', 'mb:1', d], { env });
  assert.equal((out2.match(/Using cache/g) ?? []).length, 6, out2);
  assert.equal(E.docker(['inspect', '-f', '{{.Id}}', 'mb:1']).trim(), id);
  writeFileSync(join(d, 'msg.txt'), 'v2\n');
  const out3 = E.docker(['build', '-t', 'mb:1', d], { env });
  assert.equal((out3.match(/Using cache/g) ?? []).length, 3, out3);
  assert.equal(E.docker(['run', '--rm', 'mb:1']), 'built\nv2\n');
});

test('build errors: failing RUN (exit code, output), syntax error with line', { timeout: 60_000 }, () => {
  const r = E.dockerRaw(['build', ctx({ Dockerfile: 'FROM busybox\nRUN echo boom; exit 7\n' })]);
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /returned a non-zero code: 7/);
  assert.match(r.stdout + r.stderr, /boom/);
  const s = E.dockerRaw(['build', ctx({ Dockerfile: 'FROM busybox\nCOPPY a b\n' })]);
  assert.notEqual(s.status, 0);
  assert.match(s.stderr + s.stdout, /Dockerfile:2: unknown instruction: COPPY/);
});

test('docker build -q prints only the image ID; on failure the held-back steps and the error', {
  timeout: 60_000,
}, () => {
  // dockerd (q=1) holds the progress back and sends the ID as the one stream line; the CLI prints it.
  const d = ctx({ Dockerfile: 'FROM busybox\nRUN echo quiet > /q\nLABEL q=1\n' });
  const out = E.docker(['build', '-q', '-t', 'quiet:1', d], { env });
  assert.match(out, /^sha256:[0-9a-f]{64}\n$/, out);
  assert.equal(out.trim(), E.docker(['inspect', '-f', '{{.Id}}', 'quiet:1']).trim());
  const bad = E.dockerRaw(['build', '-q', ctx({ Dockerfile: 'FROM busybox\nRUN echo loud; exit 4\n' })]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Step 2\/2 : RUN echo loud; exit 4/);
  assert.match(bad.stderr, /returned a non-zero code: 4/);
});

test('docker build -f - DIR (the CLI appends the Dockerfile unpadded); unused build args are named', {
  timeout: 60_000,
}, () => {
  // `-f -` makes the CLI add the Dockerfile to the context tar and end the stream right after its
  // bytes (no padding, no end-of-archive blocks): GNU tar refused it as "Unexpected EOF"
  const d = ctx({ 'f.txt': 'from-ctx\n', Dockerfile: 'FROM busybox\nRUN false\n' });
  const out = execFileSync('docker', ['build', '-q', '-f', '-', '-t', 'stdin-df:1', d], {
    env: { ...process.env, DOCKER_HOST: E.host, ...env },
    input: 'FROM busybox\nCOPY f.txt /f.txt\nCOPY . /all/\n',
    encoding: 'utf8',
  });
  assert.match(out, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(E.docker(['run', '--rm', 'stdin-df:1', 'cat', '/f.txt']), 'from-ctx\n');
  // the CLI's .dockerignore hides its own files: only the context's files arrive
  assert.equal(E.docker(['run', '--rm', 'stdin-df:1', 'ls', '-A', '/all']), 'Dockerfile\nf.txt\n');
  // as dockerd: build args no ARG declares are listed (sorted) before the result
  const w = E.docker(
    ['build', '--build-arg', 'ZED=1', '--build-arg', 'AAA=2', '--build-arg', 'HTTP_PROXY=x', '-f', '-', d],
    {
      env,
      input: 'FROM busybox\nARG USED\n',
    },
  );
  assert.match(w, /\[Warning\] One or more build-args \[AAA ZED\] were not consumed\nSuccessfully built/);
});

test('docker system df counts the build cache; builder prune empties it and frees its layers', {
  timeout: 90_000,
}, () => {
  const d = ctx({ Dockerfile: 'FROM busybox\nRUN head -c 300000 /dev/zero > /blob\nRUN echo x > /y\n' });
  E.docker(['build', '-t', 'dfcache:1', d], { env });
  const df = E.docker(['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Size}}|{{.Reclaimable}}']);
  const line = df.split('\n').find((l) => l.startsWith('Build Cache|')) ?? '';
  const count = Number(line.split('|')[1]);
  assert.ok(count >= 3, `a record per cached step: ${line}`);
  // the layers are the tagged image's too: shared, so nothing of it is reclaimable
  assert.match(line, /\|0B$/, line);
  const v = E.docker(['system', 'df', '-v']);
  assert.match(v, /^Build cache usage: \S+$/m); // the CLI sums the records that are not shared
  assert.match(v, /^CACHE ID\s+CACHE TYPE\s+SIZE\s+CREATED\s+LAST USED\s+USAGE\s+SHARED$/m);
  assert.match(v, /^[0-9a-f]{12}\s+regular\s+30\d(\.\d+)?kB\s.*\strue$/m, v);
  // a cache hit counts as a use
  E.docker(['build', '-t', 'dfcache:1', d], { env });
  assert.match(E.docker(['system', 'df', '-v']), /^[0-9a-f]{12}\s+regular\s+30\d(\.\d+)?kB\s.*\s2\s+true$/m);
  // a build that fails after a cached step: that step's layer is held by the cache alone —
  // not shared, reclaimable, and freed by the prune
  const f = ctx({ Dockerfile: 'FROM busybox\nRUN head -c 400000 /dev/zero > /only\nRUN exit 3\n' });
  assert.notEqual(E.dockerRaw(['build', f]).status, 0);
  const only = E.docker(['system', 'df', '--format', '{{.Type}}|{{.Reclaimable}}']);
  assert.match(only, /^Build Cache\|40\d(\.\d+)?kB$/m, only);
  assert.match(E.docker(['system', 'df', '-v']), /^Build cache usage: 40\d(\.\d+)?kB$/m);
  const p = E.docker(['builder', 'prune', '-f']);
  const freed = /Total reclaimed space:\s+([\d.]+)(k|M)B/.exec(p);
  assert.ok(freed && Number(freed[1]) * (freed[2] === 'M' ? 1000 : 1) >= 400, p);
  const after = E.docker(['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}']);
  assert.match(after, /^Build Cache\|0$/m);
});

test('docker builder prune, docker-compose build', { timeout: 120_000 }, () => {
  const d = ctx({
    Dockerfile: 'FROM busybox\nRUN echo c > /c\n',
    'docker-compose.yml': 'version: "3"\nservices:\n  app:\n    build: .\n    image: composed:latest\n',
  });
  execFileSync('docker-compose', ['build'], {
    cwd: d,
    env: { ...process.env, DOCKER_HOST: E.host, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' },
    stdio: 'pipe',
    timeout: 90_000,
  });
  assert.equal(E.docker(['run', '--rm', 'composed:latest', 'cat', '/c']), 'c\n');
  const p = E.docker(['builder', 'prune', '-f']);
  assert.match(p, /Total reclaimed space/);
});

test('skiff build streams steps and tags the image', { timeout: 60_000 }, () => {
  const d = ctx({ 'f.txt': 'cli\n', Dockerfile: 'FROM busybox\nCOPY f.txt /\nCMD ["cat", "/f.txt"]\n' });
  const iid = join(E.dir, 'cli-iid');
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(process.cwd(), 'src/cli/main.ts'),
      'build',
      '-H',
      E.host,
      '-t',
      'cli:1',
      '--iidfile',
      iid,
      d,
    ],
    { encoding: 'utf8', timeout: 50_000 },
  );
  assert.match(out, /Step 2\/3 : COPY f.txt \//);
  assert.match(out, /Successfully tagged cli:1/);
  assert.equal(E.docker(['inspect', '-f', '{{.Id}}', 'cli:1']).trim(), readFileSync(iid, 'utf8'));
  assert.equal(E.docker(['run', '--rm', 'cli:1']), 'cli\n');
});

test("a base image from a private registry is pulled with the CLI's credentials (X-Registry-Config), not the engine's", {
  timeout: 120_000,
}, async () => {
  const { startDistribution } = await import('../fixtures/distribution.js');
  const bcrypt = (await import('bcryptjs')).default;
  const reg = await startDistribution({ htpasswd: `carol:${bcrypt.hashSync('pw9', 6)}\n` });
  const cfg = join(E.dir, 'docker-config', 'config.json');
  mkdirSync(join(E.dir, 'docker-config'), { recursive: true });
  try {
    // Credentials only in the CLI's config.json: the engine has no stored login for this registry.
    writeFileSync(
      cfg,
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('carol:pw9').toString('base64') } } }),
    );
    const ref = `${reg.host}/priv/bb:1`;
    E.docker(['tag', 'busybox', ref]);
    E.docker(['push', ref]);
    E.docker(['rmi', ref]);
    const d = ctx({ Dockerfile: `FROM ${ref}\nRUN echo from-private > /p\nCMD ["cat", "/p"]\n` });
    E.docker(['build', '-t', 'frompriv:1', d], { env });
    assert.equal(E.docker(['run', '--rm', 'frompriv:1']), 'from-private\n');
    writeFileSync(cfg, JSON.stringify({ auths: {} }));
    E.docker(['rmi', ref]);
    let denied = '';
    try {
      E.docker(['build', '--no-cache', d], { env });
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string };
      denied = `${x.stdout ?? ''}${x.stderr ?? ''}` || String(e);
    }
    assert.match(
      denied,
      /unauthorized|authentication required|401/i,
      "without the CLI's credentials the pull is refused",
    );
  } finally {
    writeFileSync(cfg, JSON.stringify({ auths: {} }));
    await reg.stop();
  }
});
