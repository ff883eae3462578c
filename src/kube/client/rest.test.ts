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

test('over the socket: answers with a length, chunked, empty, closing and failing; connections reused; a query and a body sent as Node would', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-rest-'));
  const sock = join(dir, 'api.sock');
  const sockets = new Set<unknown>();
  const got: { method?: string; url?: string; type?: string; length?: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({
        method: req.method,
        url: req.url,
        type: req.headers['content-type'],
        length: req.headers['content-length'],
        body,
      });
      const big = JSON.stringify({ items: Array.from({ length: 2000 }, (_, i) => ({ name: `n-${i}` })) });
      if (req.url === '/chunked') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(big.slice(0, 10_000));
        setTimeout(() => res.end(big.slice(10_000)), 5);
      } else if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
      } else if (req.url === '/close') {
        res.writeHead(200, { 'Content-Type': 'application/json', Connection: 'close' });
        res.end('{"closing":true}');
      } else if (req.url === '/missing') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'pods "x" not found', code: 404 }));
      } else {
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(big);
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const c = new KubeClient({ socketPath: sock });
  try {
    const big = await c.request('POST', '/api/v1/namespaces/a/pods', {
      body: { metadata: { name: 'é' } },
      query: { dryRun: 'All', skip: undefined },
    });
    assert.equal(big.items.length, 2000);
    assert.deepEqual(got[0], {
      method: 'POST',
      url: '/api/v1/namespaces/a/pods?dryRun=All',
      type: 'application/json',
      length: String(Buffer.byteLength('{"metadata":{"name":"é"}}')),
      body: '{"metadata":{"name":"é"}}',
    });
    assert.equal((await c.request('GET', '/chunked')).items[1999].name, 'n-1999');
    assert.equal(await c.request('DELETE', '/empty'), undefined);
    assert.equal(got[2].length, '0');
    await assert.rejects(c.request('GET', '/missing'), (e: Error) => (e as { code?: string }).code === 'NotFound');
    // Four requests one after another: one connection.
    assert.equal(sockets.size, 1);
    assert.deepEqual(await c.request('GET', '/close'), { closing: true });
    // The server closed that one; the next request opens another and is answered.
    assert.equal(
      (await c.request('PATCH', '/x', { body: '{}', contentType: 'application/merge-patch+json' })).items.length,
      2000,
    );
    assert.equal(got.at(-1)?.type, 'application/merge-patch+json');
    assert.equal(sockets.size, 2);
    // Several at once: as many connections, all answered.
    const many = await Promise.all(Array.from({ length: 10 }, () => c.request('GET', '/chunked')));
    assert.ok(many.every((m) => m.items.length === 2000));
  } finally {
    c.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
