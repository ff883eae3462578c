// docker-compose 1.29 (Debian; docker-py pinned to /v1.38/) against a private `skiff engine`: a
// two-service app with a named volume, a healthcheck and depends_on: service_healthy; `down -v`
// leaves no container, network or volume behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
let dir: string;
const project = `skc${Math.random().toString(16).slice(2, 8)}`;

const COMPOSE = `version: "3.9"
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo ready > /data/state; sleep 0.5; touch /tmp/healthy; sleep 300"]
    volumes: ["dbdata:/data"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/healthy"]
      interval: 300ms
      retries: 3
  app:
    image: busybox
    command: ["sh", "-c", "cat /data/state; sleep 300"]
    volumes: ["dbdata:/data"]
    stop_grace_period: 1s
    depends_on:
      db:
        condition: service_healthy
volumes:
  dbdata: {}
`;

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('compose e2e needs root');
  execFileSync('docker-compose', ['version']);
  e = await startEngine();
  dir = mkdtempSync('/tmp/skiff-compose-');
  writeFileSync(join(dir, 'docker-compose.yml'), COMPOSE);
});
after(async () => {
  await e?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const compose = (args: string[]) =>
  execFileSync('docker-compose', ['-p', project, ...args], {
    cwd: dir,
    env: { ...process.env, DOCKER_HOST: e.host },
    encoding: 'utf8',
    timeout: 90_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

test('compose up with depends_on service_healthy, then down -v leaves nothing', async () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  compose(['up', '-d']);
  const db = JSON.parse(e.docker(['inspect', `${project}_db_1`]))[0];
  assert.equal(db.State.Health.Status, 'healthy', 'app started only after db was healthy');
  assert.equal(db.Config.Labels['com.docker.compose.project'], project);
  const app = JSON.parse(e.docker(['inspect', `${project}_app_1`]))[0];
  assert.equal(app.State.Running, true);
  // The app's start event comes after db's healthy one (the health log keeps only 5 probes, so the
  // one that made db healthy may be gone from it on a loaded machine: the events are the record).
  const events = e
    .docker([
      'events',
      '--since',
      since,
      '--until',
      String(Math.ceil(Date.now() / 1000)),
      '--format',
      '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}',
    ])
    .trim()
    .split('\n');
  const at = (re: RegExp) => BigInt(events.find((l) => re.test(l))?.split(' ')[0] ?? '0');
  const healthy = at(new RegExp(`health_status: healthy ${project}_db_1$`));
  const started = at(new RegExp(` start ${project}_app_1$`));
  assert.ok(healthy > 0n && started >= healthy, events.join('\n'));
  await new Promise((r) => setTimeout(r, 300));
  assert.match(compose(['logs', 'app']), /ready/);
  assert.match(e.docker(['network', 'ls', '--format', '{{.Name}}']), new RegExp(`${project}_default`));
  assert.match(e.docker(['volume', 'ls', '--format', '{{.Name}}']), new RegExp(`${project}_dbdata`));
  assert.equal(
    e
      .docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`])
      .trim()
      .split('\n').length,
    2,
  );
  compose(['down', '-v']);
  assert.equal(e.docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).trim(), '');
  assert.doesNotMatch(e.docker(['network', 'ls', '--format', '{{.Name}}']), new RegExp(project));
  assert.doesNotMatch(e.docker(['volume', 'ls', '--format', '{{.Name}}']), new RegExp(project));
});
