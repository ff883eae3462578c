// The lean HTTP/2 client (h2.ts) and its HPACK decoder against peers that are not ours: RFC 7541's
// own examples, and Node's HTTP/2 server (nghttp2: Huffman strings, a dynamic table, its own frame
// sizes and windows) answering as a gRPC server does — replies large enough to need window updates,
// a dynamic table that evicts, trailers-only errors, resets, deadlines, a server going away.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { H2CallError, H2Conn, type H2Reply } from './h2.js';
import { HpackDecoder, encodeHeaders } from './hpack.js';

test('HPACK: the RFC 7541 C.4 requests (Huffman, dynamic table across blocks)', () => {
  const d = new HpackDecoder();
  const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
  const base = [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ];
  assert.deepEqual(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), base);
  assert.deepEqual(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf')), [...base, ['cache-control', 'no-cache']]);
  assert.deepEqual(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ]);
  // Our own encoding decodes to what went in.
  const fields: [string, string][] = [
    [':method', 'POST'],
    [':path', '/etcdserverpb.KV/Txn'],
    ['te', 'trailers'],
    ['token', 'x'.repeat(300)],
  ];
  assert.deepEqual(new HpackDecoder().decode(encodeHeaders(fields)), fields);
  assert.throws(() => new HpackDecoder().decode(hex('be')), /out of range/);
});

let server: http2.Http2Server;
let port = 0;
const sessions = new Set<http2.ServerHttp2Session>();
const received: Buffer[] = [];
/** The RST_STREAM code the '/hold' stream was closed with (the cancel test). */
let holdRst: number | undefined;

