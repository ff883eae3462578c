// The service proxy benchmark's peer: the real kube-proxy (built from the Go module proxy by
// scripts/build-kube-component.sh and cached) in nftables mode against the benchmark's API server.
// It owns the nftables tables `ip kube-proxy` and `ip6 kube-proxy`; the benchmark refuses to run
// it when they already exist (another kube-proxy on this host) and removes them afterwards.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const hasTable = (family: string) => {
  try {
    execFileSync('nft', ['list', 'table', family, 'kube-proxy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

export interface KubeProxyPeer {
  version: string;
  /** performance.now() when the process was started. */
  startedAt: number;
  /** Its sync histograms from /metrics: `kubeproxy_sync_{full,partial,}_proxy_rules_duration_seconds`
   *  as { name: { count, sumMs } } (what this release exports). */
  syncMetrics(): Promise<Record<string, { count: number; sumMs: number }>>;
  stop(): Promise<void>;
}

export async function startKubeProxy(o: {
  kubeconfig: string;
  nodeName: string;
  clusterCIDR: string;
  dir: string;
}): Promise<KubeProxyPeer> {
  if (hasTable('ip') || hasTable('ip6'))
    throw new Error('an nftables table "kube-proxy" exists already (another kube-proxy?): not touching it');
  const bin = execFileSync(join(ROOT, 'scripts', 'build-kube-component.sh'), ['kube-proxy'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  const metricsPort = await freePort();
  const args = [
    `--kubeconfig=${o.kubeconfig}`,
    '--proxy-mode=nftables',
    `--hostname-override=${o.nodeName}`,
    `--cluster-cidr=${o.clusterCIDR}`,
    // Leave the host's conntrack settings alone.
    '--conntrack-max-per-core=0',
    '--conntrack-tcp-timeout-established=0',
    '--conntrack-tcp-timeout-close-wait=0',
    `--healthz-bind-address=127.0.0.1:${await freePort()}`,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`,
    '-v=0',
  ];
  const startedAt = performance.now();
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
    if (process.env.BENCH_DEBUG) process.stderr.write(d);
  });
  child.once('exit', (code) => {
    if (code) process.stderr.write(`kube-proxy exited with ${code}:\n${stderr}\n`);
  });
  return {
    version,
    startedAt,
    async syncMetrics() {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const out: Record<string, { count: number; sumMs: number }> = {};
      for (const m of text.matchAll(/^kubeproxy_(sync_\w*proxy_rules_duration_seconds)_(sum|count) ([\d.e+-]+)$/gm)) {
        const e = (out[m[1]] ??= { count: 0, sumMs: 0 });
        if (m[2] === 'count') e.count = Number(m[3]);
        else e.sumMs = Number(m[3]) * 1000;
      }
      return out;
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      try {
        execFileSync(bin, ['--cleanup', '--proxy-mode=nftables', `--kubeconfig=${o.kubeconfig}`], { stdio: 'ignore' });
      } catch {
        /* the tables are removed below */
      }
      for (const family of ['ip', 'ip6'])
        if (hasTable(family)) execFileSync('nft', ['delete', 'table', family, 'kube-proxy']);
    },
  };
}
