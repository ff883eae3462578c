// Names outside the cluster's zones go to the node's resolvers (what CoreDNS's `forward . /etc/
// resolv.conf` does), over UDP with a TCP retry when the answer is truncated and the client asked
// over TCP; answers are cached for their TTL, at most 30 s (negative answers by the SOA minimum),
// as CoreDNS's `cache 30`.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { withId } from './wire.js';

export interface ForwarderOptions {
  /** "ip" or "ip:port" of each upstream resolver, tried in order. */
  upstreams: string[];
  timeoutMs?: number;
  maxCacheEntries?: number;
  maxTtl?: number;
}

interface Entry {
  reply: Buffer;
  expires: number;
}

export class Forwarder {
  private cache = new Map<string, Entry>();
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  private readonly maxTtl: number;

  constructor(private readonly opts: ForwarderOptions) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxEntries = opts.maxCacheEntries ?? 10_000;
    this.maxTtl = opts.maxTtl ?? 30;
  }

  /** The upstream answer to `msg` (with `msg`'s id), or undefined when no upstream answered. */
  async forward(msg: Buffer, key: string, tcp: boolean): Promise<Buffer | undefined> {
    const id = msg.readUInt16BE(0);
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return withId(hit.reply, id);
    if (hit) this.cache.delete(key);
    for (const up of this.opts.upstreams) {
      const [host, port = '53'] = up.split(':');
      let reply = await this.udp(msg, host, Number(port));
      if (reply && tcp && reply.length >= 3 && reply[2] & 0x02) reply = await this.tcp(msg, host, Number(port));
      if (!reply) continue;
      this.store(key, reply);
      return withId(reply, id);
    }
    return undefined;
  }

  private store(key: string, reply: Buffer): void {
    let ttl: number;
    try {
      const p = dnsPacket.decode(reply);
      const rcode = reply[3] & 0x0f;
      if (rcode !== 0 && rcode !== 3) return; // SERVFAIL, REFUSED: not cached
      if (reply[2] & 0x02) return; // truncated
      const soa = p.authorities?.find((a) => a.type === 'SOA');
      const ttls = (p.answers ?? []).map((a) => (a as { ttl?: number }).ttl ?? 0);
      ttl = ttls.length ? Math.min(...ttls) : ((soa?.data as { minimum?: number } | undefined)?.minimum ?? 5);
    } catch {
      return;
    }
    ttl = Math.min(ttl, this.maxTtl);
    if (ttl <= 0) return;
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, { reply, expires: Date.now() + ttl * 1000 });
  }

  private udp(msg: Buffer, host: string, port: number): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      const id = msg.readUInt16BE(0);
      const done = (b?: Buffer) => {
        clearTimeout(t);
        s.close();
        resolve(b);
      };
      const t = setTimeout(() => done(), this.timeoutMs);
      s.on('error', () => done());
      s.on('message', (b) => {
        if (b.length >= 12 && b.readUInt16BE(0) === id) done(b);
      });
      s.send(msg, port, host);
    });
  }

  private tcp(msg: Buffer, host: string, port: number): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = connect({ host, port });
      let buf = Buffer.alloc(0);
      const done = (b?: Buffer) => {
        clearTimeout(t);
        sock.destroy();
        resolve(b);
      };
      const t = setTimeout(() => done(), this.timeoutMs);
      sock.on('error', () => done());
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(msg.length);
        sock.write(Buffer.concat([len, msg]));
      });
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
    });
  }
}