before(async () => {
  server = http2.createServer();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined); // (the reset test's own stream)
    const path = String(headers[':path']);
    if (path.startsWith('/stream/') || path === '/hold') {
      // A streaming call (the request side stays open): answers its first message at once.
      stream.once('data', (first: Buffer) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        if (path === '/hold') {
          stream.on('close', () => (holdRst = stream.rstCode));
          stream.write(first);
          return;
        }
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        for (let i = 0; i < Number(path.split('/')[2]); i++) stream.write(first);
        stream.end();
      });
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push(body);
      const what = String(headers[':path']).slice(1);
      if (what === 'silent') return; // never answers
      if (what === 'reset') {
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      if (what === 'error') {
        stream.respond(
          { ':status': 200, 'grpc-status': '9', 'grpc-message': encodeURIComponent('revision compacted ✓') },
          { endStream: true },
        );
        return;
      }
      // Echo: the request's message `n` times, with a header that changes every time (the table evicts).
      const n = Number(what.split('/')[1] ?? 1);
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'x-n': `${Math.random()}`.repeat(20) },
        {
          waitForTrailers: true,
        },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
      stream.end(Buffer.concat(Array.from({ length: n }, () => body)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  for (const s of sessions) s.destroy();
  await new Promise((r) => server.close(r));
});

// Small receive windows, so a reply of a few hundred KB needs both kinds of window update.
const conn = () =>
  new H2Conn(
    { host: '127.0.0.1', port, connectTimeoutMs: 30_000, windows: { stream: 100_000, conn: 300_000 } },
    () => undefined,
  );
// (the deadline is what a correct exchange never reaches, even on a starved machine; the deadline
// test sets its own)
const call = (c: H2Conn, path: string, body: Buffer, timeoutMs = 30_000): Promise<H2Reply> =>
  c.call(H2Conn.headers(path, `127.0.0.1:${port}`, false, timeoutMs), body, timeoutMs);

test('h2: concurrent calls, replies across many frames and window updates, an evicting dynamic table', async () => {
  const c = conn();
  try {
    const body = (i: number) => Buffer.alloc(1000 + i, i % 251);
    // 200 calls at once, every reply ~2-2.5 KB (~440 KB in all: above the connection window); then
    // one 2 MB reply (above the stream window and the connection window many times over).
    const small = await Promise.all(Array.from({ length: 200 }, (_, i) => call(c, '/echo/2', body(i))));
    small.forEach((r, i) => {
      assert.equal(r.httpStatus, 200);
      assert.equal(r.status, 0);
      assert.equal(r.message, 'ok');
      assert.deepEqual(r.body, Buffer.concat([body(i), body(i)]));
    });
    const big = await call(c, '/echo/100', Buffer.alloc(20_000, 7));
    assert.equal(big.body.length, 2_000_000);
    assert.ok(big.body.every((b) => b === 7));
    // A request of several DATA frames (the peer's 16 KB frame size) arrives whole.
    const large = Buffer.alloc(60_000, 3);
    assert.deepEqual((await call(c, '/echo/1', large)).body, large);
    assert.deepEqual(received.at(-1), large);
    assert.ok(c.fits(60_000));
    assert.ok(!c.fits(10 << 20), 'a body above the stream window goes elsewhere');
  } finally {
    c.close();
  }
});

test('h2: trailers-only errors, resets, deadlines', async () => {
  const c = conn();
  try {
    const e = await call(c, '/error', Buffer.alloc(5));
    assert.equal(e.status, 9);
    assert.equal(e.message, 'revision compacted ✓');
    await assert.rejects(call(c, '/reset', Buffer.alloc(5)), (err: H2CallError) => err.code === 14);
    const t0 = Date.now();
    await assert.rejects(call(c, '/silent', Buffer.alloc(5), 400), (err: H2CallError) => err.code === 4);
    assert.ok(Date.now() - t0 < 3000);
    // The connection still works after all that.
    assert.equal((await call(c, '/echo/1', Buffer.from('after'))).body.toString(), 'after');
  } finally {
    c.close();
  }
});

test('h2: a server going away fails the calls in flight with Unavailable; a new connection works', async () => {
  let gone = 0;
  const c = new H2Conn({ host: '127.0.0.1', port, connectTimeoutMs: 30_000 }, () => gone++);
  const n0 = received.length;
  const pending = call(c, '/silent', Buffer.alloc(5), 10_000);
  while (received.length === n0) await new Promise((r) => setTimeout(r, 10));
  for (const s of sessions) s.destroy();
  await assert.rejects(pending, (err: H2CallError) => err.code === 14);
  assert.ok(gone >= 1);
  assert.ok(!c.usable);
  await assert.rejects(call(c, '/echo/1', Buffer.alloc(5)), (err: H2CallError) => err.code === 14);
  const c2 = conn();
  assert.equal((await call(c2, '/echo/1', Buffer.from('again'))).body.toString(), 'again');
  c2.close();
  // Nothing listening: the call fails with Unavailable, not a hang.
  const dead = new H2Conn({ host: '127.0.0.1', port: 1, connectTimeoutMs: 2000 }, () => undefined);
  await assert.rejects(call(dead, '/echo/1', Buffer.alloc(5)), (err: H2CallError) => err.code === 14);
});

test('h2: a streaming call gets its DATA as it arrives (across window updates) and ends with the trailers; cancel resets it', async () => {
  const c = conn();
  try {
    // (one DATA frame: the server echoes its first 'data' chunk)
    const msg = Buffer.alloc(16_000, 5);
    const got: Buffer[] = [];
    // 40 × 16 KB back: above the stream (100 KB) and connection (300 KB) windows of conn()
    const s = c.open(H2Conn.headers('/stream/40', `127.0.0.1:${port}`, false, 30_000), msg, (p) =>
      got.push(Buffer.from(p)),
    );
    const r = await s.done;
    assert.equal(r.status, 0);
    assert.ok(got.length >= 40, `${got.length} payloads`);
    assert.deepEqual(Buffer.concat(got), Buffer.concat(Array.from({ length: 40 }, () => msg)));
    // Cancel: the stream is reset with CANCEL, its promise rejects with CANCELLED, the connection stays.
    const held: Buffer[] = [];
    const h = c.open(H2Conn.headers('/hold', `127.0.0.1:${port}`, false, 30_000), Buffer.from('held'), (p) =>
      held.push(Buffer.from(p)),
    );
    while (!held.length) await new Promise((res) => setTimeout(res, 10));
    assert.equal(held[0].toString(), 'held');
    h.cancel();
    await assert.rejects(h.done, (err: H2CallError) => err.code === 1);
    while (holdRst === undefined) await new Promise((res) => setTimeout(res, 10));
    assert.equal(holdRst, http2.constants.NGHTTP2_CANCEL);
    assert.equal((await call(c, '/echo/1', Buffer.from('still'))).body.toString(), 'still');
  } finally {
    c.close();
  }
});

test('h2: frames split at any byte across reads (a proxy re-chunks the replies at random sizes)', async () => {
  // Between the client and the server: every piece the server sends is passed on in random
  // slices of 1–40 bytes or 1–70 000 bytes, one per turn, so frame headers and payloads are cut
  // everywhere and a large read follows a split frame.
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return 1 + (seed % n);
  };
  const proxy = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    down.pipe(up);
    let queue = Buffer.alloc(0);
    let pumping = false;
    const pump = () => {
      if (!queue.length || down.destroyed) {
        pumping = false;
        return;
      }
      const n = Math.min(queue.length, rnd(4) === 1 ? rnd(70_000) : rnd(40));
      down.write(queue.subarray(0, n));
      queue = queue.subarray(n);
      setImmediate(pump);
    };
    up.on('data', (d: Buffer) => {
      queue = Buffer.concat([queue, d]);
      if (!pumping) {
        pumping = true;
        setImmediate(pump);
      }
    });
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
    up.on('close', () => down.end());
    down.on('close', () => up.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const c = new H2Conn(
    { host: '127.0.0.1', port: (proxy.address() as AddressInfo).port, connectTimeoutMs: 30_000 },
    () => undefined,
  );
  try {
    const body = (i: number) => Buffer.alloc(1 + ((i * 37) % 3000), i % 251);
    const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => call(c, `/echo/${1 + (i % 3)}`, body(i))));
    replies.forEach((r, i) => {
      assert.equal(r.status, 0);
      assert.equal(r.message, 'ok');
      assert.deepEqual(r.body, Buffer.concat(Array.from({ length: 1 + (i % 3) }, () => body(i))));
    });
    const big = await call(c, '/echo/30', Buffer.alloc(20_000, 9));
    assert.equal(big.body.length, 600_000);
    assert.ok(big.body.every((b) => b === 9));
  } finally {
    c.close();
    await new Promise((r) => proxy.close(r));
  }
});
