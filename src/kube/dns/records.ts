// The cluster's DNS records, answered from what the informers hold: Services (A for the cluster
// IP, CNAME for ExternalName, headless Services → their endpoints), endpoints by hostname or by
// dashed IP, SRV for named ports, PTR for service and endpoint addresses, and pod names by dashed
// IP (`1-2-3-4.ns.pod.<domain>`, CoreDNS's "pods insecure" mode, which k3s uses). The schema is
// the Kubernetes DNS specification (github.com/kubernetes/dns docs/specification.md).
export interface DnsServicePort {
  name: string;
  port: number;
  protocol: string;
}

export interface DnsService {
  namespace: string;
  name: string;
  type: string;
  /** IPv4 cluster IPs; empty for headless and ExternalName Services. */
  clusterIPs: string[];
  headless: boolean;
  externalName?: string;
  ports: DnsServicePort[];
}

export interface DnsEndpoint {
  addresses: string[];
  hostname?: string;
  ready: boolean;
}

export interface DnsSlice {
  namespace: string;
  /** The Service the slice belongs to (label kubernetes.io/service-name). */
  service: string;
  endpoints: DnsEndpoint[];
  ports: DnsServicePort[];
}

export type RecordType = 'A' | 'AAAA' | 'SRV' | 'PTR' | 'CNAME' | 'NS' | 'SOA' | 'TXT' | 'ANY' | string;

export type Answer = { name: string; ttl?: number } & (
  | { type: 'A' | 'PTR' | 'CNAME' | 'NS' | 'TXT'; data: string }
  | { type: 'SRV'; data: { priority: number; weight: number; port: number; target: string } }
  | { type: 'SOA'; data: 'zone' }
);

export interface Resolution {
  /** NOERROR with answers, NODATA (NOERROR, no answers) or NXDOMAIN. */
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
  /** Address records of SRV targets, sent as additional records. */
  additionals: Answer[];
  /** Not ours to answer: a reverse name of an address the cluster does not know, passed on to the
   *  upstream resolvers (CoreDNS's `fallthrough in-addr.arpa ip6.arpa` in k3s's Corefile). */
  forward?: boolean;
}

const NX: Resolution = { rcode: 'NXDOMAIN', answers: [], additionals: [] };
const NODATA: Resolution = { rcode: 'NOERROR', answers: [], additionals: [] };
const FORWARD: Resolution = { rcode: 'NOERROR', answers: [], additionals: [], forward: true };
/** The schema version record of the Kubernetes DNS specification, with CoreDNS's TTL. */
const SCHEMA_VERSION = '1.1.0';
const SCHEMA_TTL = 28800;

