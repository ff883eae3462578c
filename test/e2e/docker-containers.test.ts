// The real docker CLI (v28) against a private `skiff engine`: run with output and exit codes, -it
// through a real pty (script(1)), -d + ps + logs -f + exec + cp both ways + stop + rm, volumes,
// restart policies, healthchecks, stats, events, inspect fields and bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync, readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
const sfx = Math.random().toString(16).slice(2, 8);
const n = (x: string) => `${x}-${sfx}`;

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('docker-containers e2e needs root (containers, mounts, cgroups)');
  execFileSync('docker', ['--version']);
  e = await startEngine();
});
after(async () => {
  await e?.stop();
});

function api(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: e.socket, method, path, headers: { 'Content-Type': 'application/json', ...headers } },
      (res) => {
        let b = '';
        res.on('data', (d) => {
          b += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('ping, version negotiation and info', async () => {
  const p = await api('GET', '/_ping');
  assert.equal(p.status, 200);
  assert.equal(p.body, 'OK');
  assert.equal(p.headers['api-version'], '1.45');
  assert.equal(p.headers.ostype, 'linux');
  assert.match(String(p.headers.server), /^Docker\/.* \(linux\)$/);
  assert.equal((await api('HEAD', '/_ping')).status, 200);
  const old = await api('GET', '/v1.12/version');
  assert.equal(old.status, 400);
  assert.match(JSON.parse(old.body).message, /client version 1.12 is too old. Minimum supported API version is 1.24/);
  assert.equal((await api('GET', '/v1.99/version')).status, 400);
  const v = e.docker(['version', '--format', '{{.Server.APIVersion}}']).trim();
  assert.equal(v, '1.45');
  const info = JSON.parse(e.docker(['info', '--format', '{{json .}}']));
  assert.equal(info.CgroupDriver, 'cgroupfs');
  assert.equal(info.OSType, 'linux');
  assert.equal(info.Swarm.LocalNodeState, 'inactive');
  assert.equal(info.DockerRootDir, e.dataRoot);
});

test('docker run: output, exit codes, --rm, stdin', () => {
  assert.equal(e.docker(['run', '--rm', 'busybox', 'echo', 'hi']), 'hi\n');
  const r = e.dockerRaw(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.status, 3);
  assert.equal(r.stdout, 'out\n');
  assert.match(r.stderr, /err/);
  assert.equal(e.docker(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'piped\n' }), 'piped\n');
  const missing = e.dockerRaw(['run', '--rm', 'busybox', 'no-such-binary']);
  assert.equal(missing.status, 127, missing.stderr);
  assert.match(missing.stderr, /no-such-binary/);
  assert.equal(e.docker(['ps', '-aq', '--filter', 'ancestor=busybox']).trim(), '', '--rm containers are gone');
  assert.match(
    e.docker(['run', '--rm', 'busybox', 'ip', '-o', 'link']),
    /^1: lo: <LOOPBACK,UP,LOWER_UP>/,
    'own netns with loopback up',
  );
  assert.match(
    e.docker(['run', '--rm', '--network', 'none', 'busybox', 'ping', '-c', '1', '-W', '2', '127.0.0.1']),
    /1 packets received/,
  );
  assert.equal(
    e.docker([
      'run',
      '--rm',
      '-e',
      'FOO=bar',
      '-w',
      '/tmp',
      '--user',
      '65534:65534',
      'busybox',
      'sh',
      '-c',
      'echo $FOO $(pwd) $(id -u)',
    ]),
    'bar /tmp 65534\n',
  );
});

test('docker run -it through a real pty', () => {
  const out = execFileSync(
    'sh',
    [
      '-c',
      `(sleep 1; printf 'echo tty-$((6*7)); tty; exit 5\\n'; sleep 2) | script -qfec "docker run --rm -it busybox sh" /dev/null; echo "rc=$?"`,
    ],
    { env: { ...process.env, DOCKER_HOST: e.host }, encoding: 'utf8', timeout: 30_000 },
  );
  assert.match(out, /tty-42/);
  assert.match(out, /\/dev\/pts\/0/);
  assert.match(out, /rc=5/);
});

test('short-lived tty containers never lose their output (real CLI in a pty, in a loop)', () => {
  // The container prints and exits at once, racing the CLI's stdin bytes and resize: the monitor
  // used to hang up on the engine's attach socket both ways, and the engine's next write (a stdin
  // byte, a resize) failed with EPIPE and discarded the output still unread in that socket.
  const rounds = 5;
  const kept = n('kept');
  const cases: [string, RegExp][] = [
    ['docker run --rm -it busybox tty', /\/dev\/pts\/0\r\n/],
    ['docker run --rm -t busybox echo t-only', /t-only\r+\n/],
    [`docker run -it --name ${kept} busybox echo kept; docker rm ${kept} >/dev/null`, /kept\r\n/],
    ["docker run --rm -it busybox sh -c 'echo one; echo two'", /one\r\ntwo\r\n/],
  ];
  const misses: string[] = [];
  for (let i = 0; i < rounds; i++) {
    for (const [cmd, want] of cases) {
      const out = execFileSync('script', ['-qec', cmd, '/dev/null'], {
        env: { ...process.env, DOCKER_HOST: e.host },
        encoding: 'utf8',
        timeout: 30_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // script(1) answers EOF on its stdin by writing the EOF character to its pty. If that comes
      // before the CLI turns the pty raw (without a flush), the canonical line discipline has
      // queued it as a NUL byte, which the CLI then forwards as stdin and the container's tty
      // echoes as "^@" amid the output: a race on the client side whatever the daemon, seen once
      // in a CI-like run. The echo is an artefact of the harness, not lost or altered output.
      const seen = out.replaceAll('^@', '');
      if (!want.test(seen)) misses.push(`${cmd} → ${JSON.stringify(out)}`);
    }
  }
  assert.deepEqual(misses, [], `${misses.length}/${rounds * cases.length} runs lost their output`);
});

test('detached container: ps, logs -f, exec, cp both ways, top, stats, stop, rm', async () => {
  const name = n('web');
  const id = e
    .docker([
      'run',
      '-d',
      '--name',
      name,
      '--label',
      `suite=${sfx}`,
      'busybox',
      'sh',
      '-c',
      'trap "exit 0" TERM; i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done',
    ])
    .trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.match(
    e.docker(['ps', '--filter', `label=suite=${sfx}`, '--format', '{{.Names}} {{.Status}}']),
    new RegExp(`${name} Up`),
  );
  await sleep(700);
  const logs = e.docker(['logs', '--tail', '2', name]).trim().split('\n');
  assert.equal(logs.length, 2);
  assert.match(logs[0], /^line \d+$/);
  // logs -f streams until stopped
  const follow = spawn('docker', ['logs', '-f', '--since', '0', name], {
    env: { ...process.env, DOCKER_HOST: e.host },
  });
  let followed = '';
  follow.stdout.on('data', (d) => {
    followed += d;
  });
  const ts = e.docker(['logs', '--timestamps', '--tail', '1', name]);
  assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line \d+\n$/);
  const ex = e.dockerRaw(['exec', name, 'sh', '-c', 'echo from-exec; exit 4']);
  assert.equal(ex.status, 4);
  assert.equal(ex.stdout, 'from-exec\n');
  const tmp = mkdtempSync('/tmp/skiff-cp-');
  try {
    writeFileSync(join(tmp, 'in.txt'), 'copied in\n');
    e.docker(['cp', join(tmp, 'in.txt'), `${name}:/tmp/in.txt`]);
    assert.equal(e.docker(['exec', name, 'cat', '/tmp/in.txt']), 'copied in\n');
    e.docker(['exec', name, 'sh', '-c', 'mkdir -p /data/d && echo deep > /data/d/f']);
    e.docker(['cp', `${name}:/data`, join(tmp, 'out')]);
    assert.equal(readFileSync(join(tmp, 'out/d/f'), 'utf8'), 'deep\n');
    e.docker(['cp', `${name}:/etc/hostname`, join(tmp, 'hn')]);
    assert.equal(readFileSync(join(tmp, 'hn'), 'utf8'), `${id.slice(0, 12)}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const top = e.docker(['top', name]);
  assert.match(top, /PID/);
  assert.match(top, /while true/);
  const stats = e.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}} {{.MemUsage}}', name]);
  assert.match(stats, new RegExp(`${name} \\d+ [\\d.]+[KMG]?i?B`));
  // Every number of a StatsResponse is an integer (moby types them uint64; the CLI's decoder failed
  // on 1099661169999999.9 and `docker stats --no-stream` printed EOF). One object, a newline, its
  // length — as dockerd sends it.
  for (let i = 0; i < 10; i++) {
    const r = await api('GET', `/containers/${name}/stats?stream=0`);
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
    assert.ok(r.body.endsWith('}\n'));
    const bad: string[] = [];
    const walk = (v: unknown, p: string): void => {
      if (typeof v === 'number' && !(Number.isInteger(v) && v >= 0)) bad.push(`${p}=${v}`);
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${p}.${k}`);
    };
    walk(JSON.parse(r.body), '');
    assert.deepEqual(bad, [], 'unsigned integers only');
  }
  const t0 = Date.now();
  e.docker(['stop', name]);
  assert.ok(Date.now() - t0 < 8000, 'SIGTERM handled by the trap, no 10 s timeout');
  await new Promise((r) => follow.once('exit', r));
  assert.match(followed, /line 0\n/);
  const st = JSON.parse(e.docker(['inspect', name]))[0];
  assert.equal(st.State.Status, 'exited');
  assert.equal(st.State.ExitCode, 0);
  assert.equal(st.Name, `/${name}`);
  assert.equal(st.Config.Labels.suite, sfx);
  for (const k of [
    'Id',
    'Created',
    'Path',
    'Args',
    'Image',
    'ResolvConfPath',
    'HostnamePath',
    'HostsPath',
    'LogPath',
    'RestartCount',
    'Driver',
    'Platform',
    'HostConfig',
    'GraphDriver',
    'Mounts',
    'Config',
    'NetworkSettings',
  ])
    assert.ok(k in st, k);
  // docker cp out of a stopped container works (no tar needed in the image)
  const tmp2 = mkdtempSync('/tmp/skiff-cp-');
  try {
    e.docker(['cp', `${name}:/tmp/in.txt`, join(tmp2, 'x.txt')]);
    assert.equal(readFileSync(join(tmp2, 'x.txt'), 'utf8'), 'copied in\n');
  } finally {
    rmSync(tmp2, { recursive: true, force: true });
  }
  const diff = e.docker(['diff', name]);
  assert.match(diff, /A \/tmp\/in.txt/);
  e.docker(['rm', name]);
  assert.equal(e.dockerRaw(['inspect', name]).status, 1);
});

test('exec -it through a real pty', () => {
  const name = n('tty');
  e.docker(['run', '-d', '--name', name, 'busybox', 'sleep', '60']);
  try {
    const out = execFileSync(
      'sh',
      [
        '-c',
        `(sleep 1; printf 'echo exec-$((6*7)); exit 6\\n'; sleep 2) | script -qfec "docker exec -it ${name} sh" /dev/null; echo "rc=$?"`,
      ],
      { env: { ...process.env, DOCKER_HOST: e.host }, encoding: 'utf8', timeout: 30_000 },
    );
    assert.match(out, /exec-42/);
    assert.match(out, /rc=6/);
  } finally {
    e.docker(['rm', '-f', name]);
  }
});

test('volumes: named volume survives the container, bind mounts, tmpfs, read-only', () => {
  const vol = n('vol');
  e.docker(['run', '--rm', '-v', `${vol}:/data`, 'busybox', 'sh', '-c', 'echo persisted > /data/f']);
  assert.equal(e.docker(['run', '--rm', '-v', `${vol}:/data:ro`, 'busybox', 'cat', '/data/f']), 'persisted\n');
  const ro = e.dockerRaw(['run', '--rm', '-v', `${vol}:/data:ro`, 'busybox', 'sh', '-c', 'echo x > /data/g']);
  assert.notEqual(ro.status, 0);
  const host = mkdtempSync('/tmp/skiff-bind-');
  try {
    e.docker(['run', '--rm', '-v', `${host}:/h`, 'busybox', 'sh', '-c', 'echo bound > /h/b']);
    assert.equal(readFileSync(join(host, 'b'), 'utf8'), 'bound\n');
  } finally {
    rmSync(host, { recursive: true, force: true });
  }
  assert.match(
    e.docker(['run', '--rm', '--tmpfs', '/scratch', 'busybox', 'sh', '-c', 'grep /scratch /proc/mounts']),
    /tmpfs \/scratch tmpfs/,
  );
  assert.notEqual(e.dockerRaw(['run', '--rm', '--read-only', 'busybox', 'touch', '/x']).status, 0);
});

test('restart policies: on-failure:2 and always, restart count', async () => {
  const name = n('rp');
  e.docker(['run', '-d', '--name', name, '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 1']);
  const until = Date.now() + 15_000;
  let st;
  for (;;) {
    st = JSON.parse(e.docker(['inspect', name]))[0];
    if ((st.RestartCount === 2 && st.State.Status === 'exited') || Date.now() > until) break;
    await sleep(200);
  }
  assert.equal(st.RestartCount, 2);
  assert.equal(st.State.Status, 'exited');
  assert.equal(st.HostConfig.RestartPolicy.Name, 'on-failure');
  e.docker(['rm', name]);
  const a = n('always');
  e.docker(['run', '-d', '--name', a, '--restart', 'always', 'busybox', 'sleep', '0.1']);
  // Restarts come 100 ms, then 200 ms… after each exit (dockerd's backoff) plus a start each: wait for two.
  const until2 = Date.now() + 30_000;
  do {
    await sleep(200);
    st = JSON.parse(e.docker(['inspect', a]))[0];
  } while (st.RestartCount < 2 && Date.now() < until2);
  assert.ok(st.RestartCount >= 2, `restarted ${st.RestartCount} times`);
  e.docker(['rm', '-f', a]);
});

test('healthcheck: healthy, unhealthy, events, restart-on-unhealthy label', async () => {
  const h = n('hc');
  e.docker([
    'run',
    '-d',
    '--name',
    h,
    '--health-cmd',
    'test -e /tmp/ok',
    '--health-interval',
    '300ms',
    '--health-retries',
    '2',
    'busybox',
    'sh',
    '-c',
    'touch /tmp/ok; sleep 60',
  ]);
  const wait = async (want: string) => {
    const until = Date.now() + 10_000;
    for (;;) {
      const s = JSON.parse(e.docker(['inspect', h]))[0].State;
      if (s.Health?.Status === want) return s;
      if (Date.now() > until) assert.fail(`health stayed ${s.Health?.Status}`);
      await sleep(150);
    }
  };
  const s1 = await wait('healthy');
  assert.equal(s1.Health.FailingStreak, 0);
  assert.match(e.docker(['ps', '--filter', `name=${h}`, '--format', '{{.Status}}']), /\(healthy\)/);
  e.docker(['exec', h, 'rm', '/tmp/ok']);
  const s2 = await wait('unhealthy');
  assert.ok(s2.Health.FailingStreak >= 2);
  assert.ok(s2.Health.Log.length <= 5 && s2.Health.Log.length > 0);
  await sleep(1100); // the CLI sends --until as whole seconds
  const ev = e.docker([
    'events',
    '--since',
    '60s',
    '--until',
    '0s',
    '--filter',
    `container=${h}`,
    '--format',
    '{{.Action}}',
  ]);
  assert.match(ev, /health_status: healthy/);
  assert.match(ev, /health_status: unhealthy/);
  e.docker(['rm', '-f', h]);
  const r = n('hcr');
  e.docker([
    'run',
    '-d',
    '--name',
    r,
    '--stop-timeout',
    '1',
    '--label',
    'skiff.restart-on-unhealthy=true',
    '--health-cmd',
    'false',
    '--health-interval',
    '200ms',
    '--health-retries',
    '1',
    'busybox',
    'sleep',
    '60',
  ]);
  const until = Date.now() + 10_000;
  let rc = 0;
  while (Date.now() < until) {
    const evs = e.docker([
      'events',
      '--since',
      '60s',
      '--until',
      '0s',
      '--filter',
      `container=${r}`,
      '--filter',
      'event=restart',
      '--format',
      '{{.Action}}',
    ]);
    rc = evs.split('\n').filter(Boolean).length;
    if (rc > 0) break;
    await sleep(200);
  }
  assert.ok(rc > 0, 'restarted when unhealthy');
  e.docker(['rm', '-f', r]);
});

test('bad input: unknown image, invalid names/ports/mounts, name conflict, malformed requests', async () => {
  const u = e.dockerRaw(['create', 'no-such-image-xyz']);
  assert.notEqual(u.status, 0);
  assert.match(u.stderr, /Unable to find image|No such image|pull/i);
  const c = await api('POST', '/containers/create', JSON.stringify({ Image: 'no-such-image-xyz' }));
  assert.equal(c.status, 404);
  assert.match(JSON.parse(c.body).message, /No such image/);
  const bad = await api('POST', '/containers/create?name=bad%20name', JSON.stringify({ Image: 'busybox' }));
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).message, /Invalid container name/);
  const port = await api(
    'POST',
    '/containers/create',
    JSON.stringify({ Image: 'busybox', HostConfig: { PortBindings: { '99999/tcp': [{}] } } }),
  );
  assert.equal(port.status, 400); // (an ExposedPorts key is not checked, as dockerd: engine-differential)
  assert.match(JSON.parse(port.body).message, /invalid port specification: "99999"/);
  const mnt = await api(
    'POST',
    '/containers/create',
    JSON.stringify({ Image: 'busybox', HostConfig: { Binds: ['relative:dir'] } }),
  );
  assert.equal(mnt.status, 400);
  assert.match(JSON.parse(mnt.body).message, /HostConfig.Binds/);
  const typed = await api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Tty: 'yes' }));
  assert.equal(typed.status, 400);
  assert.match(JSON.parse(typed.body).message, /Tty/);
  const name = n('dup');
  e.docker(['create', '--name', name, 'busybox']);
  const dup = e.dockerRaw(['create', '--name', name, 'busybox']);
  assert.notEqual(dup.status, 0);
  assert.match(dup.stderr, /Conflict. The container name "\/[^"]+" is already in use/);
  const dupApi = await api('POST', `/containers/create?name=${name}`, JSON.stringify({ Image: 'busybox' }));
  assert.equal(dupApi.status, 409);
  e.docker(['rm', name]);
  assert.equal((await api('POST', '/containers/create', '{not json')).status, 400);
  assert.equal((await api('GET', '/containers/json?filters=%7Bbad')).status, 400);
  assert.equal((await api('GET', '/containers/nope/json')).status, 404);
  assert.equal(
    (
      await api(
        'POST',
        '/containers/create',
        JSON.stringify({ Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'sometimes' } } }),
      )
    ).status,
    400,
  );
  assert.equal((await api('GET', '/_ping')).status, 200, 'daemon still up');
  assert.equal(e.docker(['ps', '-aq', '--filter', 'name=dup']).trim(), '', 'failed creates left nothing');
});

