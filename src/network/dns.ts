// Embedded DNS: one server object per engine, listening (UDP and TCP, port 53) on the gateway
// address of every user network; containers' resolv.conf points at their gateway. Names of the
// network's endpoints (container name, aliases, short id) are answered from a live table; other
// names are forwarded to the host's resolvers, only when a container asks.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { unavailable } from '../common/index.js';

type Packet = dnsPacket.Packet;

export function hostResolvers(file = '/etc/resolv.conf'): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((x): x is string => !!x && /^\d+\.\d+\.\d+\.\d+$/.test(x) && !x.startsWith('127.'));
  } catch {
    return [];
  }
}

interface Listener {
  udp: Socket;
  tcp: Server;
}

export class DnsServer {
  private records = new Map<string, Map<string, string[]>>();
  private listeners = new Map<string, Listener>();
  constructor(
    private readonly upstream: string[] = hostResolvers(),
    private readonly port = 53,
  ) {}

  /** Replaces the name table of one network. */
  setRecords(network: string, table: Map<string, string[]>): void {
    this.records.set(network, new Map([...table].map(([k, v]) => [k.toLowerCase(), v])));
  }

  lookup(network: string, name: string): string[] | undefined {
    return this.records.get(network)?.get(name.toLowerCase().replace(/\.$/, ''));
  }

  async listen(network: string, ip: string): Promise<void> {
    if (this.listeners.has(network)) return;
    const udp = createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      this.answer(network, msg).then(
        (out) => {
          if (out) udp.send(out, rinfo.port, rinfo.address);
        },
        () => undefined,
      );
    });
    udp.on('error', () => undefined);
    const tcp = createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('error', () => sock.destroy());
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          this.answer(network, msg).then(
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
    try {
      await new Promise<void>((res, rej) => {
        udp.once('error', rej);
        udp.bind(this.port, ip, () => res());
      });
      await new Promise<void>((res, rej) => {
        tcp.once('error', rej);
        tcp.listen(this.port, ip, () => res());
      });
    } catch (e) {
      try {
        udp.close();
      } catch {
        /* not bound */
      }
      tcp.close();
      throw unavailable(
        `embedded DNS for network ${network} cannot listen on ${ip}:${this.port}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    this.listeners.set(network, { udp, tcp });
  }

  async unlisten(network: string): Promise<void> {
    const l = this.listeners.get(network);
    this.listeners.delete(network);
    this.records.delete(network);
    if (!l) return;
    await new Promise<void>((r) => l.udp.close(() => r()));
    await new Promise<void>((r) => l.tcp.close(() => r()));
  }

  async close(): Promise<void> {
    for (const n of [...this.listeners.keys()]) await this.unlisten(n);
  }

  private async answer(network: string, msg: Buffer): Promise<Buffer | undefined> {
    let q: Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const question = q.questions?.[0];
    if (!question) return undefined;
    const ips = this.lookup(network, question.name);
    if (ips) {
      const answers =
        question.type === 'A'
          ? ips.map((ip) => ({ type: 'A' as const, name: question.name, ttl: 600, class: 'IN' as const, data: ip }))
          : [];
      return dnsPacket.encode({
        id: q.id,
        type: 'response',
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER,
        questions: q.questions,
        answers,
      });
    }
    const fwd = await this.forward(msg);
    return (
      fwd ??
      dnsPacket.encode({
        id: q.id,
        type: 'response',
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | 2 /* SERVFAIL */,
        questions: q.questions,
      })
    );
  }

  private forward(msg: Buffer): Promise<Buffer | undefined> {
    const [server, port = '53'] = (this.upstream[0] ?? '').split(':'); // "ip" or "ip:port"
    if (!server) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const s = createSocket('udp4');
      const done = (b?: Buffer): void => {
        clearTimeout(t);
        s.close();
        resolve(b);
      };
      const t = setTimeout(() => done(), 3000);
      s.on('error', () => done());
      s.on('message', (b) => done(b));
      s.send(msg, Number(port), server);
    });
  }
}
