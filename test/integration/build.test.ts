// The builder as a library on the real kernel: busybox base image imported into a real image store,
// RUN steps in real containers (our runtime), layers from overlay snapshots, the cache on disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  openImages,
  OverlaySnapshotter,
  mountAll,
  unmount,
  type Images,
  type Snapshotter,
} from '../../src/image/index.js';
import { Builder } from '../../src/build/index.js';
import { busyboxTar } from '../fixtures/busybox.js';

let dir: string;
let images: Images;
let sn: Snapshotter;

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('build integration tests need root');
  dir = mkdtempSync(join(tmpdir(), 'skiff-build-'));
  images = await openImages(join(dir, 'images'));
  sn = new OverlaySnapshotter(join(dir, 'snapshots'));
  await (sn as unknown as { init?: () => Promise<void> }).init?.();
  const tar = busyboxTar(join(dir, 'bb.tar'));
  await images.importRootfsTar(createReadStream(tar), { ref: 'busybox:latest', changes: ['CMD ["sh"]'] });
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
});

function context(files: Record<string, string>): string {
  const c = mkdtempSync(join(dir, 'ctx-'));
  for (const [p, v] of Object.entries(files)) {
    mkdirSync(join(c, p, '..'), { recursive: true });
    writeFileSync(join(c, p), v);
  }
  return c;
}

const builder = () => new Builder({ images, snapshotter: sn, dataDir: join(dir, 'build') });

/** Reads files from a built image's root file system. */
async function readImage(ref: string, paths: string[]): Promise<Record<string, string | null>> {
  const top = await images.unpack(ref, sn);
  const key = `test-view-${Math.random().toString(36).slice(2)}`;
  const m = mkdtempSync(join(dir, 'm-'));
  await mountAll(await sn.view(key, top), m);
  try {
    return Object.fromEntries(
      paths.map((p) => {
        try {
          return [p, readFileSync(join(m, p), 'utf8')];
        } catch {
          return [p, null];
        }
      }),
    );
  } finally {
    await unmount(m);
    await sn.remove(key);
    rmSync(m, { recursive: true });
  }
}

test('multi-stage with --target, COPY --from, --chown names, WORKDIR, USER, SHELL, ENV/ARG scoping, metadata', async () => {
  const ctx = context({
    'a.txt': 'hello\n',
    'dir/x': 'x\n',
    'dir/sub/y': 'y\n',
    'skip.log': 'no',
    'keep.log': 'yes',
    '.dockerignore': '*.log\n!keep.log\n',
    Dockerfile: `ARG G=global
FROM busybox AS build
ARG G
ENV STAGE=build
RUN echo "g=$G stage=$STAGE" > /out.txt && mkdir -p /art && echo built > /art/bin
FROM busybox AS final
ARG G
ARG L=local
ENV FROMARG=\${G:-unset} L2=$L
WORKDIR /app
WORKDIR sub
COPY --from=build /out.txt /art/bin ./
COPY --chown=daemon:root a.txt /owned/
COPY dir /d/
COPY *.log /logs/
SHELL ["/bin/sh", "-ec"]
RUN echo "shell $0" > /shell.txt; id -u > /uid.txt
USER 1:1
RUN id -u > /tmp/who; id -g >> /tmp/who
EXPOSE 8080 53/udp
LABEL a=b
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD ["true"]
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "echo hi"]
FROM busybox AS never
RUN false
`,
  });
  const lines: string[] = [];
  const r = await builder().build({
    contextDir: ctx,
    tags: ['t1:latest', 't2'],
    target: 'final',
    onOutput: (l) => lines.push(l),
    buildArgs: { G: 'fromcli' },
  });
  // As dockerd's builder: an ARG before the first FROM is a step of its own.
  assert.match(lines[0], /^Step 1\/\d+ : ARG G=global$/);
  assert.ok(
    lines.some((l) => /^Step 2\/\d+ : FROM busybox AS build$/.test(l)),
    lines.join('\n'),
  );
  assert.ok(lines.includes(`Successfully tagged t1:latest`) && lines.includes('Successfully tagged t2:latest'));
  const img = await images.resolve('t2');
  assert.equal(img.id, r.id);
  const c = img.config.config!;
  assert.ok(
    c.Env!.includes('FROMARG=fromcli') && c.Env!.includes('L2=local') && !c.Env!.some((e) => e.startsWith('STAGE=')),
  );
  assert.equal(c.WorkingDir, '/app/sub');
  assert.equal(c.User, '1:1');
  assert.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Labels, { a: 'b' });
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD', 'true'], Interval: 5e9, Retries: 2 });
  assert.deepEqual(c.Entrypoint, ['/bin/sh']);
  assert.deepEqual(c.Cmd, ['-c', 'echo hi']);
  assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
  const files = await readImage('t2', [
    'app/sub/out.txt',
    'app/sub/bin',
    'owned/a.txt',
    'd/x',
    'd/sub/y',
    'logs/keep.log',
    'logs/skip.log',
    'shell.txt',
    'uid.txt',
    'tmp/who',
  ]);
  assert.equal(files['app/sub/out.txt'], 'g=fromcli stage=build\n');
  assert.equal(files['app/sub/bin'], 'built\n');
  assert.equal(files['owned/a.txt'], 'hello\n');
  assert.equal(files['d/x'], 'x\n');
  assert.equal(files['d/sub/y'], 'y\n');
  assert.equal(files['logs/keep.log'], 'yes');
  assert.equal(files['logs/skip.log'], null, '.dockerignore excludes skip.log');
  assert.equal(files['shell.txt'], 'shell /bin/sh\n');
  assert.equal(files['uid.txt'], '0\n');
  assert.equal(files['tmp/who'], '1\n1\n');
  // --chown with names: daemon is uid 1 in the busybox fixture.
  const top = await images.unpack('t2', sn);
  const key = `own-${Math.random().toString(36).slice(2)}`;
  const m = mkdtempSync(join(dir, 'm-'));
  await mountAll(await sn.view(key, top), m);
  try {
    const { statSync } = await import('node:fs');
    const st = statSync(join(m, 'owned/a.txt'));
    assert.equal(st.uid, 1);
    assert.equal(st.gid, 0);
    assert.ok(statSync(join(m, 'app/sub')).isDirectory());
  } finally {
    await unmount(m);
    await sn.remove(key);
    rmSync(m, { recursive: true });
  }
});

