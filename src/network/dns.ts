// Embedded DNS: one server object per engine, listening (UDP and TCP, port 53) on the gateway
// address of every user network; containers' resolv.conf points at their gateway. Names of the
// network's endpoints (container name, aliases, short id) are answered from a live table; other
// names are forwarded to the host's resolvers, only when a container asks.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { unavailable } from '../common/index.js';
import { listenDns, type DnsListener } from './dns-transport.js';

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

export class DnsServer {
  private records = new Map<string, Map<string, string[]>>();
  private listeners = new Map<string, DnsListener>();
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
    try {
      this.listeners.set(network, await listenDns(ip, this.port, (msg) => this.answer(network, msg)));
    } catch (e) {
      throw unavailable(`embedded DNS for network ${network}: ${(e as Error).message}`, { cause: e });
    }
  }

  async unlisten(network: string): Promise<void> {
    const l = this.listeners.get(network);
    this.listeners.delete(network);
    this.records.delete(network);
    await l?.close();
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