test('events stream, rename, pause/unpause, kill, wait, prune', async () => {
  const name = n('life');
  const ev = spawn(
    'docker',
    ['events', '--filter', 'type=container', '--filter', `container=${name}`, '--format', '{{.Action}}'],
    { env: { ...process.env, DOCKER_HOST: e.host } },
  );
  let evs = '';
  ev.stdout.on('data', (d) => {
    evs += d;
  });
  await sleep(300);
  e.docker(['run', '-d', '--name', name, 'busybox', 'sleep', '60']);
  e.docker(['pause', name]);
  assert.equal(JSON.parse(e.docker(['inspect', name]))[0].State.Status, 'paused');
  e.docker(['unpause', name]);
  e.docker(['kill', name]);
  assert.equal(e.docker(['wait', name]).trim(), '137');
  await sleep(300);
  ev.kill();
  for (const a of ['create', 'start', 'pause', 'unpause', 'kill', 'die']) assert.match(evs, new RegExp(`^${a}$`, 'm'));
  e.docker(['rename', name, `${name}-2`]);
  assert.equal(JSON.parse(e.docker(['inspect', `${name}-2`]))[0].Name, `/${name}-2`);
  const pruned = e.docker(['container', 'prune', '-f', '--filter', `label!=nothing`]);
  assert.match(pruned, /Total reclaimed space/);
  assert.equal(e.dockerRaw(['inspect', `${name}-2`]).status, 1);
  assert.ok(existsSync(e.dataRoot));
});

