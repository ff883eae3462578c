// KubeClient over a unix socket: a read is sent again once when its connection is reset (a
// keep-alive socket the server dropped); a write is not (it may have been applied).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from './rest.js';

test('a GET is retried once after a connection reset; a POST is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-rest-'));
  const sock = join(dir, 'api.sock');
  let seen = 0;
  const server = http.createServer((req, res) => {
    seen++;
    if (seen % 2 === 1) {
      req.socket.destroy(); // reset before answering
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ ok: req.method }));
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const c = new KubeClient({ socketPath: sock });
  try {
    assert.deepEqual(await c.request('GET', '/api/v1/namespaces'), { ok: 'GET' });
    assert.equal(seen, 2);
    await assert.rejects(c.request('POST', '/api/v1/namespaces', { body: {} }), (e: Error) =>
      /socket hang up|ECONNRESET/.test(`${e.message} ${(e as { code?: string }).code}`),
    );
    assert.equal(seen, 3);
  } finally {
    c.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resetConnections ends open streams and kept-alive sockets; later requests use new connections', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-rest-'));
  const sock = join(dir, 'api.sock');
  const sockets = new Set<unknown>();
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (req.url?.includes('watch'))
      res.write('{}\n'); // a stream that never ends
    else res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const c = new KubeClient({ socketPath: sock });
  try {
    // the stream holds one socket; /a another, kept alive in the pool afterwards
    const stream = await c.stream('/a?watch=1');
    await c.request('GET', '/a');
    const ended = new Promise<void>((r) => {
      stream.on('close', () => r());
      stream.resume();
    });
    c.resetConnections();
    await ended;
    assert.deepEqual(await c.request('GET', '/b'), { ok: true });
    assert.equal(sockets.size, 3, `sockets: ${sockets.size} (the kept-alive one of /a must not serve /b)`);
  } finally {
    c.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a request with timeoutMs settles when the server never answers, or stops mid-answer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-rest-'));
  const sock = join(dir, 'api.sock');
  const server = http.createServer((req, res) => {
    if (req.url === '/silent') return; // never answers
    if (req.url === '/half') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 100 });
      res.write('{"half":'); // and never the rest
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const c = new KubeClient({ socketPath: sock });
  try {
    for (const path of ['/silent', '/half']) {
      const t0 = Date.now();
      await assert.rejects(
        c.request('GET', path, { timeoutMs: 300 }),
        (e: Error & { code?: string; reason?: string }) => e.code === 'Unavailable' && e.reason === 'Timeout',
      );
      const took = Date.now() - t0;
      assert.ok(took >= 290 && took < 5_000, `${path} settled after ${took} ms`);
    }
    // The caller's own abort is still reported as such, not as a timeout.
    const ac = new AbortController();
    const p = c.request('GET', '/silent', { timeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, (e: Error & { reason?: string }) => e.reason !== 'Timeout');
    // A timely answer is unaffected.
    assert.deepEqual(await c.request('GET', '/ok', { timeoutMs: 5_000 }), { ok: true });
  } finally {
    c.close();
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A server on a fresh unix socket; `done` closes it and removes the directory. */
async function serve(handler: http.RequestListener) {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-rest-'));
  const sock = join(dir, 'api.sock');
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(sock, r));
  return {
    sock,
    server,
    done: () => {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('connections the server closes after each answer: reads go on at once, writes are sent once', async () => {
  const seen: string[] = [];
  const sockets = new Set<unknown>();
  let closed: Promise<void> = Promise.resolve();
  const s = await serve((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
      sockets.add(req.socket);
      closed = new Promise((r) => req.socket.once('close', () => r()));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // no `Connection: close`: the client learns it only when the socket ends
      res.end(JSON.stringify({ ok: true }), () => req.socket.end());
    });
  });
  const c = new KubeClient({ socketPath: s.sock });
  try {
    // back to back: a read may go out on the connection being closed, and is then sent again
    for (let i = 0; i < 20; i++) assert.deepEqual(await c.request('GET', `/r/${i}`), { ok: true });
    for (let i = 0; i < 20; i++) assert.ok(seen.includes(`GET /r/${i} `), `GET /r/${i} reached the server`);
    // once the server's socket is fully closed, the pool no longer holds it: each write goes on a
    // fresh connection and reaches the server exactly once
    const before = sockets.size;
    for (let i = 0; i < 10; i++) {
      await closed;
      assert.deepEqual(await c.request('POST', `/w/${i}`, { body: { i } }), { ok: true });
    }
    const posts = seen.filter((l) => l.startsWith('POST'));
    assert.equal(posts.length, 10, posts.join('\n'));
    assert.equal(new Set(posts).size, 10, 'no write reached the server twice');
    assert.equal(sockets.size - before, 10, 'a closed connection is never reused');
  } finally {
    c.close();
    s.done();
  }
});

test('an aborted request rejects before and during its answer; the client goes on working', async () => {
  const s = await serve((req, res) => {
    if (req.url === '/silent') return;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 1000 });
    if (req.url === '/half') res.write('{"half":');
    else res.end(JSON.stringify({ ok: true }).padEnd(1000, ' '));
  });
  const c = new KubeClient({ socketPath: s.sock });
  try {
    for (const path of ['/silent', '/half']) {
      const ac = new AbortController();
      const p = c.request('GET', path, { signal: ac.signal });
      setTimeout(() => ac.abort(), 50);
      const t0 = Date.now();
      await assert.rejects(p, (e: Error) => e.name === 'AbortError' || /abort/i.test(e.message));
      assert.ok(Date.now() - t0 < 5_000);
    }
    const done = new AbortController();
    done.abort();
    await assert.rejects(c.request('GET', '/ok', { signal: done.signal }));
    assert.deepEqual(await c.request('GET', '/ok'), { ok: true });
  } finally {
    c.close();
    s.done();
  }
});

test('statusError mapping through request() and stream(); a closed client refuses', async () => {
  const s = await serve((req, res) => {
    const status = Number(req.url?.slice(1).split('?')[0]);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    if (status === 409)
      res.end(JSON.stringify({ kind: 'Status', reason: 'AlreadyExists', message: 'pods "a" already exists' }));
    else if (status === 410) res.end('not json');
    else res.end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'pods "b" not found' }));
  });
  const c = new KubeClient({ socketPath: s.sock });
  try {
    await assert.rejects(c.request('POST', '/409', { body: {} }), (e: Error & { code?: string }) => {
      return e.code === 'AlreadyExists' && e.message === 'pods "a" already exists';
    });
    await assert.rejects(c.request('GET', '/404'), (e: Error & { code?: string }) => e.code === 'NotFound');
    await assert.rejects(
      c.stream('/410', { query: { watch: 1, resourceVersion: '5', skipped: undefined } }),
      (e: Error & { code?: string; reason?: string }) => e.code === 'FailedPrecondition' && e.reason === 'Expired',
    );
    c.close();
    await assert.rejects(c.request('GET', '/404'), (e: Error & { code?: string }) => e.code === 'Unavailable');
  } finally {
    c.close();
    s.done();
  }
});

