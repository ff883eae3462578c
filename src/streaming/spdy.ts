// SPDY/3.1 framing, the server side of what kubelet's streaming server speaks with kubectl,
// crictl and critest (Go's moby/spdystream). Hand-written: the npm `spdy` package is an HTTP
// server on top of SPDY (it answers streams as HTTP requests, which these clients do not send)
// and is unmaintained; nothing else on npm parses bare SPDY/3.1 sessions.
//
// Scope, as spdystream uses the protocol: streams opened by the peer (SYN_STREAM with headers,
// answered with SYN_REPLY), DATA with FIN half-close, RST_STREAM, PING echo, GOAWAY. No flow
// control: spdystream neither sends nor honours WINDOW_UPDATE, so windows are not enforced here
// either (received WINDOW_UPDATE and SETTINGS frames are ignored).
//
// Header blocks: the peer's are one zlib stream with the SPDY dictionary, flushed per block; they
// are inflated by re-inflating the blocks received so far (zlib has no synchronous streaming API in
// Node, blocks are tiny and few per session, and the total is capped). Ours are written as stored
// (uncompressed) deflate blocks in one zlib stream, each block list ending as a sync flush does.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { constants, inflateSync } from 'node:zlib';
import { SPDY_DICTIONARY } from './spdy-dictionary.js';
import { invalidArgument } from '../common/index.js';

const VERSION = 3;
const enum T {
  SYN_STREAM = 1,
  SYN_REPLY = 2,
  RST_STREAM = 3,
  SETTINGS = 4,
  PING = 6,
  GOAWAY = 7,
  HEADERS = 8,
  WINDOW_UPDATE = 9,
}
const FLAG_FIN = 0x01;
const MAX_FRAME = 1 << 24;
const MAX_DATA = 32 * 1024;
const MAX_HEADER_HISTORY = 1 << 20;
export const RST_CANCEL = 5;
export const RST_PROTOCOL_ERROR = 1;

export type SpdyHeaders = Record<string, string>;

