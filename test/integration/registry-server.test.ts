// The registry server over real loopback HTTP: the distribution API's pull/push/list/delete paths,
// error codes for bad input, and that nothing partial ever becomes visible in storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { createRegistryServer, garbageCollect, type RegistryServer } from '../../src/registry/index.js';

// fetch's BodyInit typing does not list Buffer, which it accepts at run time.
const body = (b: Buffer | string) => b as unknown as BodyInit;
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let dir: string;
let reg: RegistryServer;
let url: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-regsrv-'));
  reg = await createRegistryServer({ dataRoot: join(dir, 'data') });
  url = await reg.listen('127.0.0.1', 0);
});
after(async () => {
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
});

async function upload(name: string, data: Buffer): Promise<string> {
  const d = sha(data);
  const r = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${d}`, {
    method: 'POST',
    body: body(data),
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  assert.equal(r.status, 201, await r.text());
  assert.equal(r.headers.get('docker-content-digest'), d);
  return d;
}

function manifestFor(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: sha(l),
        size: l.length,
      })),
      ...extra,
    }),
  );
}

async function errCode(r: Response): Promise<{ code: string; message: string; detail?: unknown }> {
  const body = (await r.json()) as { errors: { code: string; message: string; detail?: unknown }[] };
  return body.errors[0];
}

function files(sub: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(p, e.name));
      else out.push(join(p, e.name));
    }
  };
  if (existsSync(join(dir, 'data', sub))) walk(join(dir, 'data', sub));
  return out;
}

test('GET /v2/ answers with the API version header', async () => {
  const r = await fetch(`${url}/v2/`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
});

test('monolithic and chunked uploads, HEAD, Range, manifests by tag and digest', async () => {
  const layer = randomBytes(300_000);
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  await upload('lib/app', config);
  // chunked: POST → PATCH × 2 (Content-Range) → PUT ?digest=
  let r = await fetch(`${url}/v2/lib/app/blobs/uploads/`, { method: 'POST' });
  assert.equal(r.status, 202);
  let loc = r.headers.get('location')!;
  assert.match(loc, /\/v2\/lib\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
  assert.equal(r.headers.get('range'), '0-0');
  assert.ok(r.headers.get('docker-upload-uuid'));
  r = await fetch(loc, {
    method: 'PATCH',
    body: body(layer.subarray(0, 100_000)),
    headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' },
  });
  assert.equal(r.status, 202);
  assert.equal(r.headers.get('range'), '0-99999');
  loc = r.headers.get('location')!;
  // out of order chunk → 416
  r = await fetch(loc, {
    method: 'PATCH',
    body: body(layer.subarray(200_000)),
    headers: { 'Content-Range': '200000-299999' },
  });
  assert.equal(r.status, 416);
  assert.equal((await errCode(r)).code, 'RANGE_INVALID');
  r = await fetch(loc, { method: 'GET' });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('range'), '0-99999');
  r = await fetch(loc, {
    method: 'PATCH',
    body: body(layer.subarray(100_000)),
    headers: { 'Content-Range': '100000-299999' },
  });
  assert.equal(r.status, 202);
  r = await fetch(`${loc}?digest=${sha(layer)}`, { method: 'PUT' });
  assert.equal(r.status, 201, await r.clone().text());
  assert.equal(r.headers.get('docker-content-digest'), sha(layer));

  r = await fetch(`${url}/v2/lib/app/blobs/${sha(layer)}`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-length'), String(layer.length));
  r = await fetch(`${url}/v2/lib/app/blobs/${sha(layer)}`, { headers: { Range: 'bytes=10-19' } });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes 10-19/${layer.length}`);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), layer.subarray(10, 20));
  r = await fetch(`${url}/v2/lib/app/blobs/${sha(layer)}`, { headers: { Range: `bytes=${layer.length + 5}-` } });
  assert.equal(r.status, 416);
  await r.arrayBuffer();
  r = await fetch(`${url}/v2/lib/app/blobs/${sha(layer)}`);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), layer);

  const m = manifestFor(config, [layer]);
  r = await fetch(`${url}/v2/lib/app/manifests/v1`, {
    method: 'PUT',
    body: body(m),
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(r.status, 201, await r.clone().text());
  assert.equal(r.headers.get('docker-content-digest'), sha(m));
  for (const ref of ['v1', sha(m)]) {
    r = await fetch(`${url}/v2/lib/app/manifests/${ref}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(r.headers.get('docker-content-digest'), sha(m));
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), m, 'exact bytes are served');
  }
  r = await fetch(`${url}/v2/lib/app/manifests/v1`, {
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  assert.equal(r.status, 404, 'an OCI manifest is not served to a client that only accepts Docker schema2');
  assert.equal((await errCode(r)).code, 'MANIFEST_UNKNOWN');
  assert.equal(files('uploads').length, 0, 'finished uploads leave nothing behind');
});

test('bad input: digest mismatch, truncated upload, invalid and dangling manifests', async () => {
  const before = files('blobs').length;
  const data = randomBytes(5000);
  let r = await fetch(`${url}/v2/bad/blobs/uploads/?digest=${sha('something else')}`, {
    method: 'POST',
    body: body(data),
  });
  assert.equal(r.status, 400);
  const e = await errCode(r);
  assert.equal(e.code, 'DIGEST_INVALID');
  assert.match(e.message, /digest sha256:[0-9a-f]{64}, not sha256:/);
  assert.equal(files('blobs').length, before, 'the corrupt blob is not stored');
  assert.equal(files('uploads').length, 0);

  // A truncated upload: Content-Length promises more than is sent, then the connection drops.
  r = await fetch(`${url}/v2/bad/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(r.headers.get('location')!);
  await new Promise<void>((resolve) => {
    const s = connect(Number(loc.port), '127.0.0.1', () => {
      s.write(
        `PUT ${loc.pathname}?digest=${sha(data)} HTTP/1.1\r\nHost: ${loc.host}\r\nContent-Length: ${data.length}\r\n\r\n`,
      );
      s.write(data.subarray(0, 1000), () =>
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 100),
      );
    });
  });
  await new Promise((res) => setTimeout(res, 100));
  r = await fetch(`${url}/v2/bad/blobs/${sha(data)}`, { method: 'HEAD' });
  assert.equal(r.status, 404, 'a truncated upload is never visible');
  assert.equal(files('blobs').length, before);
  r = await fetch(loc, { method: 'GET' });
  assert.equal(r.status, 204, 'the session is still there to resume');
  assert.equal(r.headers.get('range'), '0-999');
  r = await fetch(loc, { method: 'DELETE' });
  assert.equal(r.status, 204);
  r = await fetch(loc, { method: 'GET' });
  assert.equal((await errCode(r)).code, 'BLOB_UPLOAD_UNKNOWN');

  const put = (ref: string, data: Buffer | string, ct = 'application/vnd.oci.image.manifest.v1+json') =>
    fetch(`${url}/v2/bad/manifests/${ref}`, { method: 'PUT', body: body(data), headers: { 'Content-Type': ct } });
  r = await put('t', '{not json');
  assert.equal(r.status, 400);
  assert.deepEqual([(await errCode(r)).code], ['MANIFEST_INVALID']);
  r = await put(
    't',
    JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: 'sha256:xyz', size: 1 },
      layers: [],
    }),
  );
  let err = await errCode(r);
  assert.equal(err.code, 'MANIFEST_INVALID');
  assert.match(err.message, /config\.digest/, 'the message names the field');
  r = await put(
    't',
    JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('x'), size: -1 },
      layers: 'nope',
    }),
  );
  err = await errCode(r);
  assert.match(err.message, /config\.size/);
  assert.match(err.message, /layers/);
  r = await put(
    't',
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'a/b', digest: sha('x'), size: 1 },
      layers: [],
    }),
  );
  assert.match((await errCode(r)).message, /Content-Type/, 'mediaType and Content-Type must agree');
  const config = Buffer.from('{}');
  await upload('bad', config);
  const missing = randomBytes(10);
  r = await put('t', manifestFor(config, [missing]));
  err = await errCode(r);
  assert.equal(r.status, 400);
  assert.equal(err.code, 'MANIFEST_BLOB_UNKNOWN');
  assert.match(err.message, new RegExp(sha(missing)));
  const good = manifestFor(config, []);
  r = await put(sha('other'), good);
  assert.equal((await errCode(r)).code, 'DIGEST_INVALID');
  r = await put('t', Buffer.alloc(5 << 20, 0x20));
  assert.equal((await errCode(r)).code, 'SIZE_INVALID');
  r = await fetch(`${url}/v2/bad/tags/list`);
  assert.deepEqual(((await r.json()) as { tags: string[] }).tags, [], 'no tag was created by any failed PUT');
  r = await fetch(`${url}/v2/Bad_Name/tags/list`);
  assert.equal((await errCode(r)).code, 'NAME_INVALID');
  r = await fetch(`${url}/v2/bad/blobs/sha256:zz`);
  assert.equal((await errCode(r)).code, 'DIGEST_INVALID');
  r = await fetch(`${url}/v2/bad/nothing/here`, { method: 'POST', body: 'x' });
  assert.equal(r.status, 405);
  assert.equal(files('tmp').length, 0, 'no staging files left');
  assert.equal((await fetch(`${url}/v2/`)).status, 200, 'the server is still up');
});

