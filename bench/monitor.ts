// `npm run bench -- monitor`: idle memory of one skiff-monitor vs one containerd-shim-runc-v2 (the
// per-container process Docker keeps), both holding an idle `sleep` container, measured in the
// same run. Prints VmRSS and PSS (PSS splits shared pages fairly) and the ratio skiff / shim.
import { readFileSync, readdirSync, mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnMonitor, waitExit } from '../src/runtime/monitor/index.js';
import { startDockerd } from '../test/fixtures/dockerd.js';

const N = 3;
const kb = (pid: number, file: string, key: string) =>
  Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'))?.[1] ?? NaN);
const mem = (pid: number) => ({ rss: kb(pid, 'status', 'VmRSS'), pss: kb(pid, 'smaps_rollup', 'Pss') });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function skiffMonitors(): Promise<{ rss: number; pss: number; spawnMs: number }> {
  const dirs: string[] = [];
  const ctrs: number[] = [];
  const out: { rss: number; pss: number }[] = [];
  const spawnTimes: number[] = [];
  try {
    const pids: number[] = [];
    for (let i = 0; i < N; i++) {
      const d = mkdtempSync(join(tmpdir(), 'skiff-bench-mon-'));
      dirs.push(d);
      const launch = join(d, 'launch.sh');
      writeFileSync(launch, '#!/bin/sh\n/bin/sleep 1000 &\necho $! > "$1"\n');
      chmodSync(launch, 0o755);
      const t0 = performance.now();
      const { monitorPid } = await spawnMonitor({
        stateDir: d,
        containerPidFile: join(d, 'ctr.pid'),
        logFile: join(d, 'ctr.log'),
        cmd: [launch, join(d, 'ctr.pid')],
      });
      spawnTimes.push(performance.now() - t0);
      pids.push(monitorPid);
    }
    await sleep(1000);
    for (const [i, p] of pids.entries()) {
      out.push(mem(p));
      ctrs.push(Number(readFileSync(join(dirs[i], 'ctr.pid'), 'utf8')));
    }
  } finally {
    for (const c of ctrs) {
      try {
        process.kill(c, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const d of dirs) {
      await waitExit(d).catch(() => undefined);
      rmSync(d, { recursive: true, force: true });
    }
  }
  return { rss: median(out.map((m) => m.rss)), pss: median(out.map((m) => m.pss)), spawnMs: median(spawnTimes) };
}

async function shims(): Promise<{ rss: number; pss: number }> {
  const d = await startDockerd();
  try {
    d.importBusybox();
    const suffix = /skiff-dockerd-([0-9a-f]{6})-/.exec(d.dir)![1];
    const ids = [];
    for (let i = 0; i < N; i++) ids.push(d.docker(['run', '-d', 'busybox', 'sleep', '1000']).trim());
    await sleep(1000);
    const found: { rss: number; pss: number }[] = [];
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
        if (cmd[0].endsWith('containerd-shim-runc-v2') && cmd.includes(`skiff${suffix}`)) found.push(mem(Number(e)));
      } catch {
        /* exited */
      }
    }
    if (found.length === 0) throw new Error('no containerd-shim-runc-v2 found for the private dockerd');
    d.docker(['rm', '-f', ...ids]);
    return { rss: median(found.map((m) => m.rss)), pss: median(found.map((m) => m.pss)) };
  } finally {
    await d.stop();
  }
}

const s = await skiffMonitors();
const c = await shims();
const row = (name: string, m: { rss: number; pss: number }) => `| ${name} | ${m.rss} kB | ${m.pss} kB |`;
console.log(`idle per-container process, median of ${N}, same run\n`);
console.log('| process | VmRSS | PSS |\n|---|---|---|');
console.log(row('skiff-monitor', s));
console.log(row('containerd-shim-runc-v2', c));
console.log(
  `\nratio skiff/shim: RSS ${(s.rss / c.rss).toFixed(3)}×, PSS ${(s.pss / c.pss).toFixed(3)}×  (target: skiff-monitor ≤ 1.5 MB RSS)`,
);
console.log(`spawnMonitor (fork, daemonize, start CMD, monitor.pid) median: ${s.spawnMs.toFixed(1)} ms`);
