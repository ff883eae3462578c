// The cluster DNS against CoreDNS v1.12.4 (scripts/build-coredns.sh), the server k3s ships: one API
// server (memory store) holds Services of every kind and their EndpointSlices; Skiff's ClusterDns
// and CoreDNS (its `kubernetes` plugin pointed at the same API server with `pods insecure` and
// `fallthrough` for the reverse zones, `forward` to an upstream stub of the test's own, as in k3s's
// Corefile) answer the same queries over UDP (with and without EDNS) and TCP. Each answer is reduced
// to what a client sees (rcode, AA/RA/TC flags, answer, authority and additional records with their
// TTLs, the OPT size) and the two must be equal, except where docs/dns.md names a kept difference.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import dnsPacket from 'dns-packet';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { ClusterDns } from '../../src/kube/dns/index.js';
import { listenDns, type DnsListener } from '../../src/network/index.js';
import { createLogger } from '../../src/common/index.js';
import { adminClient } from '../fixtures/admin-client.js';

const ROOT = join(import.meta.dirname, '..', '..');
const id = randomBytes(3).toString('hex');
const ns = `dd-${id}`;
// A loopback address of this run's own for CoreDNS (port 53 there is free: 127.0.0.0/8 is all local).
const n = parseInt(id, 16);
const coreIp = `127.53.${(n >> 8) & 255}.${(n & 254) + 1}`;

let srv: RunningServer, client: KubeClient, dir: string, dns: ClusterDns, upstream: DnsListener;
let coredns: ChildProcess | undefined;
let corelog = '';
let ours: { address: string; port: number };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-dnsdiff-'));
  const bin = execFileSync('bash', [join(ROOT, 'scripts/build-coredns.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  srv = await startServer({
    dataDir: dir,
    httpsListen: '127.0.0.1:0',
    datastore: 'memory://',
    log: createLogger({}, { level: 'warn' }),
  });
  client = adminClient(srv);
  // The upstream stub: example.test has an A record (TTL 60) and a TXT; everything else NXDOMAIN.
  upstream = await listenDns('127.0.0.1', 0, (msg) => {
    const q = dnsPacket.decode(msg);
    const qq = q.questions![0];
    const name = qq.name.toLowerCase();
    const qtype: string = qq.type;
    const answers: dnsPacket.Answer[] = [];
    if (name === 'example.test' && (qtype === 'A' || qtype === 'ANY'))
      answers.push({ name: qq.name, type: 'A', ttl: 60, class: 'IN', data: '192.0.2.7' });
    if (name === 'example.test' && (qtype === 'TXT' || qtype === 'ANY'))
      answers.push({ name: qq.name, type: 'TXT', ttl: 60, class: 'IN', data: 'hello' });
    return dnsPacket.encode({
      id: q.id,
      type: 'response',
      flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED | (name === 'example.test' ? 0 : 3),
      questions: q.questions,
      answers,
      // A real upstream answers an EDNS query with an OPT record of its own (RFC 6891).
      additionals: q.additionals?.some((a) => a.type === 'OPT') ? [opt(1232)] : [],
    });
  });
  dns = new ClusterDns({
    client,
    listen: [{ address: '127.0.0.1', port: 0 }],
    upstreams: [`127.0.0.1:${upstream.port}`],
    log: createLogger({}, { level: 'warn' }),
  });
  await dns.start();
  ours = dns.addresses[0];
  // k3s's Corefile, less what does not answer queries (health, ready, prometheus, reload, loop), the
  // NodeHosts file and `loadbalance` (it only shuffles the order; answers are compared as sets), and
  // `cache` (it would make the TTLs depend on timing).
  writeFileSync(
    join(dir, 'Corefile'),
    `.:53 {
  bind ${coreIp}
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig ${srv.kubeconfigPath}
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  forward . 127.0.0.1:${upstream.port}
}
`,
  );
  coredns = spawn(bin, ['-conf', join(dir, 'Corefile')], { stdio: ['ignore', 'pipe', 'pipe'] });
  coredns.stdout!.on('data', (d) => (corelog += d));
  coredns.stderr!.on('data', (d) => (corelog += d));

  await client.request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
  });
  const svc = (name: string, spec: Record<string, unknown>) =>
    client.request('POST', `/api/v1/namespaces/${ns}/services`, {
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec },
    });
  const slice = (name: string, service: string, ports: unknown[], endpoints: unknown[]) =>
    client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      body: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name, labels: { 'kubernetes.io/service-name': service } },
        addressType: 'IPv4',
        ports,
        endpoints,
      },
    });
  await svc('web', {
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ],
    selector: { app: 'web' },
  });
  await slice(
    'web-1',
    'web',
    [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ],
    [{ addresses: ['10.42.9.20'], conditions: { ready: true } }],
  );
  await svc('plain', { ports: [{ port: 81 }], selector: { app: 'plain' } });
  await svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }], selector: { app: 'db' } });
  await slice(
    'db-1',
    'db',
    [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    [
      { addresses: ['10.42.7.10'], hostname: 'db-0', conditions: { ready: true } },
      { addresses: ['10.42.7.11'], hostname: 'db-1', conditions: { ready: true } },
      { addresses: ['10.42.7.12'], hostname: 'db-2', conditions: { ready: false } },
    ],
  );
  await svc('anon', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }], selector: { app: 'anon' } });
  await slice(
    'anon-1',
    'anon',
    [{ name: 'http', port: 80, protocol: 'TCP' }],
    [{ addresses: ['10.42.8.1'], conditions: { ready: true } }, { addresses: ['10.42.8.2'] }],
  );
  await svc('nr', {
    clusterIP: 'None',
    publishNotReadyAddresses: true,
    ports: [{ name: 'peer', port: 2380 }],
    selector: { app: 'nr' },
  });
  await slice(
    'nr-1',
    'nr',
    [{ name: 'peer', port: 2380, protocol: 'TCP' }],
    [
      { addresses: ['10.42.6.1'], hostname: 'nr-0', conditions: { ready: false } },
      { addresses: ['10.42.6.2'], hostname: 'nr-1', conditions: { ready: true } },
    ],
  );
  await svc('empty', { clusterIP: 'None', ports: [{ name: 'x', port: 1 }], selector: { app: 'none' } });
  await svc('ext', { type: 'ExternalName', externalName: 'example.test' });
  await svc('alias', { type: 'ExternalName', externalName: `web.${ns}.svc.cluster.local` });
  await svc('big', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }], selector: { app: 'big' } });
  await slice(
    'big-1',
    'big',
    [{ name: 'http', port: 80, protocol: 'TCP' }],
    Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.42.5.${i + 1}`], conditions: { ready: true } })),
  );
  // Both servers have everything once the last object answers on each.
  for (const who of ['skiff', 'coredns'] as const) {
    const end = Date.now() + 60_000;
    for (;;) {
      // Each informer (Services, EndpointSlices, Namespaces) delivers in order, but not in step
      // with the others: the last object of each kind answers.
      const ready = await Promise.all([
        ask(who, `big.${ns}.svc.cluster.local`, 'A', 'tcp').then((r) => r.answers?.length === 60),
        ask(who, `1-2-3-4.${ns}.pod.cluster.local`, 'A', 'tcp').then((r) => r.answers?.length === 1),
      ]).catch(() => [false]);
      if (ready.every(Boolean)) break;
      if (Date.now() > end) throw new Error(`${who} never answered big.${ns}; CoreDNS log:\n${corelog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
});

