// `npm run bench -- proxy [--quick] [--services=N] [--changes=K]`: the service proxy at scale.
// One API server (memory store) holds N Services (default 5000) with an EndpointSlice of two
// endpoints each; the Proxier programs them into a table of its own. Measured:
//   1. the full sync (the whole table in one nftables transaction) at start and on demand;
//   2. K endpoint changes (default 100), each moving a probe Service from one real endpoint to
//      another: time from the EndpointSlice write being sent to the first new connection through the
//      Service reaching the new endpoint (probed by connecting from the host every millisecond),
//      p50/p99; and how long each incremental sync took.
// The endpoints are network namespaces on a private bridge answering with their name (the test
// peer of test/integration/proxy.test.ts); the other Services point at addresses in 198.18.0.0/16 (RFC 2544 benchmark range; another test here uses 10.253.x),
// which the bench routes as unreachable for its run (so nothing leaves the machine, and a probe
// through a rule not yet changed fails at once instead of waiting for a connect timeout).
// The same measurements are made of the real kube-proxy 1.32 in nftables mode (built by
// scripts/build-kube-component.sh, run against the same API server after Skiff's proxy has removed
// its table; `kube-proxy --cleanup` afterwards), and the ratios printed. Target (issue 15): p99 ≤
// 0.5 s at 5000 Services. `--no-peer` measures Skiff alone.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { startServer } from '../src/cluster/index.js';
import { KubeClient } from '../src/kube/client/index.js';
import { Proxier } from '../src/kube/proxy/index.js';
import { createLogger } from '../src/common/index.js';
import { ensureServiceDevice, removeServiceDevice } from '../src/kube/proxy/index.js';
import { startKubeProxy } from './proxy-peer.js';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
const quick = process.argv.includes('--quick');
const withPeer = !process.argv.includes('--no-peer');
const N = arg('services', quick ? 500 : 5000);
const K = arg('changes', quick ? 20 : 100);
const id = randomBytes(3).toString('hex');
const podNet = '10.254.0';
const bridge = `skbb${id}`;
const UNREACHABLE = '198.18.0.0/16';
let routed = false;
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
  sh('ip', ['route', 'add', 'unreachable', UNREACHABLE]);
  routed = true;
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
  // The node both proxies run as (kube-proxy waits for its Node object and addresses).
  await client.request('POST', '/api/v1/nodes', {
    body: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'bench-node' },
      status: { addresses: [{ type: 'InternalIP', address: `${podNet}.1` }] },
    },
  });
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
        // Until a change moves them to the real endpoints, Services point at addresses nothing answers;
        // the last one answers from the start (the start-up probe).
        const eps =
          i === N - 1
            ? [`${podNet}.2`, `${podNet}.4`]
            : [`198.18.${(i >> 8) & 127}.${i & 255}`, `198.18.${128 + ((i >> 8) & 127)}.${i & 255}`];
        await client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
          body: sliceBody(`s${i}`, eps),
        });
      }
    }),
  );
  process.stdout.write(`  created in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  /**
   * Connects to ip:80 until the answer is `want`; resolves with the time it first was. A new attempt
   * starts every 2 ms whether or not the earlier ones have finished (at most 100 open), so one that
   * hangs (a SYN the old rule sent nowhere) does not delay noticing the new rule.
   */
  const probeUntil = (ip: string, want: string, ms = 10_000) =>
    new Promise<number>((resolve, reject) => {
      const deadline = performance.now() + ms;
      let open = 0;
      let done = false;
      const socks = new Set<ReturnType<typeof connect>>();
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        for (const s of socks) s.destroy();
        if (err) reject(err);
        else resolve(performance.now());
      };
      const once = () => {
        if (done || open >= 100) return;
        if (performance.now() > deadline) return finish(new Error(`${ip} never reached ${want}`));
        open++;
        let buf = '';
        const sock = connect(80, ip, () => sock.write('ask\n'));
        socks.add(sock);
        sock.on('data', (d) => (buf += d));
        sock.on('end', () => buf.trim() === want && finish());
        sock.on('error', () => undefined);
        sock.on('close', () => {
          open--;
          socks.delete(sock);
        });
        sock.setTimeout(1000, () => sock.destroy());
      };
      const timer = setInterval(once, 2);
      once();
    });
  const pct = (a: number[], p: number) =>
    [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
  let round = 0;
  /** K endpoint changes: EndpointSlice write sent → first connection on the new endpoint. */
  /** Changes whose new rule did not carry traffic within 60 s (per round). */
  const missed: number[] = [];
  const changes = async (): Promise<number[]> => {
    const lat: number[] = [];
    missed[round] = 0;
    for (let k = 0; k < K; k++) {
      const i = Math.floor((k * (N - 1)) / K);
      const target = (k + round) % 2 === 0 ? 'b' : 'a';
      const eps = target === 'a' ? [`${podNet}.2`, `${podNet}.4`] : [`${podNet}.3`, `${podNet}.5`];
      const path = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices/s${i}-x`;
      const cur = await client.request<{ metadata: { resourceVersion: string } }>('GET', path);
      const body = sliceBody(`s${i}`, eps);
      const sent = performance.now();
      await client.request('PUT', path, {
        body: { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } },
      });
      try {
        const seen = await probeUntil(ips[i], `ep-${target}`, 60_000);
        lat.push(seen - sent);
      } catch (e) {
        // Counted and reported, not measured: the next change goes on.
        missed[round]++;
        process.stderr.write(`  change ${k} (s${i}): ${(e as Error).message} within 60 s\n`);
        if (missed[round] >= 3) {
          process.stderr.write(`  3 changes not carried: the round stops after ${k + 1} of ${K}\n`);
          break;
        }
      }
    }
    round++;
    return lat;
  };

  // Skiff's proxy.
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
  const ours = { startMs: (await probeUntil(ips[N - 1], 'ep-a', 120_000)) - s0, lat: [] as number[] };
  const firstFull = proxy.stats.lastFullSyncMs;
  await proxy.fullSync();
  const fullMs = proxy.stats.lastFullSyncMs;
  process.stdout.write(
    `skiff: full sync of ${N} Services ${firstFull.toFixed(0)} ms at start (${proxy.stats.lastFullSyncMs.toFixed(0)} ms again); start → last Service answers ${ours.startMs.toFixed(0)} ms\n`,
  );
  const syncMs: number[] = [];
  const nftMs: number[] = [];
  proxy.onSynced = () => {
    syncMs.push(proxy!.stats.lastSyncMs);
    nftMs.push(proxy!.stats.lastNftMs);
  };
  ours.lat = await changes();
  process.stdout.write(
    `skiff: endpoint change → traffic on the new endpoint, ${K} changes at ${N} Services (${missed[0]} not carried within 60 s): p50 ${pct(ours.lat, 50).toFixed(1)} ms, p99 ${pct(ours.lat, 99).toFixed(1)} ms (target p99 ≤ 500 ms: ${pct(ours.lat, 99) <= 500 ? 'met' : 'missed'}); incremental sync p50 ${pct(syncMs, 50).toFixed(1)} ms (of which nft -f ${pct(nftMs, 50).toFixed(1)} ms), p99 ${pct(syncMs, 99).toFixed(1)} ms; load average ${loadavg()[0].toFixed(1)}\n`,
  );
  await proxy.uninstall();
  proxy = undefined;

  if (withPeer) {
    // kube-proxy: the service range still routed to a device of ours, so that nothing leaves the
    // machine while its rules are missing.
    const device = `skbe${id}`;
    await ensureServiceDevice({ name: device, serviceCIDR: '10.99.0.0/16' });
    const kp = await startKubeProxy({
      kubeconfig: srv.kubeconfigPath,
      nodeName: 'bench-node',
      clusterCIDR: `${podNet}.0/24`,
      dir,
    });
    try {
      const startMs = (await probeUntil(ips[N - 1], 'ep-a', 300_000)) - kp.startedAt;
      // Its own sync timings (histograms: count and total), before and after the changes; its first
      // sync is a full one (the whole table), as is every resync after (its default 1 h).
      const describe = (m: Record<string, { count: number; sumMs: number }>, was = m) =>
        Object.entries(m)
          .map(([k, v]) => {
            const n = v.count - (was === m ? 0 : (was[k]?.count ?? 0));
            const sum = v.sumMs - (was === m ? 0 : (was[k]?.sumMs ?? 0));
            return `${k.replace('_proxy_rules_duration_seconds', '')} ${n}× mean ${n ? (sum / n).toFixed(0) : '-'} ms`;
          })
          .join(', ');
      const m0: Record<string, { count: number; sumMs: number }> = await kp.syncMetrics().catch(() => ({}));
      process.stdout.write(
        `kube-proxy ${kp.version} (nftables): start → last Service answers ${startMs.toFixed(0)} ms; its syncs so far: ${describe(m0) || 'no metrics'}\n`,
      );
      const lat = await changes();
      const m1 = await kp.syncMetrics().catch(() => ({}));
      process.stdout.write(`kube-proxy: its syncs during the changes: ${describe(m1, m0) || 'no metrics'}\n`);
      process.stdout.write(
        `kube-proxy: endpoint change → traffic on the new endpoint: p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms of ${lat.length}; ${missed[1]} of ${K} not carried within 60 s; load average ${loadavg()[0].toFixed(1)}\n` +
          `ratio skiff/kube-proxy (lower is better): start-up ${(ours.startMs / startMs).toFixed(2)}, full sync ${m0.sync_full_proxy_rules_duration_seconds?.count ? (fullMs / (m0.sync_full_proxy_rules_duration_seconds.sumMs / m0.sync_full_proxy_rules_duration_seconds.count)).toFixed(2) : '-'} (Skiff's second, on demand, against kube-proxy's first), change p50 ${(pct(ours.lat, 50) / pct(lat, 50)).toFixed(2)}, p99 ${(pct(ours.lat, 99) / pct(lat, 99)).toFixed(2)}\n`,
      );
    } finally {
      await kp.stop();
      await removeServiceDevice(device);
    }
  }
  client.close();
  process.stdout.write(
    `\nquiet re-run (same sizes): npm run bench -- proxy --services=${N} --changes=${K}${withPeer ? '' : ' --no-peer'}; this run took ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
  );
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
  if (routed) sh('ip', ['route', 'del', 'unreachable', UNREACHABLE]);
  try {
    sh('ip', ['link', 'del', bridge]);
  } catch {
    /* never made */
  }
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
}