test('commit a container and run the new image; docker import through the engine', () => {
  const name = n('commit');
  e.docker(['run', '--name', name, 'busybox', 'sh', '-c', 'echo committed > /marker']);
  const img = `skiff-commit-${sfx}:v1`;
  e.docker(['commit', '--change', 'CMD ["cat", "/marker"]', name, img]);
  assert.equal(e.docker(['run', '--rm', img]), 'committed\n');
  e.docker(['rm', name]);
  e.docker(['rmi', img]);
});

test('/.dockerenv and mount points live in an init layer: in the container and export, not in diff or commit', () => {
  // As dockerd: /.dockerenv is an empty 0755 root file (not a mount), and what the engine adds to
  // every container sits below its writable layer.
  const name = n('initlayer');
  const out = e.docker([
    'run',
    '--name',
    name,
    'busybox',
    'sh',
    '-c',
    'stat -c "%s %a %u:%g %F" /.dockerenv; grep -c dockerenv /proc/mounts; readlink /etc/mtab; mkdir /made; touch /made/f',
  ]);
  assert.equal(out, '0 755 0:0 regular empty file\n0\n/proc/mounts\n');
  assert.deepEqual(e.docker(['diff', name]).trim().split('\n').sort(), ['A /made', 'A /made/f']);
  const listing = execFileSync('sh', ['-c', `docker export ${name} | tar -t`], {
    env: { ...process.env, DOCKER_HOST: e.host },
    encoding: 'utf8',
  });
  assert.match(listing, /^\.dockerenv$/m);
  const img = `skiff-initlayer-${sfx}:v1`;
  e.docker(['commit', name, img]);
  const tmp = mkdtempSync('/tmp/skiff-initlayer-');
  try {
    e.docker(['save', '-o', join(tmp, 'img.tar'), img]);
    execFileSync('tar', ['-xf', join(tmp, 'img.tar'), '-C', tmp]);
    const manifest = JSON.parse(readFileSync(join(tmp, 'manifest.json'), 'utf8'))[0];
    const top = execFileSync('tar', ['-tf', join(tmp, manifest.Layers.at(-1))], { encoding: 'utf8' });
    assert.deepEqual(
      top
        .trim()
        .split('\n')
        .map((l) => l.replace(/\/$/, ''))
        .sort(),
      ['made', 'made/f'],
      'the committed layer holds only what the container changed',
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  e.docker(['rm', name]);
  e.docker(['rmi', img]);
  // An image without /etc, /proc, /dev: the init layer makes them; the container's diff stays empty.
  const root = mkdtempSync('/tmp/skiff-initlayer-root-');
  try {
    execFileSync('sh', [
      '-c',
      `mkdir ${root}/bin && cp /bin/busybox ${root}/bin/ && tar -C ${root} -cf ${root}.tar bin`,
    ]);
    const bare = `skiff-bare-${sfx}:v1`;
    e.docker(['import', `${root}.tar`, bare]);
    const bn = n('bare');
    e.docker(['run', '--name', bn, bare, '/bin/busybox', 'test', '-f', '/.dockerenv']);
    assert.equal(e.docker(['diff', bn]).trim(), '');
    e.docker(['rm', bn]);
    e.docker(['rmi', bare]);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(`${root}.tar`, { force: true });
  }
});
