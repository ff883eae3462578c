// Blob downloads over plain HTTP (loopback and insecure registries) through a raw socket whose reads
// land in one reused 1 MB buffer (net's `onread`). node:http allocates a fresh 64 KB buffer per read
// and runs it through its stream machinery; for a 200 MB image that is most of the client's CPU, so
// this path cuts pull CPU several-fold. Only the plain case is handled here — a 200/206 with
// Content-Length; anything else (redirects, errors, chunked bodies) is left to the ordinary client.
import { connect, type Socket, type NetConnectOpts } from 'node:net';

export interface FastGetResult {
  handled: boolean;
  status: number;
  headers: Record<string, string>;
  received: number;
}

const HEADER_LIMIT = 64 << 10;

export function fastGet(
  url: URL,
  headers: Record<string, string>,
  accept: (status: number, headers: Record<string, string>) => boolean,
  sink: (chunk: Buffer) => Promise<void>,
  signal?: AbortSignal,
): Promise<FastGetResult> {
  return new Promise((resolve, reject) => {
    const buffer = Buffer.allocUnsafeSlow(1 << 20);
    let head: Buffer | null = Buffer.alloc(0);
    let status = 0;
    let hdrs: Record<string, string> = {};
    let length = -1;
    let received = 0;
    let settled = false;
    let socket: Socket;
    const done = (err: Error | null, handled = true) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve({ handled, status, headers: hdrs, received });
    };
    const onAbort = () => done(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
    const body = (chunk: Buffer): boolean => {
      if (chunk.length === 0) return true;
      received += chunk.length;
      if (received > length) {
        done(new Error(`server sent more than Content-Length ${length}`));
        return false;
      }
      // Pause reading until the sink has consumed this view of the shared buffer.
      sink(chunk).then(
        () => {
          if (received === length) done(null);
          else if (!settled) socket.resume();
        },
        (e: Error) => done(e),
      );
      return false;
    };
    socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      onread: {
        buffer,
        callback: (n: number, buf: Uint8Array) => {
          if (settled) return false;
          const chunk = (buf as Buffer).subarray(0, n);
          if (head === null) return body(chunk);
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) {
            if (head.length > HEADER_LIMIT) done(new Error('response headers too large'));
            return true;
          }
          const lines = head.subarray(0, end).toString('latin1').split('\r\n');
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
          if (!m) {
            done(new Error(`malformed HTTP status line ${JSON.stringify(lines[0].slice(0, 80))}`));
            return false;
          }
          status = Number(m[1]);
          for (const l of lines.slice(1)) {
            const i = l.indexOf(':');
            if (i > 0) hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
          }
          length = hdrs['content-length'] !== undefined ? Number(hdrs['content-length']) : -1;
          const rest = Buffer.from(head.subarray(end + 4));
          head = null;
          if ((status !== 200 && status !== 206) || length < 0 || hdrs['transfer-encoding'] || !accept(status, hdrs)) {
            done(null, false);
            return false;
          }
          if (length === 0) {
            done(null);
            return false;
          }
          return body(rest);
        },
      },
    } as unknown as NetConnectOpts);
    socket.setNoDelay(true);
    socket.on('error', (e) => done(e));
    socket.on('close', () =>
      done(
        received < length || length < 0 ? new Error(`connection closed after ${received} of ${length} bytes`) : null,
      ),
    );
    if (signal) {
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
    }
    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      'User-Agent: skiff/0.1',
      'Connection: close',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}