test('cache: second build fully cached (same id), a changed COPY source rebuilds from that step, survives a new builder', async () => {
  const ctx = context({
    'one.txt': '1',
    'two.txt': '2',
    Dockerfile:
      'FROM busybox\nRUN echo a > /a\nCOPY one.txt /\nRUN cat /one.txt > /copy1\nCOPY two.txt /\nRUN cat /two.txt > /copy2\nCMD ["cat", "/copy2"]\n',
  });
  const first = await builder().build({ contextDir: ctx, tags: ['cached'] });
  assert.equal(first.cachedSteps, 0);
  const second = await builder().build({ contextDir: ctx, tags: ['cached'] });
  assert.equal(second.cachedSteps, 6, 'every step after FROM comes from the cache');
  assert.equal(second.id, first.id);
  writeFileSync(join(ctx, 'two.txt'), '22');
  const third = await builder().build({ contextDir: ctx, tags: ['cached'] });
  assert.equal(third.cachedSteps, 3, 'RUN, COPY one.txt and RUN are reused; COPY two.txt and after rebuild');
  assert.notEqual(third.id, first.id);
  assert.equal((await readImage('cached', ['copy2'])).copy2, '22');
  // mtime-only changes do not invalidate (content hash)
  utimesSync(join(ctx, 'one.txt'), new Date(1e9), new Date(1e9));
  const fourth = await builder().build({ contextDir: ctx });
  assert.equal(fourth.cachedSteps, 6);
  const noCache = await builder().build({ contextDir: ctx, noCache: true });
  assert.equal(noCache.cachedSteps, 0);
  const pruned = builder().prune();
  assert.ok(pruned.CachesDeleted.length > 0 && pruned.SpaceReclaimed > 0);
  assert.equal((await builder().build({ contextDir: ctx })).cachedSteps, 0);
});

test('a failing RUN reports its exit code and output and leaves no container or snapshot behind', async () => {
  const ctx = context({ Dockerfile: 'FROM busybox\nRUN echo some output; echo to-stderr >&2; exit 3\n' });
  const before = new Set<string>();
  for await (const i of sn.walk()) before.add(i.name);
  await assert.rejects(builder().build({ contextDir: ctx }), (e: Error) => {
    assert.match(e.message, /returned a non-zero code: 3/);
    assert.match(e.message, /some output/);
    assert.match(e.message, /to-stderr/);
    return true;
  });
  const afterSet: string[] = [];
  for await (const i of sn.walk()) if (!before.has(i.name)) afterSet.push(i.name);
  assert.deepEqual(afterSet, []);
  assert.deepEqual(
    readdirSync(join(dir, 'build', 'runtime')).filter((n) => !n.startsWith('.')),
    [],
  );
  assert.deepEqual(readdirSync(join(dir, 'build', 'tmp')), []);
});

