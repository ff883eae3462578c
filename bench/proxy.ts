// `npm run bench -- proxy [--quick] [--services=N] [--changes=K]`: the service proxy at scale.
// One API server (memory store) holds N Services (default 5000) with an EndpointSlice of two
// endpoints each; the Proxier programs them into a table of its own. Measured:
//   1. the full sync (the whole table in one nftables transaction) at start and on demand;
//   2. K endpoint changes (default 100), each moving a probe Service from one real endpoint to
//      another: time from the EndpointSlice write being sent to the first new connection through the
//      Service reaching the new endpoint (probed by connecting from the host every millisecond),
//      p50/p99; and how long each incremental sync took.
// The endpoints are network namespaces on a private bridge answering with their name (the test
// peer of test/integration/proxy.test.ts); the other Services point at addresses nothing answers.
// Target (issue 15): p99 ≤ 0.5 s at 5000 Services. The peer, kube-proxy, is not run here: its
// published figures are in docs/proxy.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { startServer } from '../src/cluster/index.js';
import { KubeClient } from '../src/kube/client/index.js';
import { Proxier } from '../src/kube/proxy/index.js';
import { createLogger } from '../src/common/index.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const quick = process.argv.includes('--quick');
const N = arg('services', quick ? 500 : 5000);
const K = arg('changes', quick ? 20 : 100);
const id = randomBytes(3).toString('hex');
const podNet = '10.254.0';
const bridge = `skbb${id}`;
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const PEER = join(import.meta.dirname, '..', 'test', 'fixtures', 'echo-peer.mjs');
const log = createLogger({}, { level: 'warn' });

const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-proxy-'));
const peers: ChildProcess[] = [];
const namespaces: string[] = [];
let proxy: Proxier | undefined;
const srv = await startServer({
  dataDir: dir,
  httpsListen: '127.0.0.1:0',
  datastore: 'memory://',
  serviceCIDR: '10.99.0.0/16',
  controllers: false,
  log,
});
try {
  const kc = parse(readFileSync(srv.kubeconfigPath, 'utf8'));
  const b64 = (s: string) => Buffer.from(s, 'base64').toString();
  const client = new KubeClient({
    server: srv.url,
    ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b64(kc.users[0].user['client-certificate-data']),
    key: b64(kc.users[0].user['client-key-data']),
  });
  sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
  sh('ip', ['addr', 'add', `${podNet}.1/24`, 'dev', bridge]);
  sh('ip', ['link', 'set', bridge, 'up']);
  // Two endpoints answer "ep-a" (.2, .4), two "ep-b" (.3, .5).
  for (const [name, octet] of [
    ['a', 2],
    ['b', 3],
    ['a', 4],
    ['b', 5],
  ] as const) {
    const ns = `skbn${octet}${id}`;
    namespaces.push(ns);
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', `skbv${octet}${id}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['link', 'set', `skbv${octet}${id}`, 'master', bridge, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${podNet}.${octet}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', `${podNet}.1`]);
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, PEER, 'serve', `ep-${name}`, '8080'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    peers.push(p);
    await new Promise<void>((r) => p.stdout!.once('data', () => r()));
  }
  const NS = 'bench';
  await client.request('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
  });
  const sliceBody = (svc: string, ips: string[]) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-x`, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  });
  process.stdout.write(`creating ${N} Services with 2 endpoints each...\n`);
  const t0 = performance.now();
  const ips: string[] = new Array(N);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < N) {
        const i = next++;
        const s = await client.request<{ spec: { clusterIP: string } }>('POST', `/api/v1/namespaces/${NS}/services`, {
          body: {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: `s${i}` },
            spec: { ports: [{ port: 80, targetPort: 8080 }] },
          },
        });
        ips[i] = s.spec.clusterIP;
        // Until a change moves them to the real endpoints, Services point at addresses nothing answers.
        const eps = [`10.253.${(i >> 8) & 127}.${i & 255}`, `10.253.${128 + ((i >> 8) & 127)}.${i & 255}`];
        await client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
          body: sliceBody(`s${i}`, eps),
        });
      }
    }),
  );
  process.stdout.write(`  created in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  proxy = new Proxier({
    client,
    nodeName: 'bench-node',
    clusterCIDR: `${podNet}.0/24`,
    serviceCIDR: '10.99.0.0/16',
    table: `skbp${id}`,
    device: `skbd${id}`,
    log,
  });
  const s0 = performance.now();
  await proxy.start();
  const startMs = performance.now() - s0;
  const firstFull = proxy.stats.lastFullSyncMs;
  await proxy.fullSync();
  const secondFull = proxy.stats.lastFullSyncMs;
  process.stdout.write(
    `full sync of ${N} Services: ${firstFull.toFixed(0)} ms at start (start() ${startMs.toFixed(0)} ms incl. the informers' lists), ${secondFull.toFixed(0)} ms again\n`,
  );

  /** Connects to ip:80 until the answer is `want`; resolves with the time it first was. */
  const probeUntil = (ip: string, want: string) =>
    new Promise<number>((resolve, reject) => {
      const deadline = performance.now() + 10_000;
      const once = () => {
        let buf = '';
        const sock = connect(80, ip, () => sock.write('ask\n'));
        const retry = () => {
          if (performance.now() > deadline) reject(new Error(`${ip} never reached ${want}`));
          else setTimeout(once, 1);
        };
        sock.on('data', (d) => (buf += d));
        sock.on('error', () => retry());
        sock.on('end', () => (buf.trim() === want ? resolve(performance.now()) : retry()));
        sock.setTimeout(200, () => sock.destroy(new Error('timeout')));
      };
      once();
    });

  const lat: number[] = [];
  const syncMs: number[] = [];
  for (let k = 0; k < K; k++) {
    const i = Math.floor((k * N) / K);
    const target = k % 2 === 0 ? 'b' : 'a';
    const eps = target === 'a' ? [`${podNet}.2`, `${podNet}.4`] : [`${podNet}.3`, `${podNet}.5`];
    const path = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices/s${i}-x`;
    const cur = await client.request<{ metadata: { resourceVersion: string } }>('GET', path);
    const body = sliceBody(`s${i}`, eps);
    const sent = performance.now();
    await client.request('PUT', path, {
      body: { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } },
    });
    const seen = await probeUntil(ips[i], `ep-${target}`);
    lat.push(seen - sent);
    syncMs.push(proxy.stats.lastSyncMs);
  }
  const pct = (a: number[], p: number) =>
    [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
  process.stdout.write(
    `endpoint change → traffic on the new endpoint, ${K} changes at ${N} Services: p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms (target p99 ≤ 500 ms: ${pct(lat, 99) <= 500 ? 'met' : 'missed'})\n` +
      `incremental sync: p50 ${pct(syncMs, 50).toFixed(1)} ms, p99 ${pct(syncMs, 99).toFixed(1)} ms\n`,
  );
  client.close();
} finally {
  await proxy?.uninstall();
  for (const p of peers) p.kill();
  for (const ns of namespaces) {
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      /* gone */
    }
  }
  try {
    sh('ip', ['link', 'del', bridge]);
  } catch {
    /* never made */
  }
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
}
