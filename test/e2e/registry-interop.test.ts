// Interoperability with real peers on loopback: Skiff's client against Debian's docker-registry
// (distribution 2.8), skopeo against Skiff's registry in both directions, and the auth flows
// (htpasswd basic, bearer tokens from the registry's token endpoint) with Skiff's client and skopeo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import bcrypt from 'bcryptjs';
import {
  createRegistryServer,
  pullImage,
  pushImage,
  loginRegistry,
  parseRegistryAuthHeader,
  type RegistryServer,
} from '../../src/registry/index.js';
import { createContentStore, type ContentStore } from '../../src/image/index.js';
import {
  buildBusyboxImage,
  startDistribution,
  writeOciLayout,
  type Distribution,
  type TestImage,
} from '../fixtures/distribution.js';

const run = promisify(execFile);
let dir: string;
let img: TestImage;
let store: ContentStore;
let dist: Distribution;
let reg: RegistryServer;
let regHost: string;
const fresh = (n: string) => createContentStore(join(dir, `cs-${n}`));

before(async () => {
  for (const bin of ['/usr/bin/skopeo', '/usr/bin/docker-registry'])
    if (!existsSync(bin)) throw new Error(`${bin} missing (bootstrap installs it)`);
  dir = mkdtempSync(join(tmpdir(), 'skiff-reg-e2e-'));
  img = buildBusyboxImage();
  store = await fresh('src');
  for (const b of img.blobs) await store.put(b.data);
  await store.put(img.manifest);
  dist = await startDistribution();
  reg = await createRegistryServer({ dataRoot: join(dir, 'reg') });
  regHost = (await reg.listen('127.0.0.1', 0)).replace('http://', '');
});
after(async () => {
  await reg?.close();
  await dist?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('Skiff client pushes a Skiff-built image to distribution 2.8 and pulls it back with identical digests', async () => {
  const events: string[] = [];
  const pushed = await pushImage(`${dist.host}/skiff/busybox:v1`, {
    store,
    manifestDigest: img.manifestDigest,
    onProgress: (e) => events.push(e.status),
  });
  assert.equal(pushed.digest, img.manifestDigest);
  assert.ok(events.includes('Pushed'));
  // chunked upload path (PATCH + Content-Range) against the real server too
  const chunked = await pushImage(`${dist.host}/skiff/chunked:v1`, {
    store: await fresh('chunked-src').then(async (s) => {
      for (const b of img.blobs) await s.put(b.data);
      await s.put(img.manifest);
      return s;
    }),
    manifestDigest: img.manifestDigest,
    chunkSize: 200_000,
  });
  assert.equal(chunked.digest, img.manifestDigest);
  const out = await fresh('from-dist');
  const pulled = await pullImage(`${dist.host}/skiff/busybox:v1`, {
    store: out,
    onProgress: (e) => events.push(e.status),
  });
  assert.equal(pulled.manifestDigest, img.manifestDigest);
  assert.equal(pulled.configDigest, img.config.digest);
  for (const b of img.blobs) assert.deepEqual(await out.readAll(b.digest), b.data, `blob ${b.digest} round-trips`);
  assert.ok(events.includes('Download complete'));
  // second pull: everything is already there
  const again: string[] = [];
  await pullImage(`${dist.host}/skiff/busybox@${img.manifestDigest}`, {
    store: out,
    onProgress: (e) => again.push(e.status),
  });
  assert.equal(again.filter((s) => s === 'Already exists').length, img.layers.length);
});

test("skopeo copies from an OCI layout into Skiff's registry; Skiff's client pulls it", async () => {
  writeOciLayout(img, join(dir, 'oci'), 'v1');
  await run('skopeo', [
    'copy',
    '--dest-tls-verify=false',
    `oci:${join(dir, 'oci')}:v1`,
    `docker://${regHost}/y/busybox:v1`,
  ]);
  const out = await fresh('from-skopeo');
  const pulled = await pullImage(`${regHost}/y/busybox:v1`, { store: out });
  assert.equal(pulled.manifestDigest, img.manifestDigest);
  for (const l of img.layers) assert.ok(await out.has(l.digest));
});

test("skopeo copies from Skiff's registry to a directory; the files match", async () => {
  await pushImage(`${regHost}/x/busybox:tag`, { store, manifestDigest: img.manifestDigest });
  const dest = join(dir, 'dirout');
  await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${regHost}/x/busybox:tag`, `dir:${dest}`]);
  assert.deepEqual(readFileSync(join(dest, 'manifest.json')), img.manifest);
  for (const b of img.blobs) assert.deepEqual(readFileSync(join(dest, b.digest.slice(7))), b.data);
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${regHost}/x/busybox:tag`]);
  assert.equal(JSON.parse(stdout).Digest, img.manifestDigest);
  const tags = await run('skopeo', ['list-tags', '--tls-verify=false', `docker://${regHost}/x/busybox`]);
  assert.deepEqual(JSON.parse(tags.stdout).Tags, ['tag']);
});

