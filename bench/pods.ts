// `npm run bench -- pods [RATE] [SECONDS] [BURST]`: Pod start-up on one node of a private
// `skiff start` (engine with its CRI runtime, API server, node agent; the bundle, as `npm start`
// runs it), in one run:
//   1. idle RSS of `skiff start` with the agent (10 s after start);
//   2. Pods (a sandbox + one busybox container, image present) created one every 1/RATE s (default
//      10/s) for SECONDS (default 20): creation→Running and creation→Ready p50/p99, timed by the
//      client (the POST's answer to the watch event that shows phase Running, resp. Ready=True);
//   3. a burst of BURST Pods (default 30) created at once: time until all are Running and Ready,
//      per-Pod p50/p99;
//   4. RSS per Pod with the burst running: `skiff start` itself and the Pod's own processes;
//   5. the in-run reference: `docker run -d` of the same BURST containers through the same engine
//      (what the Pods cost over plain containers: sandbox, pod network, API round trips).
// Pods are bound with spec.nodeName (no scheduler involved). Everything is removed at the end.
// The peer a Pod start-up figure should be compared with is kubelet on containerd; no kubelet
// binary is on this machine (it would have to be built, and containerd's CRI needs a pause image
// from registry.k8s.io, which is offline here), so the bench prints upstream's published figures
// (anchors) beside ours instead and says so.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { parse } from 'yaml';
import { KubeClient, watchEvents } from '../src/kube/client/index.js';
import { startSkiff } from '../test/fixtures/skiff-start.js';