export class SpdyStream extends Duplex {
  replied = false;
  private localFin = false;
  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
  }
  /** SYN_REPLY with (usually no) headers. */
  reply(headers: SpdyHeaders = {}): void {
    if (this.replied) return;
    this.replied = true;
    this.session.sendControl(T.SYN_REPLY, 0, Buffer.concat([u32(this.id), this.session.encodeHeaders(headers)]));
  }
  override _read(): void {
    /* data is pushed as frames arrive */
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.localFin || this.session.closed) return cb();
    for (let off = 0; off < chunk.length; off += MAX_DATA)
      this.session.sendData(this.id, 0, chunk.subarray(off, off + MAX_DATA));
    cb();
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.finish();
    cb();
  }
  /** Our half-close (an empty DATA frame with FIN). */
  finish(): void {
    if (this.localFin) return;
    this.localFin = true;
    if (!this.replied) this.reply();
    if (!this.session.closed) this.session.sendData(this.id, FLAG_FIN, Buffer.alloc(0));
    this.session.maybeForget(this);
  }
  get finished(): boolean {
    return this.localFin;
  }
  reset(status = RST_CANCEL): void {
    if (!this.session.closed) this.session.sendControl(T.RST_STREAM, 0, Buffer.concat([u32(this.id), u32(status)]));
    this.localFin = true;
    this.push(null);
    this.session.forget(this.id);
  }
  remoteEnded = false;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export class SpdySession extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private inHistory: Buffer[] = [];
  private inHistoryLen = 0;
  private inDecoded = 0;
  private outStarted = false;
  closed = false;

  constructor(private readonly conn: Duplex) {
    super();
    conn.on('data', (d: Buffer) => this.onData(d));
    conn.on('end', () => this.shutdown());
    conn.on('close', () => this.shutdown());
    conn.on('error', () => this.shutdown());
  }

  /** Ends the session: GOAWAY, then the connection. */
  close(): void {
    if (this.closed) return;
    this.sendControl(T.GOAWAY, 0, Buffer.concat([u32(0), u32(0)]));
    this.conn.end();
    this.shutdown();
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) {
      if (!s.remoteEnded) s.push(null);
      s.destroy();
    }
    this.streams.clear();
    this.emit('close');
  }

  forget(id: number): void {
    this.streams.delete(id);
  }
  maybeForget(s: SpdyStream): void {
    if (s.remoteEnded && s.finished) this.streams.delete(s.id);
  }

  sendControl(type: number, flags: number, payload: Buffer): void {
    if (this.closed) return;
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8000 | VERSION, 0);
    h.writeUInt16BE(type, 2);
    h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
    this.conn.write(Buffer.concat([h, payload]));
  }

  sendData(id: number, flags: number, payload: Buffer): void {
    if (this.closed) return;
    const h = Buffer.alloc(8);
    h.writeUInt32BE(id & 0x7fffffff, 0);
    h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
    this.conn.write(payload.length ? Buffer.concat([h, payload]) : h);
  }

  /** A header block as stored deflate blocks of our zlib stream (the first one carries the header). */
  encodeHeaders(headers: SpdyHeaders): Buffer {
    const entries = Object.entries(headers);
    const parts: Buffer[] = [u32(entries.length)];
    for (const [k, v] of entries) {
      const name = Buffer.from(k.toLowerCase(), 'utf8');
      const value = Buffer.from(v, 'utf8');
      parts.push(u32(name.length), name, u32(value.length), value);
    }
    const raw = Buffer.concat(parts);
    const out: Buffer[] = [];
    if (!this.outStarted) {
      this.outStarted = true;
      out.push(Buffer.from([0x78, 0x01])); // zlib header: deflate, 32K window, no preset dictionary
    }
    for (let off = 0; off === 0 || off < raw.length; off += 0xffff) {
      const part = raw.subarray(off, off + 0xffff);
      const h = Buffer.alloc(5);
      h[0] = 0; // BFINAL=0, BTYPE=00 (stored); the block starts byte-aligned
      h.writeUInt16LE(part.length, 1);
      h.writeUInt16LE(~part.length & 0xffff, 3);
      out.push(h, part);
    }
    // An empty stored block, as a zlib sync flush ends with: it makes an inflater hand out what it
    // has without reading past this frame (Go's flate returns data only at such a boundary).
    out.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(out);
  }

  private decodeHeaders(block: Buffer): SpdyHeaders {
    this.inHistory.push(block);
    this.inHistoryLen += block.length;
    if (this.inHistoryLen > MAX_HEADER_HISTORY) throw invalidArgument('too much header data in one session');
    const all = inflateSync(Buffer.concat(this.inHistory), {
      dictionary: SPDY_DICTIONARY,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    const raw = all.subarray(this.inDecoded);
    this.inDecoded = all.length;
    const out: SpdyHeaders = {};
    let p = 0;
    const n = raw.readUInt32BE(p);
    p += 4;
    for (let i = 0; i < n; i++) {
      const kl = raw.readUInt32BE(p);
      const k = raw.subarray(p + 4, p + 4 + kl).toString('utf8');
      p += 4 + kl;
      const vl = raw.readUInt32BE(p);
      const v = raw.subarray(p + 4, p + 4 + vl).toString('utf8');
      p += 4 + vl;
      out[k.toLowerCase()] = v.split('\0')[0];
    }
    return out;
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    try {
      while (this.buf.length >= 8) {
        const len = this.buf.readUInt32BE(4) & 0xffffff;
        if (len >= MAX_FRAME) throw invalidArgument('frame too large');
        if (this.buf.length < 8 + len) break;
        const head = this.buf.subarray(0, 8);
        const payload = this.buf.subarray(8, 8 + len);
        this.buf = this.buf.subarray(8 + len);
        const flags = head[4];
        if (head[0] & 0x80) this.onControl(head.readUInt16BE(2), flags, payload, head.readUInt16BE(0) & 0x7fff);
        else this.onDataFrame(head.readUInt32BE(0) & 0x7fffffff, flags, payload);
      }
    } catch (e) {
      this.emit('protocolError', e);
      this.sendControl(T.GOAWAY, 0, Buffer.concat([u32(0), u32(RST_PROTOCOL_ERROR)]));
      this.conn.destroy();
      this.shutdown();
    }
  }

  private onControl(type: number, flags: number, p: Buffer, version: number): void {
    if (version !== VERSION) throw invalidArgument(`unsupported SPDY version ${version}`);
    switch (type) {
      case T.SYN_STREAM: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = this.decodeHeaders(p.subarray(10));
        const s = new SpdyStream(this, id, headers);
        this.streams.set(id, s);
        if (flags & FLAG_FIN) {
          s.remoteEnded = true;
          s.push(null);
        }
        this.emit('stream', s);
        return;
      }
      case T.HEADERS: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        this.decodeHeaders(p.subarray(4));
        if (flags & FLAG_FIN) this.remoteFin(id);
        return;
      }
      case T.RST_STREAM: {
        const s = this.streams.get(p.readUInt32BE(0) & 0x7fffffff);
        if (s) {
          s.remoteEnded = true;
          s.push(null);
          s.destroy();
          this.streams.delete(s.id);
        }
        return;
      }
      case T.PING:
        this.sendControl(T.PING, 0, p.subarray(0, 4));
        return;
      case T.GOAWAY:
        this.conn.end();
        this.shutdown();
        return;
      case T.SYN_REPLY:
      case T.SETTINGS:
      case T.WINDOW_UPDATE:
      default:
        return;
    }
  }

  private remoteFin(id: number): void {
    const s = this.streams.get(id);
    if (!s || s.remoteEnded) return;
    s.remoteEnded = true;
    s.push(null);
    this.maybeForget(s);
  }

  private onDataFrame(id: number, flags: number, payload: Buffer): void {
    const s = this.streams.get(id);
    if (!s) return;
    if (payload.length && !s.remoteEnded) s.push(Buffer.from(payload));
    if (flags & FLAG_FIN) this.remoteFin(id);
  }
}
