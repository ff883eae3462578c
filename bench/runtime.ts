// `npm run bench -- runtime [RUNS]`: create + start + wait + delete of /bin/true on a busybox rootfs
// (all namespaces but user, Docker's default seccomp profile and capabilities), interleaved:
//   (a) Skiff's runtime library in this Node process: create(id, spec) + start + waitExit + delete,
//       skiff-init staying the container's parent (the library's default);
//   (a-) (a) with spawner: false (skiff-init started by Node's child_process, a fork of Node);
//   (a') the same under skiff-monitor (what the engine does: log file, exit file, attach socket);
//   (b) `bin/skiff-runtime run --bundle` executed directly, as containerd would;
//   (c) Debian's `runc run --bundle` on the same bundle.
// Prints medians and ratios against runc, then where (a) and (a') spend their time: a separate pass
// with the runtime's phase marks and skiff-init's own timestamps (`trace`), medians per phase, each
// traced run followed by a runc run as in the timing pass.
// Also Node's own start-up (the floor under (b)) and the RSS of one idle skiff-monitor.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, loadavg } from 'node:os';
import { Runtime, defaultSpec, buildBusyboxRootfs, monitorPid, type CreateOptions } from '../src/runtime/index.js';
import type { Spec } from '../src/oci/index.js';

const ROOT = join(import.meta.dirname, '..');
const RUNS = Number(process.argv[2] ?? 50);
const TRACE_RUNS = Math.max(10, Math.floor(RUNS / 2));
const RUNC = '/usr/sbin/runc';

function time(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const t = performance.now();
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { stdio: 'ignore', env });
    c.on('error', rej);
    c.on('exit', (code) =>
      code === 0 ? res(performance.now() - t) : rej(new Error(`${cmd} ${args.join(' ')} exited ${code}`)),
    );
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** create + start + waitExit + delete through the library; the exit code must be 0. */
async function libRun(rt: Runtime, id: string, spec: Spec, o: CreateOptions): Promise<number> {
  const t = performance.now();
  await rt.create(id, spec, o);
  await rt.start(id);
  const ex = await rt.waitExit(id);
  await rt.delete(id);
  if (ex.exitCode !== 0) throw new Error(`${id} exited ${ex.exitCode}`);
  return performance.now() - t;
}

/** Median time of each phase (from the previous mark to this one) over traced runs, each followed
 *  by `between` (a runc run: the same conditions as the interleaved timing runs). */
