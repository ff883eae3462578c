// `npm run bench -- network [--runs=N] [--mib=M]`: container networking through the engine, Skiff
// vs the real dockerd (test/fixtures/dockerd.ts: private root, socket and bridge), both driven by the
// same docker CLI in the same run (issue 5's two figures):
//   (a) attach cost: median `docker run --rm --network N busybox true` on a user network minus the
//       median `--network none` baseline, runs interleaved;
//   (b) throughput host → container through a published port: busybox httpd serving an M MiB file
//       (default 256), fetched over a raw socket (best of 5, the daemons' fetches interleaved) from 127.0.0.1 and from the host's
//       address on the container's bridge (its gateway), so traffic never leaves the machine.
// Skiff's engine runs from the sources (tsx) with its own bridge and chains; its 127.0.0.1 path is
// DNAT (route_localnet). The fixture dockerd runs --iptables=false; here it gets
// --userland-proxy=true, so its published ports are served by docker-proxy — the same path a
// default dockerd uses for 127.0.0.1 (its OUTPUT DNAT rule skips 127.0.0.0/8 while the userland proxy
// is on). For the bridge address a default dockerd would DNAT instead: that row compares against
// docker-proxy and says so.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { startEngine } from '../test/fixtures/engine.js';
import { startDockerd } from '../test/fixtures/dockerd.js';

const arg = (name: string, d: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d);
const RUNS = arg('runs', 15);
const MIB = arg('mib', 256);
const rand = Math.random().toString(16).slice(2, 8);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function timed(host: string, args: string[]): Promise<number> {
  const t = performance.now();
  return new Promise((res, rej) => {
    const c = spawn('docker', args, {
      env: { ...process.env, DOCKER_HOST: host },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    c.stderr.on('data', (d) => {
      err += d;
    });
    c.on('exit', (code) =>
      code === 0 ? res(performance.now() - t) : rej(new Error(`docker ${args.join(' ')}: ${code} ${err}`)),
    );
  });
}

/** MiB/s of one GET of /big (HTTP/1.0, read to EOF). */
function rate(host: string, port: number, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    let n = 0;
    const s = connect({ host, port }, () => s.write('GET /big HTTP/1.0\r\n\r\n'));
    s.on('data', (d: Buffer) => {
      n += d.length;
    });
    s.on('end', () =>
      n < size
        ? reject(new Error(`short read ${n} from ${host}:${port}`))
        : resolve(n / 1048576 / ((performance.now() - t) / 1000)),
    );
    s.on('error', reject);
  });
}

interface Side {
  name: string;
  host: string;
  docker(args: string[]): string;
}

async function attach(sides: Side[]): Promise<Record<string, { net: number; none: number }>> {
  for (const s of sides) {
    s.docker(['network', 'create', `nb${rand}`]);
    for (let i = 0; i < 2; i++) {
      await timed(s.host, ['run', '--rm', '--network', `nb${rand}`, 'busybox', 'true']);
      await timed(s.host, ['run', '--rm', '--network', 'none', 'busybox', 'true']);
    }
  }
  const t: Record<string, { net: number[]; none: number[] }> = Object.fromEntries(
    sides.map((s) => [s.name, { net: [], none: [] }]),
  );
  for (let i = 0; i < RUNS; i++) {
    for (const s of sides) {
      t[s.name].none.push(await timed(s.host, ['run', '--rm', '--network', 'none', 'busybox', 'true']));
      t[s.name].net.push(await timed(s.host, ['run', '--rm', '--network', `nb${rand}`, 'busybox', 'true']));
    }
  }
  for (const s of sides) s.docker(['network', 'rm', `nb${rand}`]);
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { net: median(v.net), none: median(v.none) }]));
}

interface Target {
  loopback: number;
  any: number;
  gateway: string;
}

