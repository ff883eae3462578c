// A lean HTTP/2 client connection for etcd's unary gRPC calls, hand-written on a TCP (or TLS)
// socket. Why not Node's `http2` (which kv.ts keeps for requests too large for this path): per
// call it builds a Duplex stream object, an AsyncResource bind (with a deprecation wrapper), header
// objects in and out and several C++→JS callbacks and events; in a CPU profile of the API server at
// 500-1000 updates/s on etcd that was ~15 % of the busy samples in JS plus most of a 3-4x larger
// "(program)" share (nghttp2 and the stream machinery), and the main reason the API server spent
// ~1.4-1.7x the CPU per update on etcd that it spends on SQLite (docs/storage.md, issue 15).
// Here a call is: a header block encoded once per method and reused, one DATA frame, and a plain
// object per stream; the calls made in one event-loop turn go out in one write; replies are parsed
// from the socket's chunks without copies.
// Streaming calls (etcd's Watch) use the same connection: `open` sends the first message without
// END_STREAM and hands each DATA payload to a callback as it arrives; `cancel` resets the stream.
// Scope: what a gRPC unary client needs — SETTINGS, PING (answered), GOAWAY, RST_STREAM,
// WINDOW_UPDATE (connection-level send window honoured; receive windows replenished), HEADERS with
// CONTINUATION and padding, DATA. A request body must fit the peer's initial stream window (kv.ts
// checks `fits` and falls back to Node's http2 otherwise), so no stream ever waits for a window.
import net from 'node:net';
import tls from 'node:tls';
import { FrameReader, MAX_STREAM_ID, frameHeader } from './h2-frames.js';
import { HpackDecoder, encodeHeaders } from './hpack.js';

export interface H2Reply {
  /** grpc-status (undefined: the stream ended without one). */
  status?: number;
  message: string;
  /** The DATA of the reply, concatenated (the framed gRPC message). */
  body: Buffer;
  /** :status of the response headers. */
  httpStatus: number;
}

/** A failure of the connection or the stream (a gRPC status code and a message). */
export class H2CallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(details);
  }
}

export interface H2Options {
  host: string;
  port: number;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  connectTimeoutMs: number;
  /** Our receive windows: per stream (SETTINGS_INITIAL_WINDOW_SIZE, default 16 MiB) and per connection (1 GiB). */
  windows?: { stream: number; conn: number };
}

interface Stream {
  id: number;
  deadline: number;
  httpStatus: number;
  status?: number;
  message: string;
  chunks: Buffer[];
  recvUnacked: number;
  /** A streaming call: DATA payloads go here as they arrive (not collected into the reply). */
  onData?: (payload: Buffer) => void;
  resolve: (r: H2Reply) => void;
  reject: (e: H2CallError) => void;
}

interface Pending {
  headers: Buffer;
  frame: Buffer;
  stream: Stream;
  /** END_STREAM on the request's DATA (a unary call); a streaming call keeps its side open. */
  endStream: boolean;
}

