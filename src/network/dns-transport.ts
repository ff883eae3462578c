// DNS over UDP and TCP on one address: the transport shared by the engine's embedded DNS and the
// cluster DNS. The handler gets each query and whether it came over TCP (no size limit then) and
// returns the reply, or undefined to send nothing. TCP messages are framed by a 2-byte length
// (RFC 1035 4.2.2); several queries may be pipelined on one connection.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { unavailable } from '../common/index.js';

export type DnsHandler = (msg: Buffer, tcp: boolean) => Promise<Buffer | undefined> | Buffer | undefined;

export interface DnsListener {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function listenDns(ip: string, port: number, handler: DnsHandler): Promise<DnsListener> {
  // A larger receive buffer rides out event-loop pauses (GC, a burst of watch events) without the
  // kernel dropping queries; the kernel caps it at net.core.rmem_max.
  // Replies go to the address a query came from, always a literal IP: resolving it (Node 20's
  // dgram looks every destination up, an IP through dns.lookup and a tick) is skipped.
  const family = ip.includes(':') ? 6 : 4;
  const udp: Socket = createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    recvBufferSize: 4 << 20,
    lookup: (address, _opts, cb) => cb(null, address, family),
  });
  udp.on('message', (msg, rinfo) => {
    let out: ReturnType<DnsHandler>;
    try {
      out = handler(msg, false);
    } catch {
      return; // a handler bug must not take the listener down; the client times out
    }
    if (Buffer.isBuffer(out)) udp.send(out, rinfo.port, rinfo.address);
    else if (out) {
      out.then(
        (b) => b && udp.send(b, rinfo.port, rinfo.address),
        () => undefined,
      );
    }
  });
  udp.on('error', () => undefined);
  const tcp: Server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.setTimeout(30_000, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        Promise.resolve()
          .then(() => handler(msg, true))
          .then(
            (out) => {
              if (!out || sock.destroyed) return;
              const len = Buffer.alloc(2);
              len.writeUInt16BE(out.length);
              sock.write(Buffer.concat([len, out]));
            },
            () => sock.destroy(),
          );
      }
    });
  });
  let bound = port;
  try {
    await new Promise<void>((res, rej) => {
      udp.once('error', rej);
      udp.bind(port, ip, () => res());
    });
    bound = udp.address().port;
    await new Promise<void>((res, rej) => {
      tcp.once('error', rej);
      tcp.listen(bound, ip, () => res());
    });
  } catch (e) {
    try {
      udp.close();
    } catch {
      /* not bound */
    }
    tcp.close();
    throw unavailable(`DNS cannot listen on ${ip}:${port}: ${(e as Error).message}`, { cause: e });
  }
  return {
    address: ip,
    port: bound,
    async close() {
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