/** Starts busybox httpd serving /www/big with 80 published on 127.0.0.1 and on all addresses. */
async function server(s: Side): Promise<Target> {
  s.docker([
    'run',
    '-d',
    '--name',
    `tp${rand}`,
    '-p',
    '127.0.0.1::80',
    '-p',
    '0.0.0.0::80',
    'busybox',
    'sh',
    '-c',
    `mkdir -p /www && dd if=/dev/zero of=/www/big bs=1M count=${MIB} 2>/dev/null && exec httpd -f -p 80 -h /www`,
  ]);
  const info = JSON.parse(s.docker(['inspect', `tp${rand}`]))[0];
  const binds = info.NetworkSettings.Ports['80/tcp'] as { HostIp: string; HostPort: string }[];
  const t = {
    loopback: Number(binds.find((b) => b.HostIp === '127.0.0.1')!.HostPort),
    any: Number(binds.find((b) => b.HostIp === '0.0.0.0')!.HostPort),
    gateway: info.NetworkSettings.Gateway as string,
  };
  for (let i = 0; i < 100; i++) {
    try {
      await rate('127.0.0.1', t.loopback, MIB * 1048576);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return t;
}

/** Best of 5 per path, the two daemons' fetches interleaved so load drift hits both alike. */
async function throughput(sides: Side[]): Promise<Record<string, { loopback: number; bridge: number }>> {
  const targets = [];
  for (const s of sides) targets.push(await server(s));
  const out: Record<string, { loopback: number; bridge: number }> = Object.fromEntries(
    sides.map((s) => [s.name, { loopback: 0, bridge: 0 }]),
  );
  try {
    for (let i = 0; i < 5; i++) {
      for (const [j, s] of sides.entries())
        out[s.name].loopback = Math.max(
          out[s.name].loopback,
          await rate('127.0.0.1', targets[j].loopback, MIB * 1048576),
        );
      for (const [j, s] of sides.entries())
        out[s.name].bridge = Math.max(
          out[s.name].bridge,
          await rate(targets[j].gateway, targets[j].any, MIB * 1048576),
        );
    }
  } finally {
    for (const s of sides) s.docker(['rm', '-f', `tp${rand}`]);
  }
  return out;
}

const skiff = await startEngine();
const dockerd = await startDockerd({ args: ['--userland-proxy=true'] });
try {
  dockerd.importBusybox();
  const sides: Side[] = [
    { name: 'skiff', host: skiff.host, docker: (a) => skiff.docker(a) },
    { name: 'dockerd', host: dockerd.host, docker: (a) => dockerd.docker(a) },
  ];
  const a = await attach(sides);
  const cost = (k: string): number => a[k].net - a[k].none;
  console.log(`runs=${RUNS} (medians, interleaved)`);
  for (const k of ['skiff', 'dockerd'])
    console.log(
      `  ${k.padEnd(8)} --network user ${a[k].net.toFixed(0)} ms, --network none ${a[k].none.toFixed(0)} ms, attach cost ${cost(k).toFixed(0)} ms`,
    );
  console.log(`attach cost ratio skiff/dockerd: ${(cost('skiff') / cost('dockerd')).toFixed(2)}x (target <= 0.5x)`);
  const tp = await throughput(sides);
  const [ts, td] = [tp.skiff, tp.dockerd];
  console.log(`throughput host -> container, ${MIB} MiB, best of 5 (interleaved):`);
  console.log(
    `  127.0.0.1:      skiff ${ts.loopback.toFixed(0)} MiB/s (DNAT), dockerd ${td.loopback.toFixed(0)} MiB/s (docker-proxy), ratio ${(ts.loopback / td.loopback).toFixed(2)}x (target >= 1.0x)`,
  );
  console.log(
    `  bridge address: skiff ${ts.bridge.toFixed(0)} MiB/s (DNAT), dockerd ${td.bridge.toFixed(0)} MiB/s (docker-proxy; a default dockerd would DNAT here), ratio ${(ts.bridge / td.bridge).toFixed(2)}x`,
  );
} finally {
  await skiff.stop();
  await dockerd.stop();
}