test('query strings, headers and bodies as sent', async () => {
  let got: { url?: string; headers: http.IncomingHttpHeaders; body: string } | undefined;
  const sockets = new Set<unknown>();
  const s = await serve((req, res) => {
    sockets.add(req.socket);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got = { url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('');
    });
  });
  const c = new KubeClient({ socketPath: s.sock, userAgent: 'ua-test', token: 'tok' });
  try {
    assert.equal(
      await c.request('PATCH', '/p', { body: '{"a":"é"}', contentType: 'application/merge-patch+json' }),
      undefined,
    );
    assert.equal(got?.url, '/p');
    assert.equal(got?.headers['content-type'], 'application/merge-patch+json');
    assert.equal(got?.headers['content-length'], String(Buffer.byteLength('{"a":"é"}')));
    assert.equal(got?.headers['user-agent'], 'ua-test');
    assert.equal(got?.headers.authorization, 'Bearer tok');
    assert.equal(got?.headers.accept, 'application/json');
    assert.equal(got?.body, '{"a":"é"}');
    await c.request('GET', '/q', {
      query: { labelSelector: 'a=b,c!=d', limit: 5, x: undefined },
      accept: 'text/plain',
    });
    assert.equal(got?.url, '/q?labelSelector=a%3Db%2Cc%21%3Dd&limit=5');
    assert.equal(got?.headers.accept, 'text/plain');
    assert.equal(got?.headers['content-type'], undefined);
    await c.request('GET', '/q', { query: { x: undefined } });
    assert.equal(got?.url, '/q');
    assert.equal(got?.headers.connection, 'keep-alive');
    assert.equal(sockets.size, 1, 'one after another, the requests share one kept-alive connection');
  } finally {
    c.close();
    s.done();
  }
});
