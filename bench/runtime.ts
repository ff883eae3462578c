// `npm run bench -- runtime [RUNS]`: create + start + wait + delete of /bin/true on a busybox
// bundle (all namespaces, Docker's default seccomp profile and capabilities), interleaved:
//   (a) Skiff's runtime as a library in this Node process, (b) `bin/skiff-runtime run`,
//   (c) Debian's `runc run`. Prints medians and ratios against runc, Node's own start-up
//   (`node -e 0`, the floor under (b), with and without this environment's NODE_EXTRA_CA_CERTS, which
//   bin/skiff-runtime's shebang unsets), and the RSS of one idle skiff-monitor.
// (b) executes bin/skiff-runtime directly, as containerd does.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Runtime, defaultSpec, buildBusyboxRootfs, monitorPid } from '../src/runtime/index.js';

const ROOT = join(import.meta.dirname, '..');
const RUNS = Number(process.argv[2] ?? 50);
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

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the runtime benchmark needs root');
  if (!existsSync(RUNC)) throw new Error('runc missing (Debian runc)');
  if (!existsSync(join(ROOT, 'dist/skiff-runtime-main.cjs'))) throw new Error('run npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  try {
    buildBusyboxRootfs(join(dir, 'rootfs'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(defaultSpec({ args: ['/bin/true'] })));
    const rt = new Runtime({ root: join(dir, 'state-lib') });
    const cliRoot = join(dir, 'state-cli');
    const runcRoot = join(dir, 'state-runc');
    const res: Record<'lib' | 'cli' | 'runc' | 'node' | 'nodeBare', number[]> = {
      lib: [],
      cli: [],
      runc: [],
      node: [],
      nodeBare: [],
    };
    const bareEnv = { ...process.env };
    delete bareEnv.NODE_EXTRA_CA_CERTS;
    const cli = join(ROOT, 'bin/skiff-runtime');
    // Warm-up (seccomp filter cache, page cache) — not counted.
    const spec = { ...defaultSpec({ args: ['/bin/true'] }), root: { path: join(dir, 'rootfs') } };
    await rt.run('warm', spec, { stdio: 'ignore' });
    await time(cli, ['--root', cliRoot, 'run', '--bundle', dir, 'warm']);
    await time(RUNC, ['--root', runcRoot, 'run', '--bundle', dir, 'warm']);
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await rt.run(`lib${i}`, spec, { stdio: 'ignore' });
      res.lib.push(performance.now() - t);
      res.cli.push(await time(cli, ['--root', cliRoot, 'run', '--bundle', dir, `cli${i}`]));
      res.runc.push(await time(RUNC, ['--root', runcRoot, 'run', '--bundle', dir, `runc${i}`]));
      res.node.push(await time(process.execPath, ['-e', '0']));
      res.nodeBare.push(await time(process.execPath, ['-e', '0'], bareEnv));
    }
    const m = {
      lib: median(res.lib),
      cli: median(res.cli),
      runc: median(res.runc),
      node: median(res.node),
      nodeBare: median(res.nodeBare),
    };
    const row = (name: string, ms: number, note = '') =>
      `| ${name.padEnd(44)} | ${ms.toFixed(1).padStart(8)} | ${(ms / m.runc).toFixed(2).padStart(6)}× | ${note}`;
    process.stdout.write(
      `\nruntime: create+start+wait+delete of /bin/true, busybox bundle, ${RUNS} runs each, interleaved, medians\n\n`,
    );
    process.stdout.write(
      `| ${'what'.padEnd(44)} | ${'ms'.padStart(8)} | vs runc | note\n|${'-'.repeat(46)}|${'-'.repeat(10)}|---------|-----\n`,
    );
    process.stdout.write(row('(a) Skiff runtime as a library (in-process)', m.lib, 'target ≤ 0.5×') + '\n');
    process.stdout.write(
      row(
        '(b) bin/skiff-runtime run',
        m.cli,
        `target ≤ 4×; Node start-up (node -e 0, as the CLI starts) ${m.nodeBare.toFixed(1)} ms = ${((100 * m.nodeBare) / m.cli).toFixed(0)}% of it`,
      ) + '\n',
    );
    process.stdout.write(row('(c) runc run (Debian runc 1.1.5)', m.runc, 'peer') + '\n');
    process.stdout.write(row('    node -e 0 (without NODE_EXTRA_CA_CERTS)', m.nodeBare, 'floor under (b)') + '\n');
    if (process.env.NODE_EXTRA_CA_CERTS)
      process.stdout.write(
        row('    node -e 0 (with NODE_EXTRA_CA_CERTS)', m.node, "this environment's default") + '\n',
      );
    // One idle skiff-monitor.
    writeFileSync(join(dir, 'config.json'), JSON.stringify(defaultSpec({ args: ['sleep', '60'] })));
    await rt.create(
      'mon',
      { ...defaultSpec({ args: ['sleep', '60'] }), root: { path: join(dir, 'rootfs') } },
      {
        monitor: { logFile: join(dir, 'mon.log') },
      },
    );
    await rt.start('mon');
    await new Promise((r) => setTimeout(r, 300));
    const mpid = await monitorPid(rt.monitorDir('mon')!);
    const rss = mpid ? /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${mpid}/status`, 'utf8'))?.[1] : undefined;
    process.stdout.write(
      `\nidle skiff-monitor RSS: ${rss ? `${(Number(rss) / 1024).toFixed(2)} MB` : 'n/a'} (target ≤ 1.5 MB; containerd shim 5–11 MB)\n`,
    );
    await rt.delete('mon', { force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench runtime: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
});
