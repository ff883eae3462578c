// Port forwarding: over SPDY (portforward.k8s.io — the client opens a data and an error stream per
// connection, paired by the `requestID` header, each naming its `port`; also what kubectl tunnels
// inside a WebSocket as SPDY/3.1+portforward.k8s.io) and over WebSocket channels (v4: per port
// in ?port=, a data channel 2i and an error channel 2i+1, each opened by the port as uint16 LE).
import type { Duplex } from 'node:stream';
import { Duplex as DuplexStream } from 'node:stream';
import type { ChannelConn } from './channels.js';
import type { SpdySession, SpdyStream } from './spdy.js';

export type Forward = (port: number, conn: Duplex) => Promise<void>;

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** SPDY: serves forward requests until the client closes the session. */
export function serveSpdyPortForward(
  session: SpdySession,
  allowed: number[],
  forward: Forward,
  creationTimeoutMs = 30_000,
): void {
  const pairs = new Map<string, Pair>();
  session.on('stream', (s: SpdyStream) => {
    const type = s.headers.streamtype;
    const port = Number(s.headers.port);
    if ((type !== 'data' && type !== 'error') || !Number.isInteger(port) || port < 1 || port > 65535) {
      s.reset();
      return;
    }
    s.reply();
    const id = s.headers.requestid || String(type === 'error' ? s.id : s.id - 2);
    let p = pairs.get(id);
    if (!p) {
      const pair: Pair = {
        timer: setTimeout(() => {
          pairs.delete(id);
          pair.error?.end(`timed out waiting for the streams of request ${id}`);
          pair.data?.reset();
        }, creationTimeoutMs),
      };
      p = pair;
      pairs.set(id, p);
    }
    if (p[type]) {
      s.end(`error processing stream for request ${id}: ${type} stream already assigned`);
      return;
    }
    p[type] = s;
    if (!p.data || !p.error) return;
    clearTimeout(p.timer);
    pairs.delete(id);
    const { data, error } = p;
    if (allowed.length && !allowed.includes(port)) {
      error.end(`port ${port} was not requested for this port-forward`);
      data.reset();
      return;
    }
    forward(port, data).then(
      () => {
        data.finish();
        error.finish();
      },
      (e: Error) => {
        error.write(Buffer.from(`error forwarding port ${port}: ${e.message}`));
        error.finish();
        data.reset();
      },
    );
  });
  session.on('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
  });
}

/** A Duplex over a channel pair: reads what the client sends on `data`, writes to it. */
function channelDuplex(conn: ChannelConn, channel: number): Duplex {
  const src = conn.reader(channel);
  const d = new DuplexStream({
    allowHalfOpen: true,
    read() {
      src.resume();
    },
    write(chunk: Buffer, _e, cb) {
      conn.send(channel, chunk);
      cb();
    },
  });
  src.on('data', (b: Buffer) => {
    if (!d.push(b)) src.pause();
  });
  src.on('end', () => d.push(null));
  return d;
}

/** WebSocket v4 channels: one data/error channel pair per requested port. */
export async function serveChannelPortForward(conn: ChannelConn, ports: number[], forward: Forward): Promise<void> {
  const work = ports.map(async (port, i) => {
    const header = Buffer.alloc(2);
    header.writeUInt16LE(port);
    const data = channelDuplex(conn, 2 * i);
    conn.send(2 * i, header);
    conn.send(2 * i + 1, header);
    try {
      await forward(port, data);
    } catch (e) {
      conn.send(2 * i + 1, Buffer.from(`error forwarding port ${port}: ${(e as Error).message}`));
    }
  });
  await Promise.race([Promise.all(work), conn.closed]);
  conn.close();
}
