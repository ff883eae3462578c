import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { ClusterRecords } from './records.js';
import { ClusterDns, toDnsService, toDnsSlice } from './server.js';
import { KubeClient } from '../client/index.js';

function fixture(): ClusterRecords {
  const r = new ClusterRecords('cluster.local', ['10.96.0.10']);
  r.setService({
    namespace: 'default',
    name: 'web',
    type: 'ClusterIP',
    clusterIPs: ['10.96.0.20'],
    headless: false,
    ports: [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ],
  });
  r.setService({
    namespace: 'default',
    name: 'db',
    type: 'ClusterIP',
    clusterIPs: [],
    headless: true,
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
  });
  r.setSlice('default/db-abc', {
    namespace: 'default',
    service: 'db',
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.42.0.5'], hostname: 'db-0', ready: true },
      { addresses: ['10.42.0.6'], ready: true },
      { addresses: ['10.42.0.7'], hostname: 'db-2', ready: false },
    ],
  });
  r.setService({
    namespace: 'other',
    name: 'ext',
    type: 'ExternalName',
    clusterIPs: [],
    headless: false,
    externalName: 'example.org.',
    ports: [],
  });
  return r;
}

const data = (res: ReturnType<ClusterRecords['resolve']>) => res.answers.map((a) => a.data);