test('bad input: COPY outside the context, missing source, syntax error with line', async () => {
  const b = builder();
  await assert.rejects(
    b.build({ contextDir: context({ Dockerfile: 'FROM busybox\nCOPY ../etc/passwd /x\n' }) }),
    /forbidden path outside the build context/,
  );
  await assert.rejects(
    b.build({ contextDir: context({ Dockerfile: 'FROM busybox\nCOPY nope /x\n' }) }),
    /COPY failed: file not found in build context or excluded by \.dockerignore: stat nope: file does not exist$/,
  );
  await assert.rejects(
    b.build({ contextDir: context({ Dockerfile: 'FROM busybox\n\nCOPPY a b\n' }) }),
    /dockerfile parse error line 3: unknown instruction: COPPY$/,
  );
  await assert.rejects(
    b.build({ contextDir: context({ Dockerfile: 'FROM busybox\nRUN --mount=type=cache,target=/x true\n' }) }),
    /RUN --mount is not supported/,
  );
  await assert.rejects(
    b.build({ contextDir: context({ Dockerfile: 'FROM busybox\nADD http://127.0.0.1:1/x /x\n' }) }),
    /failed to fetch http:\/\/127.0.0.1:1\/x/,
  );
});

test('heredocs, ADD of a local tar, --chmod, ONBUILD, FROM scratch', async () => {
  const ctx = context({ Dockerfile: '' });
  const { execFileSync } = await import('node:child_process');
  mkdirSync(join(ctx, 'tree/sub'), { recursive: true });
  writeFileSync(join(ctx, 'tree/sub/f'), 'in-tar');
  execFileSync('tar', ['-czf', join(ctx, 'a.tar.gz'), '-C', join(ctx, 'tree'), '.']);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    `FROM busybox
ARG NAME=world
RUN <<EOF
echo "hello $NAME" > /greet
EOF
COPY <<EOF /etc/conf
name=$NAME
EOF
COPY --chmod=700 <<-'EOT' /script.sh
\t#!/bin/sh $NOT
\tEOT
ADD a.tar.gz /unpacked/
ONBUILD RUN echo triggered > /onbuild
`,
  );
  await builder().build({ contextDir: ctx, tags: ['base-onbuild'] });
  const f = await readImage('base-onbuild', ['greet', 'etc/conf', 'script.sh', 'unpacked/sub/f']);
  assert.equal(f.greet, 'hello world\n');
  assert.equal(f['etc/conf'], 'name=world\n');
  assert.equal(f['script.sh'], '#!/bin/sh $NOT\n');
  assert.equal(f['unpacked/sub/f'], 'in-tar');
  assert.deepEqual((await images.resolve('base-onbuild')).config.config!.OnBuild, ['RUN echo triggered > /onbuild']);
  const child = context({ Dockerfile: 'FROM base-onbuild\n' });
  await builder().build({ contextDir: child, tags: ['child-onbuild'] });
  assert.equal((await readImage('child-onbuild', ['onbuild'])).onbuild, 'triggered\n');
  assert.equal((await images.resolve('child-onbuild')).config.config!.OnBuild, null);
  const scratch = context({ f: 'x', Dockerfile: 'FROM scratch\nCOPY f /f\nCMD ["/f"]\n' });
  const r = await builder().build({ contextDir: scratch, tags: ['from-scratch'] });
  assert.equal((await images.resolve(r.id)).config.rootfs.diff_ids.length, 1);
});

test('COPY through symlinks of the base image stays inside the image; existing directories take sources inside', async () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const hostFile = `/skiff-escape-${tag}`;
  const passwd = readFileSync('/etc/passwd', 'utf8');
  const ctx = context({
    'a.txt': 'A',
    'h.txt': 'H',
    'dir/inner': 'I',
    Dockerfile: `FROM busybox
RUN ln -s / /out && ln -s /etc/passwd /hosty && mkdir -p /d /app && ln -s /tmp /d/link && ln -s ../../.. /d/up
COPY a.txt /out/skiff-escape-${tag}
COPY h.txt /hosty
COPY dir /d/link/
COPY a.txt /d/up/up-${tag}
COPY a.txt /app
`,
  });
  await builder().build({ contextDir: ctx, tags: [`symlinks-${tag}`] });
  assert.equal(readFileSync('/etc/passwd', 'utf8'), passwd, 'the host /etc/passwd is untouched');
  assert.throws(() => readFileSync(hostFile), /ENOENT/, 'nothing written at the host root');
  const f = await readImage(`symlinks-${tag}`, [
    `skiff-escape-${tag}`,
    'hosty',
    'tmp/inner',
    `up-${tag}`,
    'app/a.txt',
    'etc/passwd',
  ]);
  assert.equal(f[`skiff-escape-${tag}`], 'A');
  assert.equal(f.hosty, 'H', 'a file replaces a symlink at the destination');
  assert.equal(f['tmp/inner'], 'I');
  assert.equal(f[`up-${tag}`], 'A', '.. stops at the image root');
  assert.equal(f['app/a.txt'], 'A', 'an existing directory takes the file inside it');
  assert.match(f['etc/passwd'] ?? '', /^root:/);
});