async function authRegistry(
  mode: 'basic' | 'token',
): Promise<{ reg: RegistryServer; host: string; htpasswd: string; cleanup: () => Promise<void> }> {
  const htpasswd = join(dir, `htpasswd-${mode}`);
  writeFileSync(htpasswd, `alice:${bcrypt.hashSync('s3cret', 6).replace(/^\$2b\$/, '$2y$')}\n`);
  const r = await createRegistryServer({
    dataRoot: join(dir, `reg-${mode}`),
    htpasswd,
    ...(mode === 'token' ? { tokenRealm: '/auth/token', tokenService: 'skiff-test' } : {}),
  });
  const host = (await r.listen('127.0.0.1', 0)).replace('http://', '');
  return { reg: r, host, htpasswd, cleanup: () => r.close() };
}

for (const mode of ['basic', 'token'] as const) {
  test(`${mode} auth: credentials from a Docker config.json; anonymous access is refused; skopeo --creds works`, async () => {
    const a = await authRegistry(mode);
    try {
      const r = await fetch(`http://${a.host}/v2/`);
      await r.arrayBuffer();
      assert.equal(r.status, 401);
      assert.match(
        r.headers.get('www-authenticate') ?? '',
        mode === 'basic'
          ? /^Basic realm=/
          : /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/auth\/token",service="skiff-test"/,
      );
      await assert.rejects(
        pushImage(`${a.host}/p/q:v1`, {
          store,
          manifestDigest: img.manifestDigest,
          dockerConfig: join(dir, 'none.json'),
        }),
        /unauthorized|401|token request/i,
      );
      const cfgDir = mkdtempSync(join(dir, 'dockercfg-'));
      writeFileSync(
        join(cfgDir, 'config.json'),
        JSON.stringify({ auths: { [`http://${a.host}`]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }),
      );
      const pushed = await pushImage(`${a.host}/p/q:v1`, {
        store,
        manifestDigest: img.manifestDigest,
        dockerConfig: join(cfgDir, 'config.json'),
      });
      assert.equal(pushed.digest, img.manifestDigest);
      const out = await fresh(`auth-${mode}`);
      const pulled = await pullImage(`${a.host}/p/q:v1`, {
        store: out,
        auth: { username: 'alice', password: 's3cret' },
      });
      assert.equal(pulled.manifestDigest, img.manifestDigest);
      await assert.rejects(
        pullImage(`${a.host}/p/q:v1`, {
          store: await fresh(`bad-${mode}`),
          auth: { username: 'alice', password: 'wrong' },
        }),
        /unauthorized|401|invalid username/i,
      );
      assert.deepEqual(await loginRegistry(a.host, { auth: { username: 'alice', password: 's3cret' } }), {
        status: 'Login Succeeded',
      });
      await assert.rejects(
        loginRegistry(a.host, { auth: { username: 'alice', password: 'nope' } }),
        /unauthorized|401|invalid username/i,
      );
      const xra = Buffer.from(
        JSON.stringify({ username: 'alice', password: 's3cret', serveraddress: a.host }),
      ).toString('base64url');
      assert.deepEqual(parseRegistryAuthHeader(xra), { username: 'alice', password: 's3cret', serveraddress: a.host });
      const dest = join(dir, `skopeo-${mode}`);
      await run('skopeo', [
        'copy',
        '--src-tls-verify=false',
        '--src-creds',
        'alice:s3cret',
        `docker://${a.host}/p/q:v1`,
        `dir:${dest}`,
      ]);
      assert.deepEqual(readFileSync(join(dest, 'manifest.json')), img.manifest);
      await assert.rejects(
        run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'alice:nope', `docker://${a.host}/p/q:v1`]),
      );
      if (mode === 'token') {
        const tok = await fetch(`http://${a.host}/auth/token?service=skiff-test&scope=repository:p/q:pull,push`, {
          headers: { Authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` },
        });
        const body = (await tok.json()) as { token: string; expires_in: number };
        const claims = JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString());
        assert.deepEqual(claims.access, [{ type: 'repository', name: 'p/q', actions: ['pull', 'push'] }]);
        const cat = await fetch(`http://${a.host}/v2/_catalog`, { headers: { Authorization: `Bearer ${body.token}` } });
        assert.equal(cat.status, 401, 'a token for p/q does not open the catalog');
        assert.match(
          cat.headers.get('www-authenticate') ?? '',
          /scope="registry:catalog:\*",error="insufficient_scope"/,
        );
        await cat.arrayBuffer();
        // The signing key lives in the data root: a token from before a restart is still good after it.
        await a.cleanup();
        const again = await createRegistryServer({
          dataRoot: join(dir, 'reg-token'),
          htpasswd: a.htpasswd,
          tokenRealm: '/auth/token',
          tokenService: 'skiff-test',
        });
        await again.listen('127.0.0.1', Number(a.host.split(':')[1]));
        try {
          const tags = await fetch(`http://${a.host}/v2/p/q/tags/list`, {
            headers: { Authorization: `Bearer ${body.token}` },
          });
          assert.equal(tags.status, 200, await tags.clone().text());
          assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['v1']);
        } finally {
          await again.close();
        }
        return;
      }
    } finally {
      await a.cleanup();
    }
  });
}

test("Skiff client with basic auth against distribution's htpasswd", async () => {
  const d = await startDistribution({ htpasswd: `bob:${bcrypt.hashSync('pw', 6).replace(/^\$2b\$/, '$2y$')}\n` });
  try {
    await assert.rejects(
      pushImage(`${d.host}/a/b:v1`, {
        store,
        manifestDigest: img.manifestDigest,
        dockerConfig: join(dir, 'none.json'),
      }),
      /unauthorized/i,
    );
    await pushImage(`${d.host}/a/b:v1`, {
      store,
      manifestDigest: img.manifestDigest,
      auth: { username: 'bob', password: 'pw' },
    });
    const p = await pullImage(`${d.host}/a/b:v1`, {
      store: await fresh('dist-basic'),
      auth: { username: 'bob', password: 'pw' },
    });
    assert.equal(p.manifestDigest, img.manifestDigest);
  } finally {
    await d.stop();
  }
});

test('nothing half-stored: the storage dirs hold no staging or upload leftovers', () => {
  for (const sub of ['tmp', 'uploads']) assert.deepEqual(readdirSync(join(dir, 'reg', sub)), [], `${sub}/ is empty`);
});

test('TLS: skiff registry over HTTPS with a self-signed certificate; the client (loopback = insecure) and skopeo use it', async () => {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  const r = await createRegistryServer({ dataRoot: join(dir, 'reg-tls'), tlsCert: cert, tlsKey: key });
  const url = await r.listen('127.0.0.1', 0);
  assert.match(url, /^https:/);
  const host = url.replace('https://', '');
  try {
    await pushImage(`${host}/tls/img:v1`, { store, manifestDigest: img.manifestDigest });
    const p = await pullImage(`${host}/tls/img:v1`, { store: await fresh('tls') });
    assert.equal(p.manifestDigest, img.manifestDigest);
    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/tls/img:v1`]);
    assert.equal(JSON.parse(stdout).Digest, img.manifestDigest);
    await assert.rejects(
      run('skopeo', ['inspect', `docker://${host}/tls/img:v1`]),
      /certificate/,
      'verification stays on unless asked',
    );
  } finally {
    await r.close();
  }
});
