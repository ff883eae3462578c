// `npm run bench -- engine [RUNS] [N]`: Skiff's engine against the real dockerd (Debian docker.io +
// containerd + runc), both driven by the same docker CLI, measured in the same run:
//   1. `docker run --rm busybox true`, interleaved, RUNS times each (default 30): medians and ratio;
//   2. N containers (default 100) `docker run -d busybox sleep 600` started concurrently: time until
//      all run, and RSS of engine + all per-container processes (monitors, container processes) vs
//      dockerd + containerd + shims + container processes;
//   3. idle RSS of the engine process, right after start and after the runs of 1 (each after 10 s idle).
// Everything is removed at the end (both daemons are private: own roots, sockets, cgroups).
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startEngine } from '../test/fixtures/engine.js';
import { startDockerd } from '../test/fixtures/dockerd.js';

const RUNS = Number(process.argv[2] ?? 30);
const N = Number(process.argv[3] ?? 100);
/** How long the engine is left idle before its RSS is read. */
const IDLE_SETTLE_MS = 10_000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function dockerTimed(host: string, args: string[]): Promise<number> {
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

function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Pids whose command line or cwd mentions `marker` (our private daemons' roots), plus descendants. */
function treeRss(roots: number[], extraMarker: string): { kb: number; procs: number } {
  const children = new Map<number, number[]>();
  const all: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const pid = Number(p);
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid)!.push(pid);
      all.push(pid);
    } catch {
      /* gone */
    }
  }
  const seen = new Set<number>();
  const stack = [...roots];
  for (const pid of all) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        /* none */
      }
      if (cmd.includes(extraMarker) || cwd.startsWith(extraMarker)) stack.push(pid);
    } catch {
      /* gone */
    }
  }
  while (stack.length) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  let kb = 0;
  for (const p of seen) kb += rssKb(p);
  return { kb, procs: seen.size };
}

async function startMany(host: string, n: number, tag: string): Promise<number> {
  const t = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      dockerTimed(host, ['run', '-d', '--name', `${tag}${i}`, 'busybox', 'sleep', '600']),
    ),
  );
  for (;;) {
    const running = execFileSync('docker', ['ps', '-q'], {
      env: { ...process.env, DOCKER_HOST: host },
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .filter(Boolean).length;
    if (running >= n) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t;
}

function removeAll(host: string): void {
  const ids = execFileSync('docker', ['ps', '-aq'], { env: { ...process.env, DOCKER_HOST: host }, encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter(Boolean);
  for (let i = 0; i < ids.length; i += 50)
    execFileSync('docker', ['rm', '-f', ...ids.slice(i, i + 50)], {
      env: { ...process.env, DOCKER_HOST: host },
      stdio: 'ignore',
      timeout: 300_000,
    });
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the engine benchmark needs root');
  if (!existsSync(join(import.meta.dirname, '..', 'dist/skiff.mjs')))
    throw new Error('run npm run build first (the engine runs from the bundle, as users run it)');
  const sk = await startEngine({ bundle: true });
  const dk = await startDockerd();
  try {
    dk.importBusybox();
    // 3a. idle RSS right after start (once the engine has been idle a few seconds, as a daemon is).
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const idleStart = rssKb(sk.pid);
    // 1. docker run --rm, interleaved (one warm-up each).
    await dockerTimed(sk.host, ['run', '--rm', 'busybox', 'true']);
    await dockerTimed(dk.host, ['run', '--rm', 'busybox', 'true']);
    const a: number[] = [],
      b: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(await dockerTimed(sk.host, ['run', '--rm', 'busybox', 'true']));
      b.push(await dockerTimed(dk.host, ['run', '--rm', 'busybox', 'true']));
    }
    const ms = median(a),
      md = median(b);
    console.log(
      `docker run --rm busybox true (median of ${RUNS}): skiff ${ms.toFixed(0)} ms, dockerd ${md.toFixed(0)} ms, ratio ${(ms / md).toFixed(2)} (target <= 0.4)`,
    );
    // 3b. idle RSS of the engine after that work (before the load test).
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const idle = rssKb(sk.pid);
    console.log(
      `engine idle RSS: ${(idleStart / 1024).toFixed(1)} MB after start, ${(idle / 1024).toFixed(1)} MB after the ${RUNS + 1} runs (each ${IDLE_SETTLE_MS / 1000} s idle; target <= 60 MB; dockerd + containerd idle: ${((rssKb(Number(readFileSync(`${dk.dir}/pid`, 'utf8'))) + treeRss([], `${dk.dir}/exec/containerd/containerd.toml`).kb) / 1024).toFixed(1)} MB)`,
    );
    // 2. N concurrent detached containers.
    const ts = await startMany(sk.host, N, 'skb');
    const td = await startMany(dk.host, N, 'dkb');
    await new Promise((r) => setTimeout(r, 2000));
    const skMem = treeRss([sk.pid], sk.execRoot);
    const dkPid = Number(readFileSync(`${dk.dir}/pid`, 'utf8'));
    const dkMem = treeRss([dkPid], dk.dir);
    console.log(
      `${N} x docker run -d busybox sleep 600, concurrently: skiff ${ts.toFixed(0)} ms, dockerd ${td.toFixed(0)} ms, ratio ${(ts / td).toFixed(2)}`,
    );
    console.log(
      `RSS with ${N} running: skiff engine + monitors + containers ${(skMem.kb / 1024).toFixed(1)} MB (${skMem.procs} procs), dockerd + containerd + shims + containers ${(dkMem.kb / 1024).toFixed(1)} MB (${dkMem.procs} procs), ratio ${(skMem.kb / dkMem.kb).toFixed(2)} (target <= 0.3)`,
    );
    removeAll(sk.host);
    removeAll(dk.host);
  } finally {
    await sk.stop();
    await dk.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
