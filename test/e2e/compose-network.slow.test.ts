// docker-compose 1.29 (Debian) against a private `skiff engine`: the project's default network
// (`<project>_default`), service-name and alias DNS between services, a published port answering on
// 127.0.0.1, and `down` removing the network's bridge. Traffic stays on loopback and inside the
// containers' namespaces.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
let dir: string;
const project = `skn${Math.random().toString(16).slice(2, 8)}`;
const linkExists = (name: string): boolean => {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('compose network e2e needs root');
  execFileSync('docker-compose', ['version']);
  e = await startEngine();
  dir = mkdtempSync('/tmp/skiff-compose-net-');
});
after(async () => {
  const prefix = e?.chainPrefix;
  await e?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (prefix)
    assert.deepEqual(
      execFileSync('iptables-save', { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(`${prefix}-`)),
      [],
      'no rule of ours left',
    );
});

const compose = (args: string[]) =>
  execFileSync('docker-compose', ['-p', project, ...args], {
    cwd: dir,
    env: { ...process.env, DOCKER_HOST: e.host },
    encoding: 'utf8',
    timeout: 90_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

test('compose: default network, service-name DNS, published port, down removes the bridge', async () => {
  const port = await freePort();
  writeFileSync(
    join(dir, 'docker-compose.yml'),
    `version: "3.9"
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello-compose > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1:${port}:80"]
    stop_grace_period: 1s
  client:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 1s
    networks:
      default:
        aliases: [frontdoor]
`,
  );
  compose(['up', '-d']);
  const net = JSON.parse(e.docker(['network', 'inspect', `${project}_default`]))[0];
  const bridge = `br-${net.Id.slice(0, 12)}`;
  assert.equal(linkExists(bridge), true, 'the project network has its bridge');
  assert.equal(Object.keys(net.Containers).length, 2, 'both services are on it');
  const client = `${project}_client_1`;
  // probes run in a fresh container sharing the client's namespace (and so its resolv.conf's DNS)
  const out = e.docker([
    'run',
    '--rm',
    '--network',
    `container:${client}`,
    'busybox',
    'sh',
    '-c',
    'timeout 5 wget -q -O - http://web/index.html; nslookup frontdoor',
  ]);
  assert.match(out, /hello-compose/, 'service name resolves');
  const clientIp = JSON.parse(e.docker(['inspect', client]))[0].NetworkSettings.Networks[`${project}_default`]
    .IPAddress;
  assert.match(out, new RegExp(`Address: ${clientIp.replace(/\./g, '\\.')}`), 'alias resolves');
  let body = '';
  for (let i = 0; i < 30 && !body.includes('hello-compose'); i++) {
    body = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.text(),
      () => '',
    );
    if (!body) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(body, /hello-compose/, 'published port answers on 127.0.0.1');
  compose(['down']);
  assert.doesNotMatch(e.docker(['network', 'ls', '--format', '{{.Name}}']), new RegExp(project));
  assert.equal(linkExists(bridge), false, 'down removed the bridge');
});