test('WORKDIR and a RUN working directory through a base image symlink stay inside the image', async () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const hostDir = `/tmp/skiff-wd-escape-${tag}`;
  const ctx = context({
    Dockerfile: `FROM busybox
RUN ln -s ${hostDir} /link && ln -s ${hostDir}-run /runlink
WORKDIR /link/made
RUN pwd > /pwd
WORKDIR /runlink/made
RUN true
`,
  });
  try {
    await builder().build({ contextDir: ctx, tags: [`wd-${tag}`] });
    assert.throws(() => readdirSync(hostDir), /ENOENT/, 'nothing made on the host through /link');
    assert.throws(() => readdirSync(`${hostDir}-run`), /ENOENT/, 'nothing made on the host through /runlink');
    const f = await readImage(`wd-${tag}`, ['pwd']);
    assert.equal(f.pwd, `${hostDir}/made\n`, 'the process runs in the directory inside the image');
    const top = await images.unpack(`wd-${tag}`, sn);
    const key = `test-view-${tag}`;
    const m = mkdtempSync(join(dir, 'm-'));
    await mountAll(await sn.view(key, top), m);
    try {
      assert.ok(readdirSync(join(m, hostDir.slice(1))).includes('made'), 'made inside the image, where /link points');
    } finally {
      await unmount(m);
      await sn.remove(key);
      rmSync(m, { recursive: true });
    }
  } finally {
    rmSync(hostDir, { recursive: true, force: true });
    rmSync(`${hostDir}-run`, { recursive: true, force: true });
  }
});

test('ADD <url>: downloaded from a loopback server, 0600, Last-Modified kept, cached by content, never extracted; errors name the URL', async () => {
  const { createServer } = await import('node:http');
  const { execFileSync } = await import('node:child_process');
  let body = 'v1';
  let hits = 0;
  const tgz = join(dir, 'remote.tgz');
  mkdirSync(join(dir, 'remote-tree'), { recursive: true });
  writeFileSync(join(dir, 'remote-tree', 'x'), 'x');
  execFileSync('tar', ['-czf', tgz, '-C', join(dir, 'remote-tree'), '.']);
  const srv = createServer((req, res) => {
    hits++;
    if (req.url === '/files/conf.txt') {
      res.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
      res.end(body);
      return;
    }
    if (req.url === '/a.tgz') {
      res.end(readFileSync(tgz));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  try {
    const df = `FROM busybox\nADD ${base}/files/conf.txt /etc/\nADD ${base}/a.tgz /arch/\nRUN stat -c '%a %Y' /etc/conf.txt > /meta && ls /arch > /archls\n`;
    const ctx = context({ Dockerfile: df });
    const b = builder();
    const first = await b.build({ contextDir: ctx, tags: ['addurl'] });
    const f = await readImage('addurl', ['etc/conf.txt', 'meta', 'archls']);
    assert.equal(f['etc/conf.txt'], 'v1');
    assert.equal(f.meta, `600 ${Date.parse('2015-10-21T07:28:00Z') / 1000}\n`);
    assert.equal(f.archls, 'a.tgz\n', 'a remote archive is not extracted');
    const again = await b.build({ contextDir: ctx, tags: ['addurl'] });
    assert.equal(again.id, first.id, 'same remote content: fully cached');
    assert.ok(hits >= 4, 'the files are fetched again to compare their content');
    body = 'v2';
    const changed = await b.build({ contextDir: ctx, tags: ['addurl'] });
    assert.notEqual(changed.id, first.id);
    assert.equal((await readImage('addurl', ['etc/conf.txt']))['etc/conf.txt'], 'v2');
    await assert.rejects(
      b.build({ contextDir: context({ Dockerfile: `FROM busybox\nADD ${base}/missing /x\n` }) }),
      /ADD failed: failed to fetch http:\/\/127\.0\.0\.1:\d+\/missing: 404/,
    );
  } finally {
    srv.close();
  }
});