/** A streaming call in progress. */
export interface H2StreamCall {
  /** Settles with the trailers when the server ends the stream; rejects on a reset or a broken connection. */
  done: Promise<H2Reply>;
  /** Resets the stream (CANCEL); `done` rejects with CANCELLED. */
  cancel(): void;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
// HTTP/2 error codes of RST_STREAM / GOAWAY → gRPC status (as gRPC clients map them).
const RST_CODES: Record<number, number> = { 7: 14, 8: 1, 11: 8, 12: 7 };

export class H2Conn {
  private readonly socket: net.Socket;
  private readonly streams = new Map<number, Stream>();
  private readonly queue: Pending[] = [];
  private out: Buffer[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private readonly reader = new FrameReader((type, flags, id, p) => {
    this.frame(type, flags, id, p);
    return !this.closed;
  });
  private readonly hpack = new HpackDecoder();
  /** A header block in progress (HEADERS without END_HEADERS, then CONTINUATION). */
  private partial?: { id: number; endStream: boolean; parts: Buffer[] };
  private connSendWindow = 65535;
  private connRecvUnacked = 0;
  private peerStreamWindow = 65535;
  private peerMaxFrame = 16384;
  private peerMaxStreams = Number.POSITIVE_INFINITY;
  private connected = false;
  private inflight = 0;
  private closed = false;
  private goingAway = false;
  private readonly sweep: NodeJS.Timeout;
  private readonly streamWindow: number;
  private readonly connWindow: number;

  constructor(
    opts: H2Options,
    private readonly onGone: (c: H2Conn) => void,
  ) {
    this.streamWindow = opts.windows?.stream ?? 16 << 20;
    this.connWindow = opts.windows?.conn ?? 1 << 30;
    const t = opts.tls;
    this.socket = t
      ? tls.connect({
          host: opts.host,
          port: opts.port,
          ca: t.ca,
          cert: t.cert,
          key: t.key,
          ALPNProtocols: ['h2'],
          ...(net.isIP(opts.host) ? {} : { servername: opts.host }),
        })
      : net.connect({ host: opts.host, port: opts.port });
    const s = this.socket;
    s.setNoDelay(true);
    s.on(t ? 'secureConnect' : 'connect', () => {
      if (t && (s as tls.TLSSocket).alpnProtocol !== 'h2') {
        this.fail(14, 'etcd did not agree to HTTP/2 (ALPN)');
        return;
      }
      this.connected = true;
      s.setKeepAlive(true, 10_000); // a member that vanished without closing is noticed
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (e) => this.fail(14, e.message));
    s.on('close', () => this.fail(14, 'connection to etcd closed'));
    s.unref(); // (referenced while calls are in flight: see call())
    // SETTINGS: no push, a large stream window; then open the connection window wide.
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(2, 0); // ENABLE_PUSH = 0
    settings.writeUInt16BE(4, 6); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(this.streamWindow, 8);
    const wu = Buffer.allocUnsafe(4);
    wu.writeUInt32BE(this.connWindow - 65535, 0);
    this.push(PREFACE, frameHeader(12, 4, 0, 0), settings, frameHeader(4, 8, 0, 0), wu);
    const started = Date.now();
    this.sweep = setInterval(() => {
      const now = Date.now();
      if (!this.connected && now - started > opts.connectTimeoutMs) {
        this.fail(14, `no connection to etcd at ${opts.host}:${opts.port} within ${opts.connectTimeoutMs} ms`);
        return;
      }
      for (const st of this.streams.values()) if (now >= st.deadline) this.cancel(st, 4, 'Deadline exceeded');
      for (let i = this.queue.length - 1; i >= 0; i--) {
        const p = this.queue[i];
        if (now >= p.stream.deadline) {
          this.queue.splice(i, 1);
          p.stream.reject(new H2CallError(4, 'Deadline exceeded'));
        }
      }
    }, 250);
    this.sweep.unref();
  }

  /** Whether new calls may start here (not closed, not going away, stream ids left). */
  get usable(): boolean {
    return !this.closed && !this.goingAway && this.nextId < MAX_STREAM_ID - 2 * (this.queue.length + 1);
  }

  /** Whether a request frame of this size can be sent without waiting on a stream window. */
  fits(len: number): boolean {
    return len <= this.peerStreamWindow && len <= 4 << 20;
  }

  /** The header block of a call (built once per path/authority/token by the caller). */
  static headers(path: string, authority: string, secure: boolean, timeoutMs: number, token?: string): Buffer {
    const f: [string, string][] = [
      [':method', 'POST'],
      [':scheme', secure ? 'https' : 'http'],
      [':path', path],
      [':authority', authority],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-timeout', `${timeoutMs}m`],
    ];
    if (token) f.push(['token', token]);
    return encodeHeaders(f);
  }

  /** One unary call: the framed request message in, the reply out. */
  call(headers: Buffer, frame: Buffer, timeoutMs: number): Promise<H2Reply> {
    return this.start(headers, frame, Date.now() + timeoutMs, true).done;
  }

  /** A streaming call: `first` (a framed message) is sent at once, each DATA payload goes to onData. */
  open(headers: Buffer, first: Buffer, onData: (payload: Buffer) => void): H2StreamCall {
    const { done, stream } = this.start(headers, first, Number.POSITIVE_INFINITY, false, onData);
    return {
      done,
      cancel: () => {
        const i = this.queue.findIndex((p) => p.stream === stream);
        if (i >= 0) {
          this.queue.splice(i, 1);
          stream.reject(new H2CallError(1, 'Cancelled'));
        } else if (stream.id) this.cancel(stream, 1, 'Cancelled');
      },
    };
  }

  private start(
    headers: Buffer,
    frame: Buffer,
    deadline: number,
    endStream: boolean,
    onData?: (p: Buffer) => void,
  ): { done: Promise<H2Reply>; stream: Stream } {
    let stream!: Stream;
    const done = new Promise<H2Reply>((resolve, reject) => {
      let settled = false;
      stream = {
        id: 0,
        deadline,
        httpStatus: 0,
        message: '',
        chunks: [],
        recvUnacked: 0,
        onData,
        resolve: (r) => {
          if (settled) return;
          settled = true;
          this.settled();
          resolve(r);
        },
        reject: (e) => {
          if (settled) return;
          settled = true;
          this.settled();
          reject(e);
        },
      };
    });
    // A call in flight keeps the process alive (an idle connection does not).
    if (this.inflight++ === 0) this.socket.ref();
    if (!this.usable) stream.reject(new H2CallError(14, 'etcd connection is closing'));
    else this.queue.push({ headers, frame, stream, endStream });
    this.drain();
    return { done, stream };
  }

  close(): void {
    this.fail(14, 'etcd client is closed');
  }

  private settled(): void {
    if (--this.inflight === 0) this.socket.unref();
  }

  /** Starts queued calls while the connection window and the peer's stream limit allow. */
  private drain(): void {
    while (this.queue.length && !this.closed) {
      const p = this.queue[0];
      if (p.frame.length > this.connSendWindow || this.streams.size >= this.peerMaxStreams) return;
      this.queue.shift();
      const id = this.nextId;
      this.nextId += 2;
      p.stream.id = id;
      this.streams.set(id, p.stream);
      this.connSendWindow -= p.frame.length;
      this.push(frameHeader(p.headers.length, 1, 0x4, id), p.headers);
      const f = p.frame;
      for (let off = 0; ; off += this.peerMaxFrame) {
        const last = off + this.peerMaxFrame >= f.length;
        const part = last ? f.subarray(off) : f.subarray(off, off + this.peerMaxFrame);
        this.push(frameHeader(part.length, 0, last && p.endStream ? 0x1 : 0, id), part);
        if (last) break;
      }
    }
  }

  private push(...bufs: Buffer[]): void {
    for (const b of bufs) this.out.push(b);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // The calls started in this turn of the event loop share one write.
    setImmediate(() => {
      this.flushScheduled = false;
      const out = this.out;
      this.out = [];
      if (this.closed || !out.length) return;
      this.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
    });
  }

  private cancel(st: Stream, code: number, message: string): void {
    if (!this.streams.delete(st.id)) return;
    const rst = Buffer.allocUnsafe(4);
    rst.writeUInt32BE(8, 0); // CANCEL
    this.push(frameHeader(4, 3, 0, st.id), rst);
    st.reject(new H2CallError(code, message));
  }

  private fail(code: number, message: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweep);
    this.socket.destroy();
    const err = new H2CallError(code, message);
    for (const st of this.streams.values()) st.reject(err);
    this.streams.clear();
    for (const p of this.queue.splice(0)) p.stream.reject(err);
    this.onGone(this);
  }

  private onData(data: Buffer): void {
    try {
      this.reader.push(data);
    } catch (e) {
      this.fail(e instanceof H2CallError ? e.code : 13, `HTTP/2 from etcd: ${e instanceof Error ? e.message : e}`);
    }
  }

  private frame(type: number, flags: number, id: number, p: Buffer): void {
    if (this.partial && type !== 9) throw new H2CallError(13, 'expected CONTINUATION');
    switch (type) {
      case 0: // DATA
        return this.onDataFrame(flags, id, p);
      case 1: {
        // HEADERS
        let start = 0;
        let end = p.length;
        if (flags & 0x8) end -= p[start++]; // PADDED
        if (flags & 0x20) start += 5; // PRIORITY
        if (end < start) throw new H2CallError(13, 'bad HEADERS padding');
        const part = p.subarray(start, end);
        if (flags & 0x4) this.onHeaders(id, part, (flags & 0x1) !== 0);
        else this.partial = { id, endStream: (flags & 0x1) !== 0, parts: [part] };
        return;
      }
      case 9: {
        // CONTINUATION
        const h = this.partial;
        if (!h || h.id !== id) throw new H2CallError(13, 'unexpected CONTINUATION');
        h.parts.push(p);
        if (flags & 0x4) {
          this.partial = undefined;
          this.onHeaders(id, Buffer.concat(h.parts), h.endStream);
        }
        return;
      }
      case 3: {
        // RST_STREAM
        const st = this.streams.get(id);
        if (!st) return;
        this.streams.delete(id);
        const code = p.readUInt32BE(0);
        st.reject(new H2CallError(RST_CODES[code] ?? 13, `etcd reset the stream (HTTP/2 error ${code})`));
        this.drain();
        return;
      }
      case 4: // SETTINGS
        if (flags & 0x1) return; // our settings acknowledged
        for (let i = 0; i + 6 <= p.length; i += 6) {
          const v = p.readUInt32BE(i + 2);
          switch (p.readUInt16BE(i)) {
            case 3:
              this.peerMaxStreams = v;
              break;
            case 4:
              this.peerStreamWindow = v;
              break;
            case 5:
              this.peerMaxFrame = v;
              break;
          }
        }
        this.push(frameHeader(0, 4, 0x1, 0));
        this.drain();
        return;
      case 6: // PING
        if (!(flags & 0x1)) this.push(frameHeader(8, 6, 0x1, 0), Buffer.from(p));
        return;
      case 7: {
        // GOAWAY: streams above last-stream-id were not processed; the rest may still finish.
        this.goingAway = true;
        const last = p.readUInt32BE(0) & MAX_STREAM_ID;
        const why = p.length > 8 ? p.toString('utf8', 8) : `HTTP/2 error ${p.readUInt32BE(4)}`;
        for (const st of [...this.streams.values()]) {
          if (st.id <= last) continue;
          this.streams.delete(st.id);
          st.reject(new H2CallError(14, `etcd is going away: ${why}`));
        }
        for (const q of this.queue.splice(0)) q.stream.reject(new H2CallError(14, `etcd is going away: ${why}`));
        this.onGone(this);
        if (this.streams.size === 0) this.fail(14, `etcd is going away: ${why}`);
        return;
      }
      case 8: // WINDOW_UPDATE (only the connection's matters: a request never waits on its stream's)
        if (id === 0) {
          this.connSendWindow += p.readUInt32BE(0) & MAX_STREAM_ID;
          this.drain();
        }
        return;
      case 5: // PUSH_PROMISE (refused in our SETTINGS)
        throw new H2CallError(13, 'etcd sent PUSH_PROMISE');
    }
  }

  private onDataFrame(flags: number, id: number, p: Buffer): void {
    // Flow control counts the whole payload, padding included; replenished in large steps.
    this.connRecvUnacked += p.length;
    if (this.connRecvUnacked >= this.connWindow / 2) {
      this.windowUpdate(0, this.connRecvUnacked);
      this.connRecvUnacked = 0;
    }
    const st = this.streams.get(id);
    if (!st) return;
    let start = 0;
    let end = p.length;
    if (flags & 0x8) end -= p[start++];
    if (end < start) throw new H2CallError(13, 'bad DATA padding');
    if (end > start) {
      if (st.onData) st.onData(p.subarray(start, end));
      else st.chunks.push(p.subarray(start, end));
    }
    if (flags & 0x1) {
      this.finish(st);
      return;
    }
    st.recvUnacked += p.length;
    if (st.recvUnacked >= this.streamWindow / 2) {
      this.windowUpdate(id, st.recvUnacked);
      st.recvUnacked = 0;
    }
  }

  private windowUpdate(id: number, n: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n, 0);
    this.push(frameHeader(4, 8, 0, id), b);
  }

  private onHeaders(id: number, block: Buffer, endStream: boolean): void {
    // Decoded even for a stream we gave up on: the dynamic table is the connection's.
    const fields = this.hpack.decode(block);
    const st = this.streams.get(id);
    if (!st) return;
    for (const [name, value] of fields) {
      if (name === ':status') st.httpStatus = Number(value);
      else if (name === 'grpc-status') st.status = Number(value);
      else if (name === 'grpc-message') {
        try {
          st.message = decodeURIComponent(value);
        } catch {
          st.message = value; // (not percent-encoded after all: shown as sent)
        }
      }
    }
    if (endStream) this.finish(st);
  }

  private finish(st: Stream): void {
    this.streams.delete(st.id);
    const body = st.chunks.length === 1 ? st.chunks[0] : Buffer.concat(st.chunks);
    st.resolve({ status: st.status, message: st.message, body, httpStatus: st.httpStatus });
    if (this.queue.length) this.drain();
    // A connection that takes no new calls (going away, or out of stream ids) closes when done.
    if (this.streams.size === 0 && this.queue.length === 0 && !this.usable) this.fail(14, 'etcd connection retired');
  }
}
