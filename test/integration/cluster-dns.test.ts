// The cluster DNS against real resolvers: a real API server (memory store) holds Services and
// EndpointSlices; ClusterDns listens on the host end of a veth into a private network namespace
// whose /etc/resolv.conf is the one kubelet writes for a Pod (search path, ndots:5). In that
// namespace busybox nslookup, glibc (getent) and musl (a getaddrinfo program built with
// musl-gcc) resolve short and full names, headless Services, SRV and PTR records, and external
// names are forwarded to an upstream stub of the test's own. Everything made is removed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const id = randomBytes(3).toString('hex');
const ns = `dns-${id}`;
const netns = `skdns${id}`;
const hostIf = `skdh${id}`;
const nsIf = `skdn${id}`;
// A /30 in 10.251.0.0/16 picked per run; nothing routes it off the machine (the netns has no default route).
const n = parseInt(id.slice(0, 4), 16) % 16384;
const base = `10.251.${n >> 6}.${(n & 63) * 4}`;
const [a, b, c] = base.split('.');
const d = Number(base.split('.')[3]);
const hostIp = `${a}.${b}.${c}.${d + 1}`;
const nsIp = `${a}.${b}.${c}.${d + 2}`;
const upstreamIp = '127.0.0.1';

let srv: RunningServer, client: KubeClient, dir: string, dns: ClusterDns, upstream: DnsListener;
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
// Resolvers run asynchronously: the DNS server answers from this same process.
const run = promisify(execFile);
const inNs = async (cmd: string[]) => (await run('ip', ['netns', 'exec', netns, ...cmd], { timeout: 20_000 })).stdout;
const inNsSync = (cmd: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...cmd], { encoding: 'utf8' });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-dns-'));
  srv = await startServer({
    dataDir: dir,
    httpsListen: '127.0.0.1:0',
    datastore: 'memory://',
    log: createLogger({}, { level: 'warn' }),
  });
  client = adminClient(srv);
  sh('ip', ['netns', 'add', netns]);
  sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
  sh('ip', ['link', 'set', nsIf, 'netns', netns]);
  sh('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
  sh('ip', ['link', 'set', hostIf, 'up']);
  inNsSync(['ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsIf]);
  inNsSync(['ip', 'link', 'set', nsIf, 'up']);
  inNsSync(['ip', 'link', 'set', 'lo', 'up']);
  // What kubelet writes for a Pod in `ns` (ClusterFirst).
  mkdirSync(`/etc/netns/${netns}`, { recursive: true });
  writeFileSync(
    `/etc/netns/${netns}/resolv.conf`,
    `search ${ns}.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${hostIp}\noptions ndots:5\n`,
  );
  writeFileSync(`/etc/netns/${netns}/hosts`, '127.0.0.1 localhost\n');
  // An upstream resolver stub of our own: answers example.test, refuses the rest.
  upstream = await listenDns(upstreamIp, 0, (msg) => {
    const q = dnsPacket.decode(msg);
    const name = q.questions![0].name;
    return dnsPacket.encode({
      id: q.id,
      type: 'response',
      flags: dnsPacket.RECURSION_AVAILABLE | (name === 'example.test' ? 0 : 3),
      questions: q.questions,
      answers:
        name === 'example.test' && q.questions![0].type === 'A'
          ? [{ name, type: 'A', ttl: 60, class: 'IN', data: '192.0.2.7' }]
          : [],
    });
  });
  dns = new ClusterDns({
    client,
    listen: [{ address: hostIp, port: 53 }],
    upstreams: [`${upstreamIp}:${upstream.port}`],
    log: createLogger({}, { level: 'warn' }),
  });
  await dns.start();
  await client.request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
  });
  const svc = (name: string, spec: Record<string, unknown>) =>
    client.request('POST', `/api/v1/namespaces/${ns}/services`, {
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec },
    });
  await svc('web', { ports: [{ name: 'http', port: 80, targetPort: 8080 }], selector: { app: 'web' } });
  await svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }], selector: { app: 'db' } });
  await svc('ext', { type: 'ExternalName', externalName: 'example.test' });
  await client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
    body: {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'db-1', labels: { 'kubernetes.io/service-name': 'db' } },
      addressType: 'IPv4',
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.42.7.10'], hostname: 'db-0', conditions: { ready: true } },
        { addresses: ['10.42.7.11'], hostname: 'db-1', conditions: { ready: true } },
        { addresses: ['10.42.7.12'], hostname: 'db-2', conditions: { ready: false } },
      ],
    },
  });
});

