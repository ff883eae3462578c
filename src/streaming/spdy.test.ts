// SPDY/3.1 framing in-process (no sockets): header blocks from a real zlib deflater with the SPDY
// dictionary (one zlib stream across frames, sync-flushed, as Go's spdystream writes them) are read,
// replies and data frames decode with a real inflater, FIN half-closes, PING is echoed; and the
// status JSON and protocol negotiation of the streaming server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { constants, createDeflate, inflateSync } from 'node:zlib';
import { SpdySession, type SpdyStream } from './spdy.js';
import { SPDY_DICTIONARY } from './spdy-dictionary.js';
import { statusJson } from './remotecommand.js';
import { negotiate } from './server.js';

function adler32(b: Buffer): number {
  let a = 1;
  let c = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    c = (c + a) % 65521;
  }
  return ((c << 16) | a) >>> 0;
}

test('the SPDY/3 header dictionary is the published one (length and Adler-32)', () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  assert.equal(adler32(SPDY_DICTIONARY), 0xe3c6a7c2);
});

/** A client end: what it writes reaches the session; what the session writes is collected. */
function pair(): { server: Duplex; toServer: PassThrough; fromServer: Buffer[] } {
  const toServer = new PassThrough();
  const fromServer: Buffer[] = [];
  const server = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      fromServer.push(chunk);
      cb();
    },
  });
  toServer.on('data', (d: Buffer) => server.push(d));
  return { server, toServer, fromServer };
}

function headerBlock(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(Object.keys(h).length));
  for (const [k, v] of Object.entries(h)) parts.push(u32(k.length), Buffer.from(k), u32(v.length), Buffer.from(v));
  return Buffer.concat(parts);
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE((flags << 24) | payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** Frames written by the session, parsed. */
function frames(bufs: Buffer[]): { control: boolean; type: number; id: number; flags: number; payload: Buffer }[] {
  let b = Buffer.concat(bufs);
  const out = [];
  while (b.length >= 8) {
    const len = b.readUInt32BE(4) & 0xffffff;
    const c = (b[0] & 0x80) !== 0;
    out.push({
      control: c,
      type: c ? b.readUInt16BE(2) : 0,
      id: c ? b.readUInt32BE(8) & 0x7fffffff : b.readUInt32BE(0) & 0x7fffffff,
      flags: b[4],
      payload: b.subarray(8, 8 + len),
    });
    b = b.subarray(8 + len);
  }
  return out;
}

test('SYN_STREAM headers over one sync-flushed zlib stream; SYN_REPLY, DATA, FIN, PING', async () => {
  const { server, toServer, fromServer } = pair();
  const session = new SpdySession(server);
  const streams: SpdyStream[] = [];
  session.on('stream', (s: SpdyStream) => streams.push(s));
  const deflate = createDeflate({ dictionary: SPDY_DICTIONARY });
  const compress = (b: Buffer) =>
    new Promise<Buffer>((resolve) => {
      const out: Buffer[] = [];
      const on = (d: Buffer) => out.push(d);
      deflate.on('data', on);
      deflate.write(b);
      deflate.flush(constants.Z_SYNC_FLUSH, () => {
        deflate.off('data', on);
        resolve(Buffer.concat(out));
      });
    });
  const syn = async (id: number, h: Record<string, string>, flags = 0) => {
    const pre = Buffer.alloc(10);
    pre.writeUInt32BE(id, 0);
    toServer.write(control(1, flags, Buffer.concat([pre, await compress(headerBlock(h))])));
  };
  await syn(1, { streamtype: 'error' });
  await syn(3, { streamType: 'stdout', port: '80' });
  await syn(5, { streamtype: 'stdin' }, 0x01);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    streams.map((s) => [s.id, s.headers]),
    [
      [1, { streamtype: 'error' }],
      [3, { streamtype: 'stdout', port: '80' }],
      [5, { streamtype: 'stdin' }],
    ],
  );
  // replies: our header blocks form one zlib stream a real inflater reads
  for (const s of streams) s.reply({ ok: 'yes' });
  streams[1].write(Buffer.from('hello'));
  streams[1].end();
  await new Promise((r) => setImmediate(r));
  const f = frames(fromServer);
  const replies = f.filter((x) => x.control && x.type === 2);
  assert.deepEqual(
    replies.map((r) => r.id),
    [1, 3, 5],
  );
  const inflated = inflateSync(Buffer.concat(replies.map((r) => r.payload.subarray(4))), {
    dictionary: SPDY_DICTIONARY,
    finishFlush: constants.Z_SYNC_FLUSH,
  });
  assert.deepEqual(inflated, Buffer.concat([1, 2, 3].map(() => headerBlock({ ok: 'yes' }))));
  const data = f.filter((x) => !x.control && x.id === 3);
  assert.equal(Buffer.concat(data.map((d) => d.payload)).toString(), 'hello');
  assert.equal(data[data.length - 1].flags & 1, 1, 'FIN after end()');
  // the stdin stream was opened with FIN: its reader ends at once
  const ended = await new Promise<boolean>((resolve) => {
    streams[2].on('end', () => resolve(true));
    streams[2].resume();
  });
  assert.ok(ended);
  // client data on stream 1 reaches its reader; PING is echoed
  const got: Buffer[] = [];
  streams[0].on('data', (d: Buffer) => got.push(d));
  const d = Buffer.alloc(8 + 3);
  d.writeUInt32BE(1, 0);
  d.writeUInt32BE(3, 4);
  d.write('abc', 8);
  toServer.write(d);
  const ping = Buffer.alloc(4);
  ping.writeUInt32BE(7);
  toServer.write(control(6, 0, ping));
  await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(got).toString(), 'abc');
  assert.ok(frames(fromServer).some((x) => x.control && x.type === 6 && x.payload.readUInt32BE(0) === 7));
  session.close();
});

test('a malformed frame ends the session with GOAWAY instead of throwing', async () => {
  const { server, toServer, fromServer } = pair();
  const session = new SpdySession(server);
  let error: Error | undefined;
  session.on('protocolError', (e: Error) => (error = e));
  toServer.write(control(1, 0, Buffer.concat([Buffer.alloc(10), Buffer.from('not zlib at all')])));
  await new Promise((r) => setImmediate(r));
  assert.ok(error);
  assert.ok(frames(fromServer).some((x) => x.control && x.type === 7));
  assert.ok(session.closed);
});

test('exit status as kubelet reports it (metav1.Status), protocol negotiation', () => {
  assert.deepEqual(JSON.parse(statusJson({ exitCode: 0 })), { metadata: {}, status: 'Success' });
  const s = JSON.parse(statusJson({ exitCode: 3 }, ['sh', '-c', 'exit 3']));
  assert.equal(s.status, 'Failure');
  assert.equal(s.reason, 'NonZeroExitCode');
  assert.deepEqual(s.details.causes, [{ reason: 'ExitCode', message: '3' }]);
  assert.match(s.message, /error executing command \[sh -c exit 3\], exit code 3/);
  assert.equal(
    negotiate(['v4.channel.k8s.io', 'v3.channel.k8s.io'], ['v3.channel.k8s.io', 'v4.channel.k8s.io']),
    'v4.channel.k8s.io',
  );
  assert.equal(negotiate([], ['x']), '');
  assert.equal(negotiate(['v9'], ['x']), undefined);
});