async function breakdown(
  dir: string,
  spec: Spec,
  o: (i: number) => CreateOptions,
  label: string,
  between: () => Promise<unknown>,
) {
  const initFile = join(dir, `trace-${label}`);
  let marks: [string, bigint][] = [];
  const rt = new Runtime({
    root: join(dir, `state-trace-${label}`),
    trace: { mark: (p) => marks.push([p, process.hrtime.bigint()]), initFile },
  });
  const phases = new Map<string, number[]>();
  const totals: number[] = [];
  for (let i = -1; i < TRACE_RUNS; i++) {
    marks = [];
    writeFileSync(initFile, '');
    const t0 = process.hrtime.bigint();
    const id = `trace-${label}-${i}`;
    await rt.create(id, spec, o(i));
    await rt.start(id);
    await rt.waitExit(id);
    marks.push(['waited', process.hrtime.bigint()]);
    await rt.delete(id);
    const t1 = process.hrtime.bigint();
    await between();
    if (i < 0) continue; // warm-up
    totals.push(Number(t1 - t0) / 1e6);
    const init = readFileSync(initFile, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [n, ns] = l.split(' ');
        return [`  skiff-init: ${n}`, BigInt(ns)] as [string, bigint];
      });
    let prev = t0;
    for (const [n, at] of [...marks, ...init].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))) {
      const list = phases.get(n) ?? [];
      list.push(Number(at - prev) / 1e6);
      phases.set(n, list);
      prev = at;
    }
  }
  return { phases, total: median(totals) };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the runtime benchmark needs root');
  if (!existsSync(RUNC)) throw new Error('runc missing (Debian runc)');
  if (!existsSync(join(ROOT, 'dist/skiff-runtime-main.cjs'))) throw new Error('run npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  try {
    buildBusyboxRootfs(join(dir, 'rootfs'));
    const spec = defaultSpec({ args: ['/bin/true'], rootfs: join(dir, 'rootfs') });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    const rt = new Runtime({ root: join(dir, 'state-lib') });
    // the same library starting skiff-init with Node's child_process (a fork of this process)
    const rtFork = new Runtime({ root: join(dir, 'state-fork'), spawner: false });
    const cliRoot = join(dir, 'state-cli');
    const runcRoot = join(dir, 'state-runc');
    const res: Record<'lib' | 'fork' | 'mon' | 'cli' | 'runc' | 'node' | 'nodeBare', number[]> = {
      lib: [],
      fork: [],
      mon: [],
      cli: [],
      runc: [],
      node: [],
      nodeBare: [],
    };
    const bareEnv = { ...process.env };
    delete bareEnv.NODE_EXTRA_CA_CERTS;
    const cli = join(ROOT, 'bin/skiff-runtime');
    const plain: CreateOptions = { stdio: 'ignore' };
    const monitored = (i: number | string): CreateOptions => ({ monitor: { logFile: join(dir, `mon-${i}.log`) } });
    const load0 = loadavg()[0];
    // Warm-up (seccomp filter cache, page cache) — not counted.
    await libRun(rt, 'warm', spec, plain);
    await libRun(rtFork, 'warm', spec, plain);
    await libRun(rt, 'warm-mon', spec, monitored('warm'));
    await time(cli, ['--root', cliRoot, 'run', '--bundle', dir, 'warm']);
    await time(RUNC, ['--root', runcRoot, 'run', '--bundle', dir, 'warm']);
    for (let i = 0; i < RUNS; i++) {
      res.lib.push(await libRun(rt, `lib${i}`, spec, plain));
      res.fork.push(await libRun(rtFork, `fork${i}`, spec, plain));
      res.mon.push(await libRun(rt, `mon${i}`, spec, monitored(i)));
      rmSync(join(dir, `mon-${i}.log`), { force: true });
      res.cli.push(await time(cli, ['--root', cliRoot, 'run', '--bundle', dir, `cli${i}`]));
      res.runc.push(await time(RUNC, ['--root', runcRoot, 'run', '--bundle', dir, `runc${i}`]));
      res.node.push(await time(process.execPath, ['-e', '0']));
      res.nodeBare.push(await time(process.execPath, ['-e', '0'], bareEnv));
    }
    const load1 = loadavg()[0];
    const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v)])) as Record<
      keyof typeof res,
      number
    >;
    const out = (s: string) => process.stdout.write(s);
    const row = (name: string, ms: number, note = '') =>
      `| ${name.padEnd(50)} | ${ms.toFixed(1).padStart(8)} | ${(ms / m.runc).toFixed(2).padStart(6)}× | ${note}\n`;
    out(
      `\nruntime: create+start+wait+delete of /bin/true, busybox rootfs, ${RUNS} runs each, interleaved, medians` +
        ` (load average ${load0.toFixed(1)} → ${load1.toFixed(1)})\n\n`,
    );
    out(
      `| ${'what'.padEnd(50)} | ${'ms'.padStart(8)} | vs runc | note\n|${'-'.repeat(52)}|${'-'.repeat(10)}|---------|-----\n`,
    );
    out(row('(a) library in-process: create+start+waitExit+delete', m.lib, 'target ≤ 0.3×'));
    out(row("    (a) with Node's spawn instead of skiff-spawn", m.fork, 'spawner: false'));
    out(row("(a') the same under skiff-monitor (the engine's path)", m.mon, ''));
    out(
      row(
        '(b) bin/skiff-runtime run',
        m.cli,
        `Node start-up (node -e 0, as the CLI starts) ${m.nodeBare.toFixed(1)} ms = ${((100 * m.nodeBare) / m.cli).toFixed(0)}% of it`,
      ),
    );
    out(row('(c) runc run (Debian runc 1.1.5)', m.runc, 'peer'));
    out(row('    node -e 0 (without NODE_EXTRA_CA_CERTS)', m.nodeBare, 'floor under (b)'));
    if (process.env.NODE_EXTRA_CA_CERTS)
      out(row('    node -e 0 (with NODE_EXTRA_CA_CERTS)', m.node, "this environment's default"));

    // Where the time goes: phase medians (each phase ends at its mark; skiff-init's lines are
    // its own CLOCK_MONOTONIC timestamps, the clock of process.hrtime).
    for (const [label, o] of [
      ['a', () => plain],
      ["a'", (i: number) => monitored(`trace-${i}`)],
    ] as const) {
      let n = 0;
      const b = await breakdown(dir, spec, o, label === 'a' ? 'lib' : 'mon', () =>
        time(RUNC, ['--root', runcRoot, 'run', '--bundle', dir, `runc-b${label === 'a' ? 'l' : 'm'}${n++}`]),
      );
      out(`\nbreakdown of (${label}), ${TRACE_RUNS} traced runs, median total ${b.total.toFixed(1)} ms:\n`);
      for (const [name, xs] of b.phases) out(`  ${name.padEnd(40)} ${median(xs).toFixed(2).padStart(7)} ms\n`);
    }

    // One idle skiff-monitor.
    await rt.create('mon', defaultSpec({ args: ['sleep', '60'], rootfs: join(dir, 'rootfs') }), monitored('idle'));
    await rt.start('mon');
    await new Promise((r) => setTimeout(r, 300));
    const mpid = await monitorPid(rt.monitorDir('mon')!);
    const rss = mpid ? /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${mpid}/status`, 'utf8'))?.[1] : undefined;
    out(
      `\nidle skiff-monitor RSS: ${rss ? `${(Number(rss) / 1024).toFixed(2)} MB` : 'n/a'} (target ≤ 1.5 MB; containerd shim 5–11 MB)\n`,
    );
    await rt.delete('mon', { force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench runtime: ${e instanceof Error ? (e.stack ?? e.message) : e}\n`);
  process.exit(1);
});