after(async () => {
  await dns?.stop();
  await upstream?.close();
  try {
    sh('ip', ['link', 'del', hostIf]);
  } catch {
    /* never made */
  }
  try {
    sh('ip', ['netns', 'del', netns]);
  } catch {
    /* never made */
  }
  rmSync(`/etc/netns/${netns}`, { recursive: true, force: true });
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function webIP(): Promise<string> {
  const s = await client.request<{ spec: { clusterIP: string } }>('GET', `/api/v1/namespaces/${ns}/services/web`);
  return s.spec.clusterIP;
}

/** Waits until the informers have delivered what the test wrote. */
async function settled(name: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (dns.records.resolve(name, 'A').rcode !== 'NOERROR') {
    if (Date.now() > end) throw new Error(`${name} never appeared in the cluster DNS`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('busybox nslookup: Service, headless, StatefulSet-style names, SRV, PTR', async () => {
  await settled(`db-1.db.${ns}.svc.cluster.local`);
  const ip = await webIP();
  const out = await inNs(['busybox', 'nslookup', `web.${ns}.svc.cluster.local`, hostIp]);
  assert.match(out, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
  const headless = await inNs(['busybox', 'nslookup', `db.${ns}.svc.cluster.local`, hostIp]);
  assert.match(headless, /10\.42\.7\.10/);
  assert.match(headless, /10\.42\.7\.11/);
  assert.doesNotMatch(headless, /10\.42\.7\.12/, 'a not-ready endpoint is not published');
  assert.match(await inNs(['busybox', 'nslookup', `db-0.db.${ns}.svc.cluster.local`, hostIp]), /10\.42\.7\.10/);
  const srv = await inNs(['busybox', 'nslookup', '-type=SRV', `_http._tcp.web.${ns}.svc.cluster.local`, hostIp]);
  assert.match(srv, new RegExp(`0 100 80 web\\.${ns}\\.svc\\.cluster\\.local`));
  const ptr = await inNs(['busybox', 'nslookup', ip, hostIp]);
  assert.match(ptr, new RegExp(`web\\.${ns}\\.svc\\.cluster\\.local`));
});

test('glibc getent: short names through the search path, ndots:5, ExternalName, forwarding', async () => {
  await settled(`web.${ns}.svc.cluster.local`);
  const ip = await webIP();
  assert.match(await inNs(['getent', 'hosts', 'web']), new RegExp(`^${ip.replace(/\./g, '\\.')}\\s`));
  assert.match(await inNs(['getent', 'hosts', `web.${ns}`]), new RegExp(`^${ip.replace(/\./g, '\\.')}\\s`));
  assert.match(await inNs(['getent', 'ahostsv4', `db-1.db`]), /10\.42\.7\.11/);
  // ExternalName: a CNAME the resolver follows to the upstream's answer.
  assert.match(await inNs(['getent', 'hosts', 'ext']), /192\.0\.2\.7/);
  assert.match(await inNs(['getent', 'hosts', 'example.test']), /192\.0\.2\.7/);
  await assert.rejects(inNs(['getent', 'hosts', 'nothing-here']), 'an unknown name fails');
});

test('musl getaddrinfo (AAAA and A in parallel, NODATA for AAAA): short and full names', async () => {
  await settled(`web.${ns}.svc.cluster.local`);
  const prog = join(dir, 'resolve');
  writeFileSync(
    `${prog}.c`,
    `#include <netdb.h>
#include <stdio.h>
#include <arpa/inet.h>
int main(int argc, char **argv) {
  struct addrinfo hints = {0}, *res, *p; char buf[64];
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(argv[1], NULL, &hints, &res);
  if (rc) { fprintf(stderr, "%s\\n", gai_strerror(rc)); return 2; }
  for (p = res; p; p = p->ai_next) if (p->ai_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)p->ai_addr)->sin_addr, buf, sizeof buf); puts(buf); }
  return 0;
}
`,
  );
  execFileSync('musl-gcc', ['-static', '-O1', '-o', prog, `${prog}.c`]);
  const ip = await webIP();
  assert.equal((await inNs([prog, 'web'])).trim(), ip);
  assert.equal((await inNs([prog, `web.${ns}.svc.cluster.local`])).trim(), ip);
  assert.deepEqual((await inNs([prog, 'db'])).trim().split('\n').sort(), ['10.42.7.10', '10.42.7.11']);
  await assert.rejects(inNs([prog, 'missing']));
});

test('updates are answered at once: a new Service, a deleted one', async () => {
  await client.request('POST', `/api/v1/namespaces/${ns}/services`, {
    body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'late' }, spec: { ports: [{ port: 81 }] } },
  });
  await settled(`late.${ns}.svc.cluster.local`);
  assert.match(await inNs(['getent', 'hosts', 'late']), /^10\./);
  await client.request('DELETE', `/api/v1/namespaces/${ns}/services/late`);
  const end = Date.now() + 10_000;
  while (dns.records.resolve(`late.${ns}.svc.cluster.local`, 'A').rcode === 'NOERROR') {
    if (Date.now() > end) throw new Error('late never left the cluster DNS');
    await new Promise((r) => setTimeout(r, 50));
  }
  await assert.rejects(inNs(['getent', 'hosts', 'late']));
});
