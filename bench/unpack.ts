// `npm run bench -- unpack [--runs N] [--mb N]`: unpack throughput of a generated gzip layer
// (many files of mixed sizes, compressible and random content) with Skiff's applyLayer versus
// GNU `tar -xzf` of the same layer into a fresh directory (the floor). Runs are interleaved; the
// medians and their ratio are printed. Target: Skiff ≥ 0.8× tar's throughput.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { applyLayer } from '../src/image/index.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, mb: { type: 'string', default: '250' } },
});
const runs = Number(values.runs);
const targetMb = Number(values.mb);

const work = mkdtempSync(join(tmpdir(), 'skiff-bench-unpack-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function words(n: number): Buffer {
  const vocab = [
    'alpha',
    'beta',
    'gamma',
    'delta',
    'container',
    'image',
    'layer',
    'snapshot',
    'overlay',
    'kernel',
    '{',
    '}',
    'return',
    'const',
    '\n',
  ];
  const out: string[] = [];
  let len = 0;
  while (len < n) {
    const w = vocab[(Math.random() * vocab.length) | 0];
    out.push(w);
    len += w.length + 1;
  }
  return Buffer.from(out.join(' ').slice(0, n));
}

function generate(src: string): { files: number; bytes: number } {
  let bytes = 0;
  let files = 0;
  const budget = targetMb * 1024 * 1024;
  let d = 0;
  while (bytes < budget) {
    const dir = join(src, `usr/share/pkg${d++ % 200}/sub${files % 7}`);
    mkdirSync(dir, { recursive: true });
    const r = Math.random();
    // 90% small (0.5–12 KB), 9.5% medium (32–300 KB), 0.5% large (4–16 MB): a distro-like mix.
    const size =
      r < 0.9
        ? 512 + ((Math.random() * 12_000) | 0)
        : r < 0.995
          ? 32_000 + ((Math.random() * 270_000) | 0)
          : 4_000_000 + ((Math.random() * 12_000_000) | 0);
    const random = Math.random() < 0.35;
    writeFileSync(join(dir, `f${files}${random ? '.bin' : '.txt'}`), random ? randomBytes(size) : words(size), {
      mode: files % 5 === 0 ? 0o755 : 0o644,
    });
    files++;
    bytes += size;
  }
  return { files, bytes };
}

try {
  const src = join(work, 'src');
  process.stdout.write(`generating a ~${targetMb} MB tree…\n`);
  const g = generate(src);
  const layer = join(work, 'layer.tar.gz');
  execFileSync('tar', ['-C', src, '--numeric-owner', '-czf', layer, '.']);
  rmSync(src, { recursive: true, force: true });
  const gz = statSync(layer).size;
  process.stdout.write(
    `layer: ${g.files} files, ${(g.bytes / 1048576).toFixed(0)} MB uncompressed, ${(gz / 1048576).toFixed(0)} MB gzip\n`,
  );
  const tarTimes: number[] = [];
  const skiffTimes: number[] = [];
  // CPU seconds too: on a shared, loaded machine wall time is noisy, CPU time much less so.
  const tarCpu: number[] = [];
  const skiffCpu: number[] = [];
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  for (let i = 0; i < runs; i++) {
    for (const who of i % 2 === 0 ? ['tar', 'skiff'] : ['skiff', 'tar']) {
      const out = join(work, `out-${who}-${i}`);
      mkdirSync(out);
      spawnSync('sync');
      const t0 = process.hrtime.bigint();
      let cpu: number;
      if (who === 'tar') {
        // The shell reports its waited-for children's CPU (tar + gzip) from /proc/self/stat.
        const r = spawnSync('sh', ['-c', 'tar -xzf "$0" -C "$1" || exit 1; cat /proc/$$/stat', layer, out], {
          encoding: 'utf8',
        });
        if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
        const f = r.stdout.slice(r.stdout.lastIndexOf(')') + 2).split(' ');
        cpu = (Number(f[13]) + Number(f[14])) / ticks; // cutime + cstime
      } else {
        const c0 = process.cpuUsage();
        await applyLayer(createReadStream(layer, { highWaterMark: 1 << 20 }), 'gzip', out, { whiteouts: 'plain' });
        const c = process.cpuUsage(c0);
        cpu = (c.user + c.system) / 1e6;
      }
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      (who === 'tar' ? tarTimes : skiffTimes).push(s);
      (who === 'tar' ? tarCpu : skiffCpu).push(cpu);
      process.stdout.write(
        `  run ${i + 1} ${who.padEnd(5)} ${s.toFixed(2)} s wall, ${cpu.toFixed(2)} s cpu  ${(gz / 1048576 / s).toFixed(0)} MB/s (compressed)\n`,
      );
      rmSync(out, { recursive: true, force: true });
    }
  }
  const tm = median(tarTimes);
  const sm = median(skiffTimes);
  process.stdout.write(
    `\nmedian tar -xzf: ${tm.toFixed(2)} s (${(gz / 1048576 / tm).toFixed(0)} MB/s gzip, ${(g.bytes / 1048576 / tm).toFixed(0)} MB/s uncompressed)\n`,
  );
  process.stdout.write(
    `median skiff:    ${sm.toFixed(2)} s (${(gz / 1048576 / sm).toFixed(0)} MB/s gzip, ${(g.bytes / 1048576 / sm).toFixed(0)} MB/s uncompressed)\n`,
  );
  process.stdout.write(`ratio skiff/tar throughput: ${(tm / sm).toFixed(2)}x (target >= 0.8x)\n`);
  process.stdout.write(
    `median cpu: tar+gzip ${median(tarCpu).toFixed(2)} s, skiff ${median(skiffCpu).toFixed(2)} s; cpu ratio tar/skiff ${(median(tarCpu) / median(skiffCpu)).toFixed(2)}x\n`,
  );
  process.stdout.write(
    `machine load average: ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} (wall times are noisy when it exceeds the core count)\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
