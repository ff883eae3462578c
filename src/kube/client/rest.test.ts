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
