// docker compose v2 (the current line, github.com/docker/compose/v5 v5.6.0, built and cached by
// scripts/build-compose.sh; Debian ships only compose 1.29) against skiff engine and the real
// dockerd in the same run, compared after masking: `up --pull never|missing` with
// compose.override.yml and `-f a.yml -f b.yml`, depends_on service_healthy and
// service_completed_successfully, profiles, ls, ps, stats --no-stream, wait, attach, cp, exec -T,
// logs, a classic-builder build (compose sends its context gzip'd), watch (sync), and
// down -v --rmi local leaving nothing of the project.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Differential, mask, sh, startSides, type Side } from './engine-differential-harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync('/tmp/skiff-ecompose-');
const d = new Differential(tmp);
const P = `ec${Math.random().toString(16).slice(2, 6)}`;
const Q = `${P}b`; // the -f a.yml -f b.yml project
let COMPOSE = '';

const BASE = `services:
  db:
    image: busybox
    command: ["sh", "-c", "touch /tmp/ready; echo db-up; sleep 300"]
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 1s
      retries: 60
  init:
    image: busybox
    command: ["sh", "-c", "echo init-done"]
  app:
    image: busybox
    command: ["sh", "-c", "echo app-up $$GREETING; sleep 300"]
    environment:
      GREETING: base
    depends_on:
      db: {condition: service_healthy}
      init: {condition: service_completed_successfully}
    volumes: [data:/data]
  tools:
    image: busybox
    profiles: ["debug"]
    command: ["sleep", "300"]
volumes:
  data: {}
`;
const OVERRIDE = 'services:\n  app:\n    environment:\n      GREETING: overridden\n';
const A = `services:
  tick:
    image: busybox
    command: ["sh", "-c", "i=0; while true; do i=$$((i+1)); echo tick$$i; sleep 0.3; done"]
    volumes: [tickdata:/data]
  built:
    build: {context: .}
    command: ["cat", "/b"]
  w:
    image: busybox
    command: ["sleep", "300"]
    develop:
      watch:
        - {action: sync, path: ./src, target: /app/src}
volumes:
  tickdata: {}
`;
const B = 'services:\n  tick:\n    environment: [FROMB=1]\n';

/** One project directory per side (watch syncs from it). */
const dirOf = (x: Side) => join(tmp, x.name);

before(async () => {
  COMPOSE = execFileSync('bash', [join(ROOT, 'scripts/build-compose.sh')], { encoding: 'utf8' }).trim();
  for (const name of ['dockerd', 'skiff']) {
    const dir = join(tmp, name);
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'compose.yml'), BASE);
    writeFileSync(join(dir, 'compose.override.yml'), OVERRIDE);
    writeFileSync(join(dir, 'a.yml'), A);
    writeFileSync(join(dir, 'b.yml'), B);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo built > /b\n');
    writeFileSync(join(dir, 'src', 'f'), 'v1\n');
  }
  await startSidesOnce();
});

let sides: Awaited<ReturnType<typeof startSides>> | undefined;
async function startSidesOnce() {
  sides = await startSides(d, []);
}
after(async () => {
  if (sides)
    await Promise.all(
      d.sides.map(async (x) => {
        await run(x, `--profile debug down -v -t 1`);
        await run(x, '-f a.yml -f b.yml down -v -t 1', '', Q);
      }),
    );
  await sides?.stop([]);
  rmSync(tmp, { recursive: true, force: true });
});

/** `compose -p PROJECT ARGS` in the side's project directory (ARGS is shell text). */
const run = (x: Side, args: string, pre = '', project = P) =>
  sh(x, `cd ${dirOf(x)} && ${pre}${COMPOSE} -p ${project} ${args}`);