test('cluster DNS records follow the Kubernetes DNS specification', () => {
  const r = fixture();
  assert.deepEqual(data(r.resolve('web.default.svc.cluster.local', 'A')), ['10.96.0.20']);
  // An existing name without records of the asked type is NODATA, never NXDOMAIN (musl needs it).
  const aaaa = r.resolve('web.default.svc.cluster.local', 'AAAA');
  assert.equal(aaaa.rcode, 'NOERROR');
  assert.equal(aaaa.answers.length, 0);
  assert.equal(r.resolve('nope.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  assert.equal(r.resolve('web.default.svc.cluster.local.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  // Headless: the ready endpoints only.
  assert.deepEqual(data(r.resolve('db.default.svc.cluster.local', 'A')).sort(), ['10.42.0.5', '10.42.0.6']);
  assert.deepEqual(data(r.resolve('db-0.db.default.svc.cluster.local', 'A')), ['10.42.0.5']);
  assert.deepEqual(data(r.resolve('10-42-0-6.db.default.svc.cluster.local', 'A')), ['10.42.0.6']);
  assert.equal(r.resolve('db-2.db.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  // Endpoint names exist only under headless Services.
  assert.equal(r.resolve('db-0.web.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  // SRV for a named port: the Service name for a cluster IP, endpoint names for headless.
  const srv = r.resolve('_http._tcp.web.default.svc.cluster.local', 'SRV');
  assert.deepEqual(srv.answers[0].data, {
    priority: 0,
    weight: 100,
    port: 80,
    target: 'web.default.svc.cluster.local',
  });
  assert.deepEqual(data(srv.additionals === undefined ? srv : { ...srv, answers: srv.additionals }), ['10.96.0.20']);
  assert.equal(r.resolve('_dns._udp.web.default.svc.cluster.local', 'SRV').answers.length, 1);
  assert.equal(r.resolve('_dns._tcp.web.default.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN');
  const hsrv = r.resolve('_pg._tcp.db.default.svc.cluster.local', 'SRV');
  assert.deepEqual(hsrv.answers.map((a) => (a.data as { target: string }).target).sort(), [
    '10-42-0-6.db.default.svc.cluster.local',
    'db-0.db.default.svc.cluster.local',
  ]);
  assert.equal(r.resolve('web.default.svc.cluster.local', 'SRV').answers.length, 2);
  // ExternalName: a CNAME for the address types and CNAME, NODATA for the rest (as CoreDNS).
  assert.deepEqual(r.resolve('ext.other.svc.cluster.local', 'TXT').answers, []);
  assert.deepEqual(r.resolve('ext.other.svc.cluster.local', 'A').answers, [
    { name: 'ext.other.svc.cluster.local', type: 'CNAME', data: 'example.org' },
  ]);
  // Pods by dashed address; namespaces exist as empty names.
  assert.deepEqual(data(r.resolve('10-42-0-9.default.pod.cluster.local', 'A')), ['10.42.0.9']);
  assert.equal(r.resolve('10-42-0-999.default.pod.cluster.local', 'A').rcode, 'NXDOMAIN');
  assert.equal(r.resolve('default.svc.cluster.local', 'A').rcode, 'NOERROR');
  assert.equal(r.resolve('nons.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  // PTR: service addresses name the Service, endpoint addresses the endpoint.
  assert.deepEqual(data(r.resolve('20.0.96.10.in-addr.arpa', 'PTR')), ['web.default.svc.cluster.local']);
  assert.deepEqual(data(r.resolve('5.0.42.10.in-addr.arpa', 'PTR')), ['db-0.db.default.svc.cluster.local']);
  // An address the cluster does not know, and other types, go upstream (k3s's fallthrough).
  assert.equal(r.resolve('9.9.9.10.in-addr.arpa', 'PTR').forward, true);
  assert.equal(r.resolve('20.0.96.10.in-addr.arpa', 'A').forward, true);
  // A pod name in a namespace that does not exist.
  assert.equal(r.resolve('10-42-0-9.nons.pod.cluster.local', 'A').rcode, 'NXDOMAIN');
  r.setNamespace('nons');
  assert.equal(r.resolve('10-42-0-9.nons.pod.cluster.local', 'A').rcode, 'NOERROR');
  // ANY gets NODATA where the name exists.
  assert.deepEqual(r.resolve('web.default.svc.cluster.local', 'ANY'), {
    rcode: 'NOERROR',
    answers: [],
    additionals: [],
  });
  assert.equal(r.resolve('none.default.svc.cluster.local', 'ANY').rcode, 'NXDOMAIN');
  // The schema version (Kubernetes DNS specification), SOA at the apex, the bare svc/pod names.
  assert.deepEqual(data(r.resolve('dns-version.cluster.local', 'TXT')), ['1.1.0']);
  assert.equal(r.resolve('cluster.local', 'SOA').answers[0].type, 'SOA');
  assert.equal(r.resolve('svc.cluster.local', 'A').rcode, 'NOERROR');
  // The zone's NS.
  assert.deepEqual(data(r.resolve('cluster.local', 'NS')), ['ns.dns.cluster.local']);
  // Removing the slice empties the headless Service.
  r.deleteSlice('default/db-abc');
  assert.equal(r.resolve('db.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  r.deleteService('default', 'web');
  assert.equal(r.resolve('web.default.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
});

test('API objects become records: clusterIPs, None, not-ready endpoints left out', () => {
  const s = toDnsService({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'a', name: 'b' },
    spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 80 }], publishNotReadyAddresses: true },
  });
  assert.equal(s.headless, true);
  assert.deepEqual(s.clusterIPs, []);
  assert.deepEqual(s.ports, [{ name: '', port: 80, protocol: 'TCP' }]);
  const sl = toDnsSlice({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'a', name: 'b-x', labels: { 'kubernetes.io/service-name': 'b' } },
    endpoints: [{ addresses: ['10.1.1.1'] }, { addresses: ['10.1.1.2'], conditions: { ready: false } }, { bogus: 1 }],
    ports: 'not a list',
  });
  assert.deepEqual(
    sl.endpoints.map((e) => e.ready),
    [true, false, true],
  );
  assert.deepEqual(sl.ports, []);
  const r = new ClusterRecords();
  r.setService(s);
  r.setSlice('a/b-x', sl);
  // Ready endpoints only, publishNotReadyAddresses or not: the EndpointSlice controller marks every
  // endpoint of such a Service ready, and CoreDNS reads the condition alone.
  assert.deepEqual(data(r.resolve('b.a.svc.cluster.local', 'A')).sort(), ['10.1.1.1']);
});

function query(name: string, type: dnsPacket.RecordType, id = 7, edns = false): Buffer {
  return dnsPacket.encode({
    id,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals: edns
      ? [
          {
            name: '.',
            type: 'OPT',
            udpPayloadSize: 4096,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ]
      : [],
  });
}

test('wire: ids, letter case, negative answers with the SOA, truncation over UDP, bad packets', async () => {
  const dns = new ClusterDns({ client: new KubeClient({ server: 'https://127.0.0.1:1' }), listen: [], upstreams: [] });
  const r = dns.records;
  r.setService({
    namespace: 'default',
    name: 'web',
    type: 'ClusterIP',
    clusterIPs: ['10.96.0.20'],
    headless: false,
    ports: [],
  });
  const a = dnsPacket.decode((await dns.handle(query('Web.Default.svc.cluster.local', 'A', 1), false))!);
  assert.equal(a.id, 1);
  assert.equal(a.questions![0].name, 'Web.Default.svc.cluster.local');
  assert.deepEqual(
    a.answers!.map((x) => [x.type, (x as { data: unknown }).data, (x as { ttl: number }).ttl]),
    [['A', '10.96.0.20', 5]],
  );
  assert.ok(a.flags! & dnsPacket.AUTHORITATIVE_ANSWER);
  // The cached reply carries the new id.
  const again = dnsPacket.decode((await dns.handle(query('Web.Default.svc.cluster.local', 'A', 2), false))!);
  assert.equal(again.id, 2);
  const nx = dnsPacket.decode((await dns.handle(query('x.default.svc.cluster.local', 'A'), false))!);
  assert.equal((nx as unknown as { rcode: string }).rcode, 'NXDOMAIN');
  assert.equal(nx.authorities![0].type, 'SOA');
  const nodata = dnsPacket.decode((await dns.handle(query('web.default.svc.cluster.local', 'AAAA'), false))!);
  assert.equal((nodata as unknown as { rcode: string }).rcode, 'NOERROR');
  assert.equal(nodata.answers!.length, 0);
  // A change is seen at once (the answer cache follows the records' generation).
  r.deleteService('default', 'web');
  const gone = dnsPacket.decode((await dns.handle(query('Web.Default.svc.cluster.local', 'A', 3), false))!);
  assert.equal((gone as unknown as { rcode: string }).rcode, 'NXDOMAIN');
  // 100 endpoints do not fit 512 bytes: TC over UDP, everything over TCP.
  r.setService({
    namespace: 'default',
    name: 'big',
    type: 'ClusterIP',
    clusterIPs: [],
    headless: true,
    ports: [],
  });
  r.setSlice('default/big', {
    namespace: 'default',
    service: 'big',
    ports: [],
    endpoints: Array.from({ length: 100 }, (_, i) => ({ addresses: [`10.42.1.${i + 1}`], ready: true })),
  });
  const udp = (await dns.handle(query('big.default.svc.cluster.local', 'A'), false))!;
  assert.ok(udp.length <= 512);
  assert.ok(dnsPacket.decode(udp).flags! & dnsPacket.TRUNCATED_RESPONSE);
  // Names compressed: A records of 16 bytes after a 12-byte header and the 35-byte question, 29 in
  // 512 bytes (as CoreDNS packs them), each owner name a pointer to the question, so in the case asked.
  const small = dnsPacket.decode((await dns.handle(query('BIG.default.svc.cluster.local', 'A'), false))!);
  assert.equal(small.answers!.length, Math.floor((512 - 12 - 35) / 16));
  assert.ok(small.answers!.every((x) => x.name === 'BIG.default.svc.cluster.local'));
  const tcp = dnsPacket.decode((await dns.handle(query('big.default.svc.cluster.local', 'A'), true))!);
  assert.equal(tcp.answers!.length, 100);
  assert.equal(tcp.flags! & dnsPacket.TRUNCATED_RESPONSE, 0);
  assert.equal(tcp.flags! & dnsPacket.RECURSION_AVAILABLE, 0, 'no RA on an authoritative answer, as CoreDNS');
  const edns = dnsPacket.decode((await dns.handle(query('big.default.svc.cluster.local', 'A', 9, true), false))!);
  // 1232 bytes less the OPT record (11).
  assert.equal(edns.answers!.length, Math.floor((1232 - 11 - 12 - 35) / 16));
  assert.equal(edns.additionals!.at(-1)!.type, 'OPT');
  // Garbage and non-queries get FORMERR or nothing; no exception escapes.
  assert.equal(dns.handle(Buffer.from([1, 2, 3]), false), undefined);
  const bad = Buffer.from(query('a.b', 'A'));
  bad.writeUInt16BE(2, 4); // two questions
  assert.equal((dns.handle(bad, false) as Buffer)[3] & 0xf, 1);
  // Outside the zone with no upstream: SERVFAIL.
  const sf = dnsPacket.decode((await dns.handle(query('example.org', 'A'), false))!);
  assert.equal((sf as unknown as { rcode: string }).rcode, 'SERVFAIL');
});

test('repeated queries (answered before parsing, by their bytes): new id, own case, transport, EDNS, changes', async () => {
  const dns = new ClusterDns({ client: new KubeClient({ server: 'https://127.0.0.1:1' }), listen: [], upstreams: [] });
  const r = dns.records;
  const svc = (ip: string) =>
    r.setService({
      namespace: 'default',
      name: 'web',
      type: 'ClusterIP',
      clusterIPs: [ip],
      headless: false,
      ports: [],
    });
  svc('10.96.0.21');
  const ask = async (name: string, id: number, tcp = false, edns = false) =>
    dnsPacket.decode((await dns.handle(query(name, 'A', id, edns), tcp))!);
  for (let id = 1; id <= 3; id++) {
    const a = await ask('web.default.svc.cluster.local', id);
    assert.equal(a.id, id);
    assert.equal((a.answers![0] as { data: string }).data, '10.96.0.21');
    // Another letter case is another key: its own case comes back.
    const b = await ask('WEB.default.svc.cluster.local', 100 + id);
    assert.equal(b.id, 100 + id);
    assert.equal(b.questions![0].name, 'WEB.default.svc.cluster.local');
    // With EDNS the reply carries an OPT record; without, none (the two are not mixed up).
    const e = await ask('web.default.svc.cluster.local', 200 + id, false, true);
    assert.equal(e.additionals!.filter((x) => x.type === 'OPT').length, 1);
    assert.equal(a.additionals!.filter((x) => x.type === 'OPT').length, 0);
  }
  // An EDNS option (padding here; a cookie alike) after the question: answered, not kept by its bytes.
  const withCookie = dnsPacket.encode({
    id: 9,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }],
    additionals: [
      {
        name: '.',
        type: 'OPT',
        udpPayloadSize: 1232,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [{ code: 12, length: 8 }],
      },
    ],
  });
  assert.equal(dnsPacket.decode((await dns.handle(withCookie, false))!).id, 9);
  // A change of the records is seen by the next repeat.
  svc('10.96.0.22');
  const c = await ask('web.default.svc.cluster.local', 4);
  assert.equal((c.answers![0] as { data: string }).data, '10.96.0.22');
});
