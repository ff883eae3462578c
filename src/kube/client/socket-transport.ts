// HTTP/1.1 keep-alive requests over the API server's private unix socket, written by hand for the
// components `skiff server` runs beside the API server (scheduler, controllers). Node's
// http.request builds an agent entry, a ClientRequest, an IncomingMessage, header objects and
// stream state per request: about 80 µs of the caller's CPU per request here, which the scheduler
// pays twice per pod (binding, Scheduled event) — a third of its thread's busy time at 10 000 pods.
// This transport writes one buffer per request and parses the answer's status line, its length
// (Content-Length or chunked) and `Connection: close`; nothing else of HTTP is needed to talk to
// Skiff's own API server. Watches (streams) still go through Node's http client.
import net from 'node:net';

export interface SocketResponse {
  status: number;
  body: Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

const connectionError = (code: string, message: string) => Object.assign(new Error(message), { code });

/** One connection, one request at a time. */
class Conn {
  readonly sock: net.Socket;
  private buf: Buffer = EMPTY;
  private pending?: {
    resolve(r: SocketResponse): void;
    reject(e: Error): void;
    /** No body whatever the headers say (HEAD). */
    noBody: boolean;
  };
  /** Whether any byte of the current answer came. */
  answered = false;
  closed = false;
  /** The server said it closes the connection after this answer: not to be used again. */
  ending = false;
  /** Requests sent on this connection. */
  uses = 0;

  constructor(path: string, onClose: (c: Conn) => void) {
    this.sock = net.connect(path);
    this.sock.on('data', (d: Buffer) => this.onData(d));
    const gone = (e?: Error) => {
      if (this.closed) return;
      this.closed = true;
      onClose(this);
      this.fail(e ?? connectionError('ECONNRESET', 'socket hang up'));
    };
    this.sock.on('error', gone);
    this.sock.on('close', () => gone());
  }

  send(bytes: Buffer, noBody: boolean): Promise<SocketResponse> {
    this.uses++;
    this.answered = false;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, noBody };
      this.sock.write(bytes);
    });
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  fail(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }

  destroy(): void {
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    this.answered = true;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const p = this.pending;
    if (!p) {
      // Bytes nobody asked for: the connection is out of step; drop it.
      this.sock.destroy();
      return;
    }
    const end = this.buf.indexOf(CRLFCRLF);
    if (end < 0) return;
    const head = this.buf.toString('latin1', 0, end).toLowerCase();
    const status = Number(head.slice(9, 12));
    let body: Buffer;
    let used: number;
    const cl = /\r\ncontent-length: *(\d+)/.exec(head);
    if (p.noBody || status === 204 || status === 304) {
      body = EMPTY;
      used = end + 4;
    } else if (cl) {
      used = end + 4 + Number(cl[1]);
      if (this.buf.length < used) return;
      body = this.buf.subarray(end + 4, used);
    } else if (/\r\ntransfer-encoding: *chunked/.test(head)) {
      const parts: Buffer[] = [];
      let at = end + 4;
      for (;;) {
        const nl = this.buf.indexOf('\r\n', at);
        if (nl < 0) return;
        const size = Number.parseInt(this.buf.toString('latin1', at, nl), 16);
        if (Number.isNaN(size)) {
          this.sock.destroy(connectionError('EPROTO', 'malformed chunked answer from the API server'));
          return;
        }
        if (size === 0) {
          // The last chunk, then (no trailers from Skiff's server) the final CRLF.
          if (this.buf.length < nl + 4) return;
          used = nl + 4;
          break;
        }
        if (this.buf.length < nl + 2 + size + 2) return;
        parts.push(this.buf.subarray(nl + 2, nl + 2 + size));
        at = nl + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      // An answer delimited by the connection's end is not something this server sends.
      this.sock.destroy(connectionError('EPROTO', 'answer without a length from the API server'));
      return;
    }
    this.buf = this.buf.length > used ? this.buf.subarray(used) : EMPTY;
    this.pending = undefined;
    if (/\r\nconnection: *close/.test(head)) {
      this.ending = true;
      this.sock.end();
    }
    p.resolve({ status, body });
  }
}

export class SocketTransport {
  private idle: Conn[] = [];
  private all = new Set<Conn>();
  private closed = false;

  constructor(
    private path: string,
    private maxIdle: number,
  ) {}

  /** Sends one request (its bytes made by `bytes`) and resolves with the whole answer. A kept
   *  connection the server had closed fails before any answer; then, as Node's agent users do,
   *  the request is sent once more on a fresh connection when that is safe: always when it could
   *  not be written (EPIPE), and for reads on a reset. */
  async request(method: string, bytes: Buffer, signal?: AbortSignal): Promise<SocketResponse> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw connectionError('ECONNRESET', 'API client closed');
      signal?.throwIfAborted();
      const c = attempt === 0 ? (this.idle.pop() ?? this.open()) : this.open();
      const reused = c.uses > 0;
      const onAbort = () => c.destroy();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const r = await c.send(bytes, method === 'HEAD');
        if (!c.closed && !c.ending && !this.closed && this.idle.length < this.maxIdle) this.idle.push(c);
        else c.destroy();
        return r;
      } catch (e) {
        c.destroy();
        if (signal?.aborted) throw signal.reason;
        const code = (e as { code?: string }).code;
        const safe = code === 'EPIPE' || (code === 'ECONNRESET' && (method === 'GET' || method === 'HEAD'));
        if (attempt === 0 && reused && !c.answered && safe) continue;
        throw e;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  private open(): Conn {
    const c = new Conn(this.path, (x) => {
      this.all.delete(x);
      const i = this.idle.indexOf(x);
      if (i >= 0) this.idle.splice(i, 1);
    });
    this.all.add(c);
    return c;
  }

  close(): void {
    this.closed = true;
    for (const c of this.all) c.destroy();
    this.all.clear();
    this.idle = [];
  }
}