const RATE = Number(process.argv[2] ?? 10);
const SECONDS = Number(process.argv[3] ?? 20);
const BURST = Number(process.argv[4] ?? 30);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const rssKb = (pid: number) => {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
const cmdline = (pid: string) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main(): Promise<void> {
  console.log(`pods benchmark: ${RATE}/s for ${SECONDS} s, burst ${BURST}; load average ${load()}`);
  const s = await startSkiff();
  const kc = parse(readFileSync(s.kubeconfig, 'utf8'));
  const b64 = (x: string) => Buffer.from(x, 'base64').toString();
  const c = new KubeClient({
    server: kc.clusters[0].cluster.server,
    ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b64(kc.users[0].user['client-certificate-data']),
    key: b64(kc.users[0].user['client-key-data']),
  });
  const ns = 'bench';
  try {
    await c.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    });
    await new Promise((r) => setTimeout(r, 10_000));
    const idleKb = rssKb(s.proc.pid!);
    console.log(`idle RSS of skiff start (engine + API server + agent): ${(idleKb / 1024).toFixed(1)} MB`);

    // Running and Ready times by pod name, seen through one watch.
    const readyAt = new Map<string, number>();
    const runningAt = new Map<string, number>();
    const ac = new AbortController();
    void (async () => {
      for (;;) {
        try {
          for await (const ev of watchEvents<{
            metadata: { name: string };
            status?: { phase?: string; conditions?: { type: string; status: string }[] };
          }>(c, `/api/v1/namespaces/${ns}/pods`, {}, ac.signal)) {
            const name = ev.object.metadata.name;
            if (ev.object.status?.phase === 'Running' && !runningAt.has(name)) runningAt.set(name, performance.now());
            const ok = ev.object.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
            if (ok && !readyAt.has(ev.object.metadata.name)) readyAt.set(ev.object.metadata.name, performance.now());
          }
        } catch {
          if (ac.signal.aborted) return;
        }
      }
    })();
    const body = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        nodeName: s.node,
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] },
        ],
      },
    });
    const created = new Map<string, number>();
    const create = async (name: string) => {
      await c.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: body(name) });
      created.set(name, performance.now());
    };
    const waitReady = async (names: string[], ms: number) => {
      const end = performance.now() + ms;
      while (names.some((n) => !readyAt.has(n)) && performance.now() < end) await new Promise((r) => setTimeout(r, 50));
    };
    const deleteAll = async () => {
      await c.request('DELETE', `/api/v1/namespaces/${ns}/pods`);
      for (let i = 0; i < 600; i++) {
        const l = await c.request<{ items: unknown[] }>('GET', `/api/v1/namespaces/${ns}/pods`);
        if (!l.items.length) return;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error('pods not deleted after 5 minutes');
    };

    // 2. Steady creation at RATE/s.
    const steady: string[] = [];
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < RATE * SECONDS; i++) {
      const at = t0 + (i * 1000) / RATE;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const name = `steady-${i}`;
      steady.push(name);
      pending.push(create(name));
    }
    await Promise.all(pending);
    const achieved = steady.length / ((performance.now() - t0) / 1000);
    await waitReady(steady, 120_000);
    const lat = steady.filter((n) => readyAt.has(n)).map((n) => readyAt.get(n)! - created.get(n)!);
    const run = steady.filter((n) => runningAt.has(n)).map((n) => runningAt.get(n)! - created.get(n)!);
    const notReady = steady.length - lat.length;
    console.log(
      `steady ${RATE}/s × ${SECONDS} s (${achieved.toFixed(1)}/s achieved): creation→Running p50 ${pct(run, 50).toFixed(0)} ms, p99 ${pct(run, 99).toFixed(0)} ms; creation→Ready p50 ${pct(lat, 50).toFixed(0)} ms, p99 ${pct(lat, 99).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms${notReady ? `, ${notReady} never Ready` : ''}; load ${load()}`,
    );
    await deleteAll();

    // 3. Burst of BURST pods vs docker run -d of BURST containers through the same engine.
    const burst = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const tb = performance.now();
    await Promise.all(burst.map(create));
    await waitReady(burst, 300_000);
    const burstMs = performance.now() - tb;
    const burstReady = burst.filter((n) => readyAt.has(n)).length;
    const burstRunMs = Math.max(...burst.map((n) => (runningAt.get(n) ?? Number.NaN) - tb));
    const bRun = burst.filter((n) => runningAt.has(n)).map((n) => runningAt.get(n)! - created.get(n)!);
    const bReady = burst.filter((n) => readyAt.has(n)).map((n) => readyAt.get(n)! - created.get(n)!);
    // 4. RSS per pod, with the burst running.
    const skiffKb = rssKb(s.proc.pid!);
    // The pod's processes: everything whose command line names this Skiff's directories or cgroup
    // root (skiff-pause, skiff-monitor), and their descendants (the containers' processes).
    const marker = `skst-${s.sfx}`;
    const parent = new Map<number, number>();
    const marked = new Set<number>();
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const st = readFileSync(`/proc/${p}/stat`, 'utf8');
        parent.set(Number(p), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        continue;
      }
      if (Number(p) !== s.proc.pid && cmdline(p).includes(marker)) marked.add(Number(p));
    }
    const inTree = (pid: number): boolean => {
      for (let q = pid, i = 0; q > 1 && i < 64; q = parent.get(q) ?? 0, i++) if (marked.has(q)) return true;
      return false;
    };
    let podProcsKb = 0;
    let pauseKb = 0;
    let pauses = 0;
    for (const pid of parent.keys()) {
      if (!inTree(pid)) continue;
      const kb = rssKb(pid);
      podProcsKb += kb;
      if (cmdline(String(pid)).includes('skiff-pause') && kb > 0) {
        pauseKb += kb;
        pauses++;
      }
    }
    console.log(
      `burst of ${BURST} pods at once: all Running in ${(burstRunMs / 1000).toFixed(2)} s, all Ready in ${(burstMs / 1000).toFixed(2)} s (${burstReady}/${BURST} Ready); per pod creation→Running p50 ${pct(bRun, 50).toFixed(0)} ms, p99 ${pct(bRun, 99).toFixed(0)} ms, →Ready p50 ${pct(bReady, 50).toFixed(0)} ms, p99 ${pct(bReady, 99).toFixed(0)} ms; load ${load()}`,
    );
    console.log(
      `RSS per pod: skiff start +${((skiffKb - idleKb) / BURST / 1024).toFixed(2)} MB (${(skiffKb / 1024).toFixed(0)} MB with ${BURST} pods), pod processes ${(podProcsKb / BURST / 1024).toFixed(2)} MB (skiff-pause ${pauses ? (pauseKb / pauses / 1024).toFixed(2) : '?'} MB each, ${pauses} found)`,
    );
    await deleteAll();
    ac.abort();

    const dockerEnv = { ...process.env, DOCKER_HOST: `unix://${s.engineSock}` };
    const td = performance.now();
    await Promise.all(
      burst.map(
        (n) =>
          new Promise<void>((resolve, reject) => {
            const p = spawn('docker', ['run', '-d', '--name', `d-${n}`, 'busybox:latest', 'sleep', '3600'], {
              env: dockerEnv,
              stdio: 'ignore',
            });
            p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker run ${n}: ${code}`))));
          }),
      ),
    );
    const dockerMs = performance.now() - td;
    console.log(`docker run -d × ${BURST} through the same engine: ${(dockerMs / 1000).toFixed(2)} s; load ${load()}`);
    console.log(
      `ratio ${BURST} pods all Running / ${BURST} docker run -d: ${(burstRunMs / dockerMs).toFixed(2)} (pods add a sandbox with its own network namespace, a veth and an address each, and the API round trips)`,
    );
    console.log(
      [
        'peer: kubelet on containerd was not run — no kubelet binary here, and containerd CRI needs registry.k8s.io/pause (offline).',
        "Upstream's published figures instead (shared/reference/anchors-wave2.md §4):",
        '  SLO: creation → all containers started, p99 ≤ 5 s per cluster-day (image pull excluded)',
        '  5000-node CI: stateless p99 ≈ 6.5 s (kubernetes/perf-tests #1311, 2022); 3.2 s good run (kubernetes #55060, 2017)',
        '  node e2e density limits (containerd, pause): batch of 10 pods p50/p90/p99 ≤ 16/18/20 s; 10 sequential (+50 in',
        '  the background) ≤ 5/9/10 s (test/e2e_node/density_test.go; limits, not measurements)',
      ].join('\n'),
    );
    execFileSync('sh', ['-c', `docker rm -f $(docker ps -aq) >/dev/null`], { env: dockerEnv });
  } finally {
    c.close();
    await s.stop();
  }
}

await main();