const dashed = (ip: string) => ip.replace(/\./g, '-');
const undashed = (label: string) => (/^\d{1,3}(-\d{1,3}){3}$/.test(label) ? label.replace(/-/g, '.') : undefined);
const isIPv4 = (s: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(s) && s.split('.').every((o) => Number(o) < 256);

/** One service's endpoints, merged over its slices. */
interface Merged {
  endpoints: DnsEndpoint[];
  ports: DnsServicePort[];
}

export class ClusterRecords {
  private services = new Map<string, DnsService>(); // "ns/name"
  private slices = new Map<string, DnsSlice>(); // slice key → slice
  private bySvc = new Map<string, Set<string>>(); // "ns/svc" → slice keys
  /** Namespaces that exist (from the Namespace informer, and those holding a Service). */
  private namespaces = new Set<string>();
  /** IP → names for PTR answers, rebuilt on the first reverse query after a change. */
  private reverseIndex: { generation: number; names: Map<string, string[]> } | undefined;
  /** Bumped on every change; answer caches compare it. */
  generation = 0;

  constructor(
    readonly domain = 'cluster.local',
    /** Addresses of the DNS service itself, for NS queries of the zone. */
    readonly nameservers: string[] = [],
  ) {}

  setService(s: DnsService): void {
    this.services.set(`${s.namespace}/${s.name}`, s);
    this.namespaces.add(s.namespace);
    this.generation++;
  }
  setNamespace(name: string): void {
    if (this.namespaces.has(name)) return;
    this.namespaces.add(name);
    this.generation++;
  }
  deleteNamespace(name: string): void {
    if (this.namespaces.delete(name)) this.generation++;
  }
  deleteService(namespace: string, name: string): void {
    this.services.delete(`${namespace}/${name}`);
    this.generation++;
  }
  setSlice(key: string, s: DnsSlice): void {
    const old = this.slices.get(key);
    if (old) this.bySvc.get(`${old.namespace}/${old.service}`)?.delete(key);
    this.slices.set(key, s);
    const svcKey = `${s.namespace}/${s.service}`;
    let set = this.bySvc.get(svcKey);
    if (!set) this.bySvc.set(svcKey, (set = new Set()));
    set.add(key);
    this.generation++;
  }
  deleteSlice(key: string): void {
    const old = this.slices.get(key);
    if (!old) return;
    this.slices.delete(key);
    this.bySvc.get(`${old.namespace}/${old.service}`)?.delete(key);
    this.generation++;
  }

  /** Whether `name` (lower case, no trailing dot) is inside a zone this server is authoritative for. */
  inZone(name: string): boolean {
    return (
      name === this.domain ||
      name.endsWith(`.${this.domain}`) ||
      name.endsWith('.in-addr.arpa') ||
      name === 'in-addr.arpa'
    );
  }

  private merged(svc: DnsService): Merged {
    const endpoints: DnsEndpoint[] = [];
    const ports: DnsServicePort[] = [];
    const seen = new Set<string>();
    for (const key of this.bySvc.get(`${svc.namespace}/${svc.name}`) ?? []) {
      const sl = this.slices.get(key);
      if (!sl) continue;
      for (const e of sl.endpoints) {
        // Ready only: the EndpointSlice controller already marks every endpoint of a Service with
        // publishNotReadyAddresses ready, and CoreDNS reads the condition alone.
        if (!e.ready) continue;
        const addrs = e.addresses.filter((a) => isIPv4(a) && !seen.has(a));
        if (addrs.length === 0) continue;
        for (const a of addrs) seen.add(a);
        endpoints.push({ ...e, addresses: addrs });
      }
      for (const p of sl.ports) if (!ports.some((q) => q.name === p.name && q.protocol === p.protocol)) ports.push(p);
    }
    return { endpoints, ports };
  }

  /** Resolves one question. `name` is lower case without the trailing dot. */
  resolve(name: string, type: RecordType): Resolution {
    if (name.endsWith('.in-addr.arpa') || name === 'in-addr.arpa') return this.reverse(name, type);
    // ANY gets no records, as from CoreDNS (RFC 8482 lets a server answer it minimally): NODATA
    // for a name that exists.
    if (type === 'ANY') return this.resolve(name, 'A').rcode === 'NXDOMAIN' ? NX : NODATA;
    if (name === this.domain) {
      if (type === 'NS') return this.nsAnswer();
      if (type === 'SOA') return { rcode: 'NOERROR', answers: [{ name, type: 'SOA', data: 'zone' }], additionals: [] };
      return NODATA;
    }
    if (!name.endsWith(`.${this.domain}`)) return NX;
    const labels = name.slice(0, -this.domain.length - 1).split('.');
    const kind = labels[labels.length - 1];
    if (labels.length === 1 && (kind === 'svc' || kind === 'pod')) return NODATA;
    if (kind === 'svc') return this.service(name, labels.slice(0, -1), type);
    if (kind === 'pod') return this.pod(name, labels.slice(0, -1), type);
    if (name === `dns-version.${this.domain}`) {
      return type === 'TXT'
        ? {
            rcode: 'NOERROR',
            answers: [{ name, type: 'TXT', data: SCHEMA_VERSION, ttl: SCHEMA_TTL }],
            additionals: [],
          }
        : NODATA;
    }
    if (name === `ns.dns.${this.domain}` && this.nameservers.length) {
      return type === 'A'
        ? { rcode: 'NOERROR', answers: this.nameservers.map((ip) => ({ name, type: 'A', data: ip })), additionals: [] }
        : NODATA;
    }
    return NX;
  }

  private nsAnswer(): Resolution {
    const target = `ns.dns.${this.domain}`;
    return {
      rcode: 'NOERROR',
      answers: [{ name: this.domain, type: 'NS', data: target }],
      additionals: this.nameservers.map((ip) => ({ name: target, type: 'A', data: ip })),
    };
  }

  private pod(name: string, labels: string[], type: RecordType): Resolution {
    // <dashed-ip>.<namespace>.pod.<domain>
    if (labels.length !== 2) return labels.length === 1 && this.namespaces.has(labels[0]) ? NODATA : NX;
    const ip = undashed(labels[0]);
    if (!ip || !isIPv4(ip) || !this.namespaces.has(labels[1])) return NX;
    if (type !== 'A') return NODATA;
    return { rcode: 'NOERROR', answers: [{ name, type: 'A', data: ip }], additionals: [] };
  }

  private service(name: string, labels: string[], type: RecordType): Resolution {
    // SRV: _<port>._<proto>.<svc>.<ns>.svc.<domain>
    if (labels.length === 4 && labels[0].startsWith('_') && labels[1].startsWith('_')) {
      const svc = this.services.get(`${labels[3]}/${labels[2]}`);
      if (!svc) return NX;
      const res = this.srv(name, svc, labels[0].slice(1), labels[1].slice(1), 'SRV');
      if (type === 'SRV' || res.rcode === 'NXDOMAIN') return res;
      // The named port's name has the Service's addresses too (CoreDNS answers A there).
      return this.serviceAddress(name, svc, type);
    }
    if (labels.length === 1) return this.namespaces.has(labels[0]) ? NODATA : NX; // <ns>.svc
    if (labels.length === 2) {
      const svc = this.services.get(`${labels[1]}/${labels[0]}`);
      if (!svc) return NX;
      if (type === 'SRV') return this.srv(name, svc, undefined, undefined, type);
      return this.serviceAddress(name, svc, type);
    }
    if (labels.length === 3) {
      // <endpoint hostname or dashed ip>.<svc>.<ns>.svc
      const svc = this.services.get(`${labels[2]}/${labels[1]}`);
      if (!svc || !svc.headless) return NX;
      const ep = this.merged(svc).endpoints.find(
        (e) => e.hostname === labels[0] || (!e.hostname && e.addresses.some((a) => dashed(a) === labels[0])),
      );
      if (!ep) return NX;
      const ips = ep.hostname ? ep.addresses : ep.addresses.filter((a) => dashed(a) === labels[0]);
      if (type === 'SRV') {
        // The endpoint's own ports, with itself as the target (as CoreDNS answers).
        const ports = this.merged(svc).ports;
        const weight = Math.max(1, Math.floor(100 / Math.max(1, ports.length)));
        return {
          rcode: 'NOERROR',
          answers: ports.map((p) => ({
            name,
            type: 'SRV' as const,
            data: { priority: 0, weight, port: p.port, target: name },
          })),
          additionals: ips.map((ip) => ({ name, type: 'A' as const, data: ip })),
        };
      }
      if (type !== 'A') return NODATA;
      return { rcode: 'NOERROR', answers: ips.map((ip) => ({ name, type: 'A', data: ip })), additionals: [] };
    }
    return NX;
  }

  private serviceAddress(name: string, svc: DnsService, type: RecordType): Resolution {
    if (svc.type === 'ExternalName') {
      if (!svc.externalName) return NX;
      // A CNAME for the address types and CNAME itself; NODATA for the rest, as from CoreDNS.
      if (type !== 'A' && type !== 'AAAA' && type !== 'CNAME') return NODATA;
      return {
        rcode: 'NOERROR',
        answers: [{ name, type: 'CNAME', data: svc.externalName.replace(/\.$/, '') }],
        additionals: [],
      };
    }
    if (!svc.headless) {
      if (type !== 'A') return NODATA;
      return {
        rcode: 'NOERROR',
        answers: svc.clusterIPs.map((ip) => ({ name, type: 'A', data: ip })),
        additionals: [],
      };
    }
    const eps = this.merged(svc).endpoints;
    if (eps.length === 0) return NX; // a headless Service without ready endpoints has no name yet
    if (type !== 'A') return NODATA;
    return {
      rcode: 'NOERROR',
      answers: eps.flatMap((e) => e.addresses.map((ip) => ({ name, type: 'A' as const, data: ip }))),
      additionals: [],
    };
  }

  private srv(name: string, svc: DnsService, port?: string, proto?: string, type?: RecordType): Resolution {
    if (type !== 'SRV') return NODATA;
    if (svc.headless && this.merged(svc).endpoints.length === 0) return NX;
    const svcName = `${svc.name}.${svc.namespace}.svc.${this.domain}`;
    const match = (p: DnsServicePort) =>
      (port === undefined || p.name === port) && (proto === undefined || p.protocol.toLowerCase() === proto);
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    if (!svc.headless) {
      const ports = svc.ports.filter((p) => p.name !== '' || port === undefined).filter(match);
      if (ports.length === 0) return port === undefined ? NODATA : NX;
      // The weight splits 100 over the records, as CoreDNS does.
      const weight = Math.max(1, Math.floor(100 / ports.length));
      for (const p of ports)
        answers.push({ name, type: 'SRV', data: { priority: 0, weight, port: p.port, target: svcName } });
      for (const ip of svc.clusterIPs) additionals.push({ name: svcName, type: 'A', data: ip });
      return { rcode: 'NOERROR', answers, additionals };
    }
    const { endpoints, ports } = this.merged(svc);
    const wanted = ports.filter(match);
    if (wanted.length === 0 || endpoints.length === 0) return port === undefined ? NODATA : NX;
    const records = endpoints.reduce((n, e) => n + (e.hostname ? 1 : e.addresses.length), 0) * wanted.length;
    const weight = Math.max(1, Math.floor(100 / records));
    for (const e of endpoints) {
      for (const ip of e.addresses) {
        const target = `${e.hostname ?? dashed(ip)}.${svcName}`;
        for (const p of wanted)
          answers.push({ name, type: 'SRV', data: { priority: 0, weight, port: p.port, target } });
        additionals.push({ name: target, type: 'A', data: ip });
        if (e.hostname) break; // one target name per endpoint with a hostname
      }
    }
    return { rcode: 'NOERROR', answers, additionals };
  }

  private reverse(name: string, type: RecordType): Resolution {
    // Only PTR records of addresses the cluster knows are answered here; the rest of the reverse
    // zone (other types, shorter names, other addresses) goes upstream.
    if (type !== 'PTR') return FORWARD;
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4) return FORWARD;
    const ip = parts.reverse().join('.');
    if (!isIPv4(ip)) return FORWARD;
    const names = this.reverseNames().get(ip);
    if (!names) return FORWARD;
    return { rcode: 'NOERROR', answers: names.map((n) => ({ name, type: 'PTR', data: n })), additionals: [] };
  }

  /** Service addresses name their Service; other endpoint addresses name the endpoint. */
  private reverseNames(): Map<string, string[]> {
    if (this.reverseIndex?.generation === this.generation) return this.reverseIndex.names;
    const names = new Map<string, string[]>();
    const add = (ip: string, n: string) => {
      const l = names.get(ip);
      if (l) l.push(n);
      else names.set(ip, [n]);
    };
    for (const svc of this.services.values()) {
      for (const ip of svc.clusterIPs) add(ip, `${svc.name}.${svc.namespace}.svc.${this.domain}`);
    }
    const serviceIPs = new Set(names.keys());
    for (const svc of this.services.values()) {
      for (const e of this.merged(svc).endpoints) {
        for (const ip of e.addresses) {
          if (!serviceIPs.has(ip))
            add(ip, `${e.hostname ?? dashed(ip)}.${svc.name}.${svc.namespace}.svc.${this.domain}`);
        }
      }
    }
    this.reverseIndex = { generation: this.generation, names };
    return names;
  }
}