test('tags and catalog paginate with Link headers; delete; mount; referrers; gc', async () => {
  const config = Buffer.from('{"os":"linux"}');
  const layer = randomBytes(1000);
  await upload('pg/one', config);
  await upload('pg/one', layer);
  const m = manifestFor(config, [layer]);
  for (const t of ['a', 'b', 'c', 'd', 'e']) {
    const r = await fetch(`${url}/v2/pg/one/manifests/${t}`, {
      method: 'PUT',
      body: body(m),
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(r.status, 201);
  }
  let r = await fetch(`${url}/v2/pg/one/tags/list?n=2`);
  assert.deepEqual(await r.json(), { name: 'pg/one', tags: ['a', 'b'] });
  assert.equal(r.headers.get('link'), '</v2/pg/one/tags/list?last=b&n=2>; rel="next"');
  r = await fetch(`${url}/v2/pg/one/tags/list?n=2&last=d`);
  assert.deepEqual(await r.json(), { name: 'pg/one', tags: ['e'] });
  assert.equal(r.headers.get('link'), null);
  r = await fetch(`${url}/v2/nope/tags/list`);
  assert.equal((await errCode(r)).code, 'NAME_UNKNOWN');

  // cross-repository mount
  r = await fetch(`${url}/v2/pg/two/blobs/uploads/?mount=${sha(layer)}&from=pg/one`, { method: 'POST' });
  assert.equal(r.status, 201);
  r = await fetch(`${url}/v2/pg/two/blobs/uploads/?mount=${sha('absent')}&from=pg/one`, { method: 'POST' });
  assert.equal(r.status, 202, 'an unmountable blob starts an ordinary upload');
  await fetch(r.headers.get('location')!, { method: 'DELETE' });
  r = await fetch(`${url}/v2/_catalog?n=1&last=pg/one`);
  assert.deepEqual(await r.json(), { repositories: ['pg/two'] });
  r = await fetch(`${url}/v2/_catalog`);
  assert.ok(((await r.json()) as { repositories: string[] }).repositories.includes('pg/one'));

  // referrers: a signature-like artifact whose subject is the image
  const emptyCfg = Buffer.from('{}');
  await upload('pg/one', emptyCfg);
  const art = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/x.test.sig',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(emptyCfg), size: 2 },
      layers: [],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(m), size: m.length },
      annotations: { k: 'v' },
    }),
  );
  r = await fetch(`${url}/v2/pg/one/manifests/${sha(art)}`, {
    method: 'PUT',
    body: body(art),
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(r.status, 201);
  assert.equal(r.headers.get('oci-subject'), sha(m));
  r = await fetch(`${url}/v2/pg/one/referrers/${sha(m)}`);
  const idx = (await r.json()) as {
    manifests: { digest: string; artifactType: string; annotations: Record<string, string> }[];
  };
  assert.equal(r.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(
    idx.manifests.map((x) => [x.digest, x.artifactType, x.annotations.k]),
    [[sha(art), 'application/x.test.sig', 'v']],
  );
  r = await fetch(`${url}/v2/pg/one/referrers/${sha(m)}?artifactType=application/x.other`);
  assert.equal(r.headers.get('oci-filters-applied'), 'artifactType');
  assert.deepEqual(((await r.json()) as { manifests: unknown[] }).manifests, []);

  // delete: tag, then manifest by digest; then gc sweeps blobs nothing references
  r = await fetch(`${url}/v2/pg/one/manifests/e`, { method: 'DELETE' });
  assert.equal(r.status, 202);
  r = await fetch(`${url}/v2/pg/one/manifests/e`);
  assert.equal(r.status, 404);
  await r.arrayBuffer();
  const orphan = randomBytes(64);
  await upload('pg/three', orphan);
  const res = await garbageCollect(join(dir, 'data'), { dryRun: true });
  assert.ok(res.deleted.includes(sha(orphan)), 'gc marks an unreferenced blob');
  assert.ok(!res.deleted.includes(sha(layer)), 'gc keeps referenced layers');
  assert.ok(!res.deleted.includes(sha(m)), 'gc keeps manifests');
  r = await fetch(`${url}/v2/pg/one/manifests/${sha(art)}`, { method: 'DELETE' });
  assert.equal(r.status, 202);
  r = await fetch(`${url}/v2/pg/one/referrers/${sha(m)}`);
  assert.deepEqual(((await r.json()) as { manifests: unknown[] }).manifests, [], 'deleted referrers disappear');
});

test('malformed requests never crash the server', async () => {
  const raw = (text: string) =>
    new Promise<string>((resolve) => {
      const s = connect(Number(new URL(url).port), '127.0.0.1', () => s.write(text));
      s.setTimeout(5000, () => s.destroy());
      let out = '';
      s.on('data', (c) => {
        out += c;
      });
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
  const cases = [
    'GET /v2/%zz/tags/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'GET /v2/a/blobs/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'GARBAGE\r\n\r\n',
    'GET /v2/a/tags/list?n=-5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    `GET /v2/${'a/'.repeat(300)}b/tags/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    'PATCH /v2/a/blobs/uploads/not-a-uuid HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
    'PUT /v2/a/manifests/t HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{',
    'POST /v2/a/blobs/uploads/?digest=sha256:abc HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx',
    'POST /v2/a/blobs/uploads/?mount=sha256:zz&from=../../etc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'GET /v2/a/referrers/notadigest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'GET /auth/token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'DELETE /v2/_catalog HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20000)}\r\nConnection: close\r\n\r\n`,
  ];
  for (const c of cases) {
    const out = await raw(c);
    assert.match(out, /^HTTP\/1\.1 [45]\d\d|^HTTP\/1\.1 200/, `answered ${JSON.stringify(c.slice(0, 40))}`);
  }
  let r = await fetch(`${url}/v2/a/blobs/uploads/`, { method: 'POST' });
  const loc = r.headers.get('location')!;
  r = await fetch(loc, { method: 'PATCH', body: 'abc', headers: { 'Content-Range': 'garbage' } });
  assert.equal((await errCode(r)).code, 'RANGE_INVALID');
  r = await fetch(loc, { method: 'PUT' });
  assert.equal((await errCode(r)).code, 'DIGEST_INVALID', 'PUT without ?digest= names the missing digest');
  await fetch(loc, { method: 'DELETE' });
  assert.equal((await fetch(`${url}/v2/`)).status, 200, 'still serving');
});
