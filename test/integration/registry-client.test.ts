// Skiff's registry client against a fault-injecting proxy in front of Skiff's registry: retries on
// 5xx, resumed downloads (Range from the ingest offset), digest verification, bounded parallelism,
// docker.io mirrors, and credentials from DOCKER_CONFIG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import {
  createRegistryServer,
  pullImage,
  pushImage,
  credentialsFromDockerConfig,
  parseChallenges,
  type RegistryServer,
} from '../../src/registry/index.js';
import { createContentStore, type ContentStore } from '../../src/image/index.js';
import { freePort } from '../fixtures/distribution.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let dir: string;
let reg: RegistryServer;
let upstream: URL;
let proxy: Server;
let proxyHost: string;
type Hook = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
let hook: Hook | undefined;
const seen: { method: string; url: string; range?: string }[] = [];
let active = 0;
let maxActive = 0;
let layers: Buffer[];
let manifestDigest: string;
let src: ContentStore;

function forward(req: IncomingMessage, res: ServerResponse, transform?: (b: Buffer) => Buffer): void {
  const up = request(
    { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
    (ur) => {
      if (transform) {
        const parts: Buffer[] = [];
        ur.on('data', (c: Buffer) => parts.push(c));
        ur.on('end', () => {
          const b = transform(Buffer.concat(parts));
          res.writeHead(ur.statusCode!, { ...ur.headers, 'content-length': b.length });
          res.end(b);
        });
        return;
      }
      res.writeHead(ur.statusCode!, ur.headers);
      ur.pipe(res);
    },
  );
  req.pipe(up);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-regcli-'));
  reg = await createRegistryServer({ dataRoot: join(dir, 'reg') });
  upstream = new URL(await reg.listen('127.0.0.1', 0));
  proxy = createServer((req, res) => {
    const isBlobGet = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    seen.push({ method: req.method!, url: req.url!, range: req.headers.range });
    if (isBlobGet) {
      active++;
      maxActive = Math.max(maxActive, active);
      res.on('close', () => {
        active--;
      });
    }
    Promise.resolve(hook?.(req, res) ?? false).then((handled) => {
      if (!handled) forward(req, res);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyHost = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
  // An image with five ~1 MB layers, pushed straight to the registry.
  src = await createContentStore(join(dir, 'src'));
  layers = Array.from({ length: 5 }, () => randomBytes(1 << 20));
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(sha) } }),
  );
  for (const b of [config, ...layers]) await src.put(b);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: sha(l),
        size: l.length,
      })),
    }),
  );
  manifestDigest = await src.put(manifest);
  await pushImage(`${upstream.host}/library/busybox:v1`, { store: src, manifestDigest });
});
after(async () => {
  proxy.closeAllConnections();
  await new Promise((r) => proxy.close(r));
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
});

test('retries 5xx, resumes an interrupted download with Range, bounds parallel transfers', async () => {
  let failedManifest = false;
  let cut = false;
  hook = (req, res) => {
    if (!failedManifest && req.url?.includes('/manifests/')) {
      failedManifest = true;
      res.writeHead(503);
      res.end();
      return true;
    }
    if (!cut && req.url?.endsWith(sha(layers[2])) && !req.headers.range) {
      cut = true;
      // Send 300 KB of the layer, then drop the connection.
      res.writeHead(200, { 'Content-Length': layers[2].length, 'Content-Type': 'application/octet-stream' });
      res.write(layers[2].subarray(0, 300_000), () => setTimeout(() => res.destroy(), 50));
      return true;
    }
    return false;
  };
  seen.length = 0;
  maxActive = 0;
  const store = await createContentStore(join(dir, 'p1'));
  const events: string[] = [];
  const r = await pullImage(`${proxyHost}/library/busybox:v1`, {
    store,
    concurrency: 2,
    backoffMs: 20,
    onProgress: (e) => events.push(e.status),
  });
  hook = undefined;
  assert.equal(r.manifestDigest, manifestDigest);
  for (const l of layers) assert.deepEqual(await store.readAll(sha(l)), l);
  assert.ok(failedManifest && cut);
  const ranged = seen.filter((s) => s.url.endsWith(sha(layers[2])) && s.range);
  assert.equal(ranged.length, 1, 'the second request for the cut layer is a Range request');
  assert.match(ranged[0].range!, /^bytes=\d+-$/);
  assert.ok(Number(/=(\d+)-/.exec(ranged[0].range!)![1]) > 0, 'it resumes from the ingest offset');
  assert.ok(maxActive <= 2, `at most 2 blob downloads at once (saw ${maxActive})`);
  assert.ok(events.includes('Retrying'));
});

test('a corrupted blob fails the pull with a digest error and stores nothing for it', async () => {
  hook = (req, res) => {
    if (req.url?.endsWith(sha(layers[1]))) {
      forward(req, res, (b) => {
        const c = Buffer.from(b);
        c[10] ^= 0xff;
        return c;
      });
      return true;
    }
    return false;
  };
  const store = await createContentStore(join(dir, 'p2'));
  await assert.rejects(pullImage(`${proxyHost}/library/busybox:v1`, { store, backoffMs: 10 }), (e: Error) =>
    /failed verification|digest mismatch/i.test(e.message),
  );
  hook = undefined;
  assert.equal(await store.has(sha(layers[1])), false);
  assert.equal(await store.has(manifestDigest), false, 'no manifest is stored when a layer failed');
  assert.deepEqual(
    (await store.ingests()).filter((i) => i.offset > 0 && i.expectedDigest === sha(layers[1])),
    [],
  );
});

test('docker.io pulls try each mirror in order, skipping a dead one', async () => {
  const dead = await freePort();
  const store = await createContentStore(join(dir, 'p3'));
  seen.length = 0;
  const r = await pullImage('busybox:v1', {
    store,
    mirrors: [`http://127.0.0.1:${dead}`, `http://${proxyHost}`],
    retries: 0,
  });
  assert.equal(r.manifestDigest, manifestDigest);
  assert.equal(r.endpoint, proxyHost);
  assert.ok(seen.some((s) => s.url.startsWith('/v2/library/busybox/manifests/v1')));
});

test('credentials come from $DOCKER_CONFIG/config.json; challenges parse', () => {
  const cfg = join(dir, 'dc');
  mkdirSync(cfg);
  writeFileSync(
    join(cfg, 'config.json'),
    JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw:with:colons').toString('base64') },
        'reg.example:5000': { username: 'u', password: 'p' },
      },
    }),
  );
  const old = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = cfg;
  try {
    assert.deepEqual(credentialsFromDockerConfig('docker.io'), {
      serveraddress: 'https://index.docker.io/v1/',
      username: 'hub',
      password: 'pw:with:colons',
    });
    assert.equal(credentialsFromDockerConfig('reg.example:5000')?.username, 'u');
    assert.equal(credentialsFromDockerConfig('other.example'), undefined);
  } finally {
    if (old === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = old;
  }
  writeFileSync(join(cfg, 'config.json'), '{"auths": {"x": {"auth": 5}}}');
  assert.throws(() => credentialsFromDockerConfig('x', join(cfg, 'config.json')), /auths/);
  assert.deepEqual(
    parseChallenges(
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
    ),
    [
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
      },
    ],
  );
  assert.deepEqual(parseChallenges('Basic realm="x"'), [{ scheme: 'basic', params: { realm: 'x' } }]);
});
