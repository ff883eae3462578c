// The cluster DNS (CoreDNS's role): Services and EndpointSlices are watched through informers into
// ClusterRecords; queries for the cluster's zones are answered from them, the rest forwarded to the
// node's resolvers. Encoded answers are cached per question until the records change, so a
// repeated query costs one map lookup and a copy.
import type { Logger } from '../../common/index.js';
import type { KubeObject } from '../api/index.js';
import { Informer, objectKey, type KubeClient } from '../client/index.js';
import { hostResolvers, listenDns, type DnsListener } from '../../network/index.js';
import { ClusterRecords, type DnsService, type DnsSlice, type Resolution } from './records.js';
import { Forwarder } from './forward.js';
import dnsPacket from 'dns-packet';
import { EDNS_UDP_SIZE, encodeAnswer, errorReply, readQuestion, withId, type Question } from './wire.js';

export interface ClusterDnsOptions {
  client: KubeClient;
  /** Cluster domain (default cluster.local). */
  domain?: string;
  /** Addresses to listen on (UDP and TCP), e.g. the kube-dns Service IP on port 53. */
  listen: { address: string; port?: number }[];
  /** Upstream resolvers for other names (default: the node's /etc/resolv.conf). */
  upstreams?: string[];
  /** TTL of cluster answers in seconds (default 5, as CoreDNS's kubernetes plugin). */
  ttl?: number;
  log?: Logger;
}

const SERVICES = { group: '', version: 'v1', resource: 'services', namespaced: true };
const NAMESPACES = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };
const SLICES = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespaced: true };

/** Longest query answered from the bytes-keyed cache (a question of a long name with an OPT). */
const MAX_BYTES_KEY = 300;

const isIPv4 = (s: unknown): s is string => typeof s === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(s);

type Obj = Record<string, unknown>;

export function toDnsService(o: KubeObject): DnsService {
  const spec = (o.spec ?? {}) as Obj;
  const ips = (Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP]).filter(isIPv4);
  const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP';
  const ports = Array.isArray(spec.ports) ? (spec.ports as Obj[]) : [];
  return {
    namespace: o.metadata.namespace ?? '',
    name: o.metadata.name ?? '',
    type,
    clusterIPs: ips,
    headless: type !== 'ExternalName' && spec.clusterIP === 'None',
    externalName: typeof spec.externalName === 'string' ? spec.externalName : undefined,
    ports: ports.map((p) => ({
      name: typeof p.name === 'string' ? p.name : '',
      port: Number(p.port) || 0,
      protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
    })),
  };
}

export function toDnsSlice(o: KubeObject): DnsSlice {
  const endpoints = Array.isArray(o.endpoints) ? (o.endpoints as Obj[]) : [];
  const ports = Array.isArray(o.ports) ? (o.ports as Obj[]) : [];
  return {
    namespace: o.metadata.namespace ?? '',
    service: o.metadata.labels?.['kubernetes.io/service-name'] ?? '',
    endpoints: endpoints.map((e) => {
      const cond = (e.conditions ?? {}) as Obj;
      return {
        addresses: (Array.isArray(e.addresses) ? e.addresses : []).filter(isIPv4),
        hostname: typeof e.hostname === 'string' && e.hostname ? e.hostname : undefined,
        // Upstream: a nil ready condition means ready.
        ready: cond.ready !== false,
      };
    }),
    ports: ports.map((p) => ({
      name: typeof p.name === 'string' ? p.name : '',
      port: Number(p.port) || 0,
      protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
    })),
  };
}

export class ClusterDns {
  readonly records: ClusterRecords;
  private readonly forwarder: Forwarder;
  private readonly ttl: number;
  private informers: Informer[] = [];
  private listeners: DnsListener[] = [];
  private answers = new Map<string, { generation: number; reply: Buffer }>();
  /** The same answers keyed by the query's bytes after the id (flags, counts, question, OPT), so a
   *  repeated query is answered before it is parsed; only queries without EDNS options are kept
   *  (a cookie differs per client and would only fill the map). */
  private byBytes = new Map<string, { generation: number; reply: Buffer }>();

  constructor(private readonly opts: ClusterDnsOptions) {
    this.records = new ClusterRecords(
      opts.domain ?? 'cluster.local',
      opts.listen.map((l) => l.address),
    );
    this.forwarder = new Forwarder({ upstreams: opts.upstreams ?? hostResolvers() });
    this.ttl = opts.ttl ?? 5;
  }

  /** Listening addresses (with the ports actually bound). */
  get addresses(): { address: string; port: number }[] {
    return this.listeners.map((l) => ({ address: l.address, port: l.port }));
  }