after(async () => {
  if (coredns && coredns.exitCode === null) {
    const exited = new Promise((r) => coredns!.once('exit', r));
    coredns.kill('SIGTERM');
    await exited;
  }
  await dns?.stop();
  await upstream?.close();
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Transport = 'udp' | 'edns' | 'tcp';

function opt(size: number): dnsPacket.OptAnswer {
  return {
    name: '.',
    type: 'OPT',
    udpPayloadSize: size,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

function query(name: string, type: string, transport: Transport, qid: number): Buffer {
  return dnsPacket.encode({
    id: qid,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as dnsPacket.RecordType, class: 'IN' }],
    additionals: transport === 'edns' ? [opt(1232)] : [],
  });
}

async function ask(who: 'skiff' | 'coredns', name: string, type: string, transport: Transport) {
  const [host, port] = who === 'skiff' ? [ours.address, ours.port] : [coreIp, 53];
  const qid = randomBytes(2).readUInt16BE(0);
  const msg = query(name, type, transport, qid);
  const raw = await new Promise<Buffer>((resolve, reject) => {
    if (transport === 'tcp') {
      const sock = connect(port, host);
      let buf = Buffer.alloc(0);
      const t = setTimeout(() => (sock.destroy(), reject(new Error(`${who} tcp timeout ${name} ${type}`))), 5000);
      sock.on('error', (e) => (clearTimeout(t), reject(e)));
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(t);
          sock.destroy();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      sock.write(Buffer.concat([len, msg]));
      return;
    }
    const sock = createSocket('udp4');
    const t = setTimeout(() => (sock.close(), reject(new Error(`${who} udp timeout ${name} ${type}`))), 5000);
    sock.on('message', (m) => {
      if (m.readUInt16BE(0) !== qid) return;
      clearTimeout(t);
      sock.close();
      resolve(m);
    });
    sock.send(msg, port, host);
  });
  const p = dnsPacket.decode(raw);
  return Object.assign(p, { size: raw.length, rawQuestion: raw.subarray(12, 12 + msg.length - 12) });
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

function rdata(a: dnsPacket.Answer): string {
  switch (a.type) {
    case 'SOA': {
      const d = a.data;
      // The serial differs by design (CoreDNS: a timestamp); everything else is compared.
      return `${d.mname} ${d.rname} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    }
    case 'SRV':
      return `${a.data.priority} ${a.data.weight} ${a.data.port} ${a.data.target}`;
    case 'TXT':
      return ([] as (string | Buffer)[]).concat(a.data).map(String).join(' ');
    case 'OPT':
      return `size ${a.udpPayloadSize}`;
    default:
      return String(a.data);
  }
}

/**
 * What a client sees of a reply, as comparable lines. Letter case is compared in the question and
 * the answers' owner names (both servers give them as asked); elsewhere names are compared in lower
 * case (CoreDNS writes the zone part of an SRV target as asked, `web.ns.svc.CLUSTER.LOCAL`;
 * Skiff in lower case: the same name to any resolver, RFC 4343).
 */
function view(p: dnsPacket.DecodedPacket & { size: number }) {
  const recs = (xs: dnsPacket.Answer[] | undefined, owners = false) =>
    (xs ?? [])
      .map((a) => {
        // An upstream's record may come from Skiff's forwarding cache a second later, its TTL
        // counted down (CoreDNS runs here without its cache): TTLs near the stub's 60 are one value.
        const ttl = a.type === 'OPT' ? '-' : a.ttl! > 50 && a.ttl! <= 60 ? '~60' : a.ttl;
        const line = `${ttl} ${a.type} ${rdata(a)}`.toLowerCase();
        return `${owners ? a.name : a.name.toLowerCase()} ${line}`;
      })
      .sort();
  const flags = p.flags ?? 0;
  return {
    rcode: RCODES[flags & 0xf] ?? String(flags & 0xf),
    flags: [
      flags & dnsPacket.AUTHORITATIVE_ANSWER ? 'aa' : '',
      flags & dnsPacket.RECURSION_AVAILABLE ? 'ra' : '',
      flags & dnsPacket.RECURSION_DESIRED ? 'rd' : '',
      flags & dnsPacket.TRUNCATED_RESPONSE ? 'tc' : '',
    ]
      .filter(Boolean)
      .join(' '),
    question: p.questions?.map((q) => `${q.name} ${q.type}`).join(','),
    answers: recs(p.answers, true),
    authorities: recs(p.authorities),
    additionals: recs(p.additionals),
  };
}

/** The query set: [name, type]. */
function cases(): [string, string][] {
  const d = `${ns}.svc.cluster.local`;
  const names: [string, string][] = [];
  const all = (name: string, types = ['A', 'AAAA', 'SRV', 'TXT', 'CNAME', 'PTR', 'ANY']) => {
    for (const t of types) names.push([name, t]);
  };
  all(`web.${d}`);
  all(`WEB.${d.toUpperCase()}`, ['A', 'SRV']);
  all(`plain.${d}`, ['A', 'SRV']);
  all(`_http._tcp.web.${d}`, ['SRV', 'A', 'AAAA']);
  all(`_dns._udp.web.${d}`, ['SRV']);
  all(`_dns._tcp.web.${d}`, ['SRV']);
  all(`_nope._tcp.web.${d}`, ['SRV']);
  all(`_http._tcp.plain.${d}`, ['SRV']);
  all(`*.${d}`, ['A', 'SRV']);
  all(`_http._tcp.*.${d}`, ['SRV']);
  all(`*.*.svc.cluster.local`, ['A']);
  all(`db.${d}`, ['A', 'AAAA', 'SRV', 'ANY']);
  all(`_pg._tcp.db.${d}`, ['SRV']);
  all(`db-0.db.${d}`, ['A', 'AAAA', 'SRV']);
  all(`db-2.db.${d}`, ['A']);
  all(`nope.db.${d}`, ['A']);
  all(`anon.${d}`, ['A', 'SRV']);
  all(`10-42-8-1.anon.${d}`, ['A', 'AAAA']);
  all(`10-42-8-9.anon.${d}`, ['A']);
  all(`nr.${d}`, ['A', 'SRV']);
  all(`nr-0.nr.${d}`, ['A']);
  all(`empty.${d}`, ['A', 'AAAA', 'SRV']);
  all(`_x._tcp.empty.${d}`, ['SRV']);
  all(`ext.${d}`, ['A', 'AAAA', 'CNAME', 'TXT', 'SRV', 'ANY']);
  all(`alias.${d}`, ['A', 'AAAA', 'CNAME']);
  all(`big.${d}`, ['A', 'SRV']);
  all(`missing.${d}`, ['A', 'AAAA', 'SRV']);
  all(d, ['A', 'AAAA', 'SRV', 'NS', 'SOA']);
  all(`nonexistent-ns.svc.cluster.local`, ['A']);
  all(`svc.cluster.local`, ['A', 'SOA']);
  all(`pod.cluster.local`, ['A']);
  all(`cluster.local`, ['A', 'AAAA', 'SOA', 'ANY']);
  all(`other.cluster.local`, ['A']);
  all(`dns-version.cluster.local`, ['TXT']);
  all(`1-2-3-4.${ns}.pod.cluster.local`, ['A', 'AAAA', 'PTR']);
  all(`1-2-3-4.nonexistent-ns.pod.cluster.local`, ['A']);
  all(`1-2-3.${ns}.pod.cluster.local`, ['A']);
  all(`${ns}.pod.cluster.local`, ['A']);
  all('20.9.42.10.in-addr.arpa', ['PTR', 'A']);
  all('10.7.42.10.in-addr.arpa', ['PTR']);
  all('1.8.42.10.in-addr.arpa', ['PTR']);
  all('9.9.9.10.in-addr.arpa', ['PTR']);
  all('42.10.in-addr.arpa', ['PTR']);
  // What a resolver with ndots:5 and the Pod's search path sends for `web`, `web.<ns>` and an
  // outside name (glibc in turn, musl A and AAAA at once; both end with the name as given).
  for (const base of ['web', `web.${ns}`, 'example.test', 'db-0.db']) {
    for (const suffix of [`${ns}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local']) {
      all(`${base}.${suffix}`, ['A', 'AAAA']);
    }
  }
  all('example.test', ['A', 'AAAA', 'TXT']);
  all('missing.test', ['A']);
  return names;
}

test('differential: the same queries to Skiff and CoreDNS get the same answers', async () => {
  const diffs: string[] = [];
  for (const [name, type] of cases()) {
    for (const t of ['udp', 'edns', 'tcp'] as Transport[]) {
      const a = view(await ask('skiff', name, type, t));
      const b = view(await ask('coredns', name, type, t));
      const fields = Object.keys(a) as (keyof typeof a)[];
      const bad = fields.filter((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f]));
      if (bad.length)
        diffs.push(
          `${name} ${type} ${t}: ${bad.map((f) => `${f}: skiff ${JSON.stringify(a[f])} coredns ${JSON.stringify(b[f])}`).join('; ')}`,
        );
    }
  }
  assert.deepEqual(diffs, [], diffs.join('\n'));
});

// Differences kept on purpose (docs/dns.md), asserted so they stay what we say they are.
test('kept differences: the zone NS names this server; TXT at the apex is NODATA', async () => {
  // CoreDNS finds its own Service (kube-dns) by its Pod's address; this test has none, so it answers
  // NODATA. Skiff's DNS listens on the kube-dns address itself and names it.
  const ns1 = view(await ask('skiff', 'cluster.local', 'NS', 'udp'));
  assert.deepEqual(ns1.answers, ['cluster.local 5 ns ns.dns.cluster.local']);
  assert.deepEqual(ns1.additionals, [`ns.dns.cluster.local 5 a ${ours.address}`]);
  assert.deepEqual(view(await ask('skiff', 'ns.dns.cluster.local', 'A', 'udp')).answers, [
    `ns.dns.cluster.local 5 a ${ours.address}`,
  ]);
  // CoreDNS answers NXDOMAIN for a TXT at its own apex; the name exists (it has SOA and NS), so
  // NODATA (RFC 8020: NXDOMAIN would mean nothing exists below it either).
  const txt = view(await ask('skiff', 'cluster.local', 'TXT', 'udp'));
  assert.equal(txt.rcode, 'NOERROR');
  assert.deepEqual(txt.answers, []);
  assert.equal(view(await ask('coredns', 'cluster.local', 'TXT', 'udp')).rcode, 'NXDOMAIN');
});