/** Runs on both sides; status and output (masked, then `view`) must match. Returns skiff's. */
async function same(args: string, view: (s: string) => string = (s) => s, pre = '', project = P): Promise<string> {
  const outs = await Promise.all(d.sides.map((x) => run(x, args, pre, project)));
  const v = outs.map((o) => ({
    status: o.status,
    out: view(
      mask(o.stdout)
        .replaceAll(tmp, '<TMP>')
        .replace(/\/(dockerd|skiff)\//g, '/<SIDE>/'),
    ),
  }));
  assert.deepEqual(v[1], v[0], `compose ${args}\nskiff stderr: ${outs[1].stderr}\ndockerd stderr: ${outs[0].stderr}`);
  return outs[1].stdout;
}
const sorted = (s: string) => s.split('\n').sort().join('\n');

test('compose v2: up with override and depends_on conditions, profiles, ls/ps/stats/wait/exec/logs/cp/attach', async () => {
  await same('up -d --pull never --quiet-pull', () => '');
  assert.match(
    await same("ps -a --format '{{.Service}} {{.State}} {{.ExitCode}}'", sorted),
    /app running 0\ndb running 0\ninit exited 0/,
  );
  assert.equal(await same("exec -T app sh -c 'echo $GREETING'"), 'overridden\n');
  assert.equal(await same('logs --no-log-prefix init'), 'init-done\n');
  assert.match(await same('logs --no-log-prefix app'), /app-up overridden/);
  await same('wait init');
  await same('ls --filter name=' + P + " --format '{{.Name}} {{.Status}}'");
  await same("stats --no-stream --format '{{.Name}}'", sorted);
  await same('cp app:/etc/hostname - | tar -t');
  await same('ps --services', sorted);
  await same('--profile debug up -d --pull never --quiet-pull tools', () => '');
  assert.match(await same('--profile debug ps --services', sorted), /tools/);
  await same("run --rm -T app sh -c 'echo one-off $GREETING'");
  await same('stop -t 1 app', () => '');
  await same("ps -a --format '{{.Service}} {{.State}}' app");
});

test('compose v2: -f a.yml -f b.yml, a classic build (gzip context), attach, watch sync', async () => {
  await same('-f a.yml -f b.yml up -d --pull missing --quiet-pull', () => '', '', Q);
  assert.match(await same("-f a.yml -f b.yml exec -T tick sh -c 'echo $FROMB'", undefined, '', Q), /^1\n$/);
  assert.equal(await same('-f a.yml -f b.yml logs --no-log-prefix built', undefined, '', Q), 'built\n');
  // attach: the running service's output, until interrupted
  await same(
    '-f a.yml -f b.yml attach --no-stdin tick | head -n 2',
    (s) => s.replace(/tick\d+/g, 'tickN'),
    'timeout -s INT 5 ',
    Q,
  );
  // watch (sync): once it says it watches, a changed file in ./src reaches the container. One side
  // after the other: compose takes a per-project lock on this host for a watch (same project name).
  for (const x of d.sides) {
    const w = spawn(COMPOSE, ['-p', Q, '-f', 'a.yml', '-f', 'b.yml', 'watch', '--no-up'], {
      cwd: dirOf(x),
      env: { ...process.env, DOCKER_HOST: x.host, DOCKER_CONFIG: x.config },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    w.stdout.on('data', (c: Buffer) => (out += c));
    w.stderr.on('data', (c: Buffer) => (out += c));
    const exited = new Promise((r) => w.once('exit', r));
    try {
      for (let i = 0; i < 600 && !/Watch enabled/.test(out) && w.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /Watch enabled/, `${x.name}: watch did not start: ${out}`);
      writeFileSync(join(dirOf(x), 'src', 'f'), 'v2\n');
      let got = '';
      for (let j = 0; j < 150 && got !== 'v2\n'; j++) {
        await new Promise((r) => setTimeout(r, 200));
        got = (await run(x, "-f a.yml -f b.yml exec -T w sh -c 'cat /app/src/f'", '', Q)).stdout;
      }
      assert.equal(got, 'v2\n', `${x.name}: watch did not sync ./src/f: ${out}`);
    } finally {
      w.kill('SIGINT');
      await exited;
    }
  }
  await same('-f a.yml -f b.yml down -v --rmi local -t 1', () => '', '', Q);
  // nothing of the project is left: containers, its volume, its network, the image it built
  for (const x of d.sides) {
    const left = await sh(
      x,
      `docker ps -aq --filter label=com.docker.compose.project=${Q}; docker network ls -q --filter name=${Q}_; ` +
        `docker volume ls -q --filter name=${Q}_; docker images -q ${Q}-built`,
    );
    assert.equal(left.stdout.trim() + left.stderr.trim(), '', `${x.name} kept: ${left.stdout}`);
  }
});