  async start(): Promise<void> {
    const r = this.records;
    const svc = new Informer(
      this.opts.client,
      SERVICES,
      {
        add: (o) => r.setService(toDnsService(o)),
        update: (_, o) => r.setService(toDnsService(o)),
        delete: (o) => r.deleteService(o.metadata.namespace ?? '', o.metadata.name ?? ''),
      },
      { log: this.opts.log },
    );
    const sl = new Informer(
      this.opts.client,
      SLICES,
      {
        add: (o) => r.setSlice(objectKey(o), toDnsSlice(o)),
        update: (_, o) => r.setSlice(objectKey(o), toDnsSlice(o)),
        delete: (o) => r.deleteSlice(objectKey(o)),
      },
      { log: this.opts.log },
    );
    // Namespaces: a Pod's name (`1-2-3-4.ns.pod…`) and `ns.svc…` exist only in one that exists.
    const nss = new Informer(
      this.opts.client,
      NAMESPACES,
      {
        add: (o) => r.setNamespace(o.metadata.name ?? ''),
        update: (_, o) => r.setNamespace(o.metadata.name ?? ''),
        delete: (o) => r.deleteNamespace(o.metadata.name ?? ''),
      },
      { log: this.opts.log },
    );
    this.informers = [svc, sl, nss];
    await Promise.all(this.informers.map((i) => i.start()));
    try {
      for (const l of this.opts.listen) {
        this.listeners.push(await listenDns(l.address, l.port ?? 53, (msg, tcp) => this.handle(msg, tcp)));
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  async stop(): Promise<void> {
    for (const i of this.informers) i.stop();
    this.informers = [];
    const ls = this.listeners;
    this.listeners = [];
    await Promise.all(ls.map((l) => l.close()));
  }

  /** Answers one query (exposed for tests and benchmarks without sockets). */
  handle(msg: Buffer, tcp: boolean): Buffer | Promise<Buffer | undefined> | undefined {
    // The hot path: a query seen before, the records unchanged since (no parse, one map lookup).
    const bytesKey =
      msg.length > 12 && msg.length <= MAX_BYTES_KEY ? msg.toString('latin1', 2) + (tcp ? 't' : 'u') : '';
    if (bytesKey) {
      const hit = this.byBytes.get(bytesKey);
      if (hit !== undefined && hit.generation === this.records.generation)
        return withId(hit.reply, msg.readUInt16BE(0));
    }
    const q = readQuestion(msg);
    if (q === undefined) return undefined;
    if (q === 'formerr') return errorReply(msg, 1);
    if (q === 'notimp') return errorReply(msg, 4);
    if (q.qclass !== 1 && q.qclass !== 255) return errorReply(msg, 5);
    // The key: the question as asked plus what changes the encoding (RD, EDNS, transport).
    const key = `${q.questionBytes.toString('latin1')}|${q.recursionDesired ? 1 : 0}|${q.ednsSize}|${tcp ? 1 : 0}`;
    if (this.records.inZone(q.name)) {
      const gen = this.records.generation;
      const hit = this.answers.get(key);
      let reply: Buffer;
      if (hit && hit.generation === gen) reply = hit.reply;
      else {
        const res = this.records.resolve(q.name, q.type);
        if (res.forward) return this.forward(msg, key, tcp);
        const last = res.answers.at(-1);
        if (last?.type === 'CNAME' && q.type !== 'CNAME') return this.chase(q, res, last.data as string, tcp);
        reply = encodeAnswer(q, res, this.zone, tcp ? 0 : EDNS_UDP_SIZE);
        if (this.answers.size >= 20_000) this.answers.clear();
        this.answers.set(key, { generation: gen, reply });
      }
      // Queried by the same bytes again (nothing after the question but an option-less OPT).
      if (bytesKey && msg.length <= 12 + q.questionBytes.length + (q.ednsSize ? 11 : 0)) {
        if (this.byBytes.size >= 20_000) this.byBytes.clear();
        this.byBytes.set(bytesKey, { generation: gen, reply });
      }
      return hit && hit.generation === gen ? withId(reply, q.id) : reply;
    }
    return this.forward(msg, key, tcp);
  }

  private forward(msg: Buffer, key: string, tcp: boolean): Promise<Buffer | undefined> {
    return this.forwarder.forward(msg, key, tcp).then((r) => r ?? errorReply(msg, 2));
  }

  private get zone() {
    return { domain: this.records.domain, ttl: this.ttl };
  }

  /**
   * An ExternalName's CNAME comes with the records of its target, as CoreDNS answers it: stub
   * resolvers (glibc, musl) do not chase a CNAME themselves. The target is resolved here when it is
   * in the cluster's zone, else asked of the upstream resolvers (through the forwarder's cache).
   */
  private async chase(q: Question, res: Resolution, target: string, tcp: boolean): Promise<Buffer> {
    const name = target.toLowerCase();
    if (this.records.inZone(name)) {
      const more = this.records.resolve(name, q.type);
      // A target in the zone without records of the type: NODATA without the CNAME (as CoreDNS).
      if (more.answers.length === 0) return encodeAnswer(q, more, this.zone, tcp ? 0 : EDNS_UDP_SIZE);
      const chased = { rcode: more.rcode, answers: [...res.answers, ...more.answers], additionals: more.additionals };
      return encodeAnswer(q, chased, this.zone, tcp ? 0 : EDNS_UDP_SIZE);
    }
    const ask = dnsPacket.encode({
      id: 0,
      type: 'query',
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name, type: q.type as dnsPacket.RecordType, class: 'IN' }],
    });
    const reply = await this.forwarder.forward(ask, `chase|${name}|${q.type}|${tcp ? 1 : 0}`, tcp);
    let upstream: { rcode: number; answers: dnsPacket.Answer[] } = { rcode: 2, answers: [] };
    if (reply) {
      try {
        upstream = { rcode: reply[3] & 0x0f, answers: dnsPacket.decode(reply).answers ?? [] };
      } catch {
        /* a malformed upstream answer counts as none */
      }
    }
    return encodeAnswer(
      q,
      { ...res, rcode: upstream.rcode === 3 ? 'NXDOMAIN' : 'NOERROR' },
      this.zone,
      tcp ? 0 : EDNS_UDP_SIZE,
      upstream.answers,
    );
  }
}
