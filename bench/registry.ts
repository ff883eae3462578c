// `npm run bench -- registry [--mb 50] [--layers 4] [--runs 3]`: push and pull of a ≈200 MB
// multi-layer image (incompressible gzip layers) over loopback, all in one run:
//   servers: Skiff's registry (`skiff registry`, its own process) vs distribution 2.8 (docker-registry),
//            each driven by the same client (skopeo, and Skiff's client);
//   clients: Skiff's client vs skopeo, against the same server (each of the two).
// Prints MB/s (median of runs) and ratios; the target is ≥ 1.0× in every pairing.
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes, createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { pullImage, pushImage } from '../src/registry/index.js';
import { createContentStore, type ContentStore } from '../src/image/index.js';
import {
  startDistribution,
  freePort,
  writeOciLayout,
  type TestImage,
  type TestBlob,
} from '../test/fixtures/distribution.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '50' },
    layers: { type: 'string', default: '4' },
    runs: { type: 'string', default: '3' },
  },
});
const LAYER_MB = Number(values.mb);
const N = Number(values.layers);
const RUNS = Number(values.runs);
const root = process.cwd();
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function makeImage(): TestImage {
  // Random bytes in stored (level 0) gzip members: valid gzip, incompressible, cheap to make.
  const layers: TestBlob[] = Array.from({ length: N }, () => {
    const data = gzipSync(randomBytes(LAYER_MB << 20), { level: 0 });
    return { digest: sha(data), size: data.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', data };
  });
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const config: TestBlob = {
    digest: sha(cfg),
    size: cfg.length,
    mediaType: 'application/vnd.oci.image.config.v1+json',
    data: cfg,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return { manifest, manifestDigest: sha(manifest), config, layers, blobs: [config, ...layers] };
}

async function startSkiff(dataRoot: string): Promise<{ host: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const p = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src/cli/main.ts'),
      'registry',
      '--data-root',
      dataRoot,
      '--listen',
      `127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on('data', (c: Buffer) => {
      if (String(c).includes('listening')) resolve();
    });
    p.once('exit', (c) => reject(new Error(`skiff registry exited ${c}`)));
  });
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    },
  };
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  for (const b of ['/usr/bin/skopeo', '/usr/bin/docker-registry'])
    if (!existsSync(b)) throw new Error(`${b} missing: run the bootstrap`);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-reg-'));
  const img = makeImage();
  const total = img.blobs.reduce((n, b) => n + b.size, 0) + img.manifest.length;
  const mb = total / (1 << 20);
  process.stdout.write(
    `image: ${N} layers × ${LAYER_MB} MB (incompressible gzip), ${mb.toFixed(1)} MB total; ${RUNS} runs each, median\n`,
  );
  writeOciLayout(img, join(dir, 'oci'), 'v1');
  const src: ContentStore = await createContentStore(join(dir, 'cs-src'));
  for (const b of img.blobs) await src.put(b.data);
  await src.put(img.manifest);
  // A fresh server for every (run, server, client): nothing already uploaded, nothing mountable
  // (skopeo's blob-info cache would otherwise mount blobs it saw pushed before).
  const servers: Record<string, (n: number) => Promise<{ host: string; stop: () => Promise<void> }>> = {
    skiff: (n) => startSkiff(join(dir, `skiff-data-${n}`)),
    distribution: () => startDistribution(),
  };
  type Op = 'push' | 'pull';
  const clients: Record<string, Record<Op, (host: string, n: number) => Promise<void>>> = {
    skopeo: {
      push: async (host) => {
        await run('skopeo', [
          'copy',
          '-q',
          '--dest-tls-verify=false',
          `oci:${join(dir, 'oci')}:v1`,
          `docker://${host}/bench/img:v1`,
        ]);
      },
      pull: async (host, n) => {
        const d = join(dir, `out${n}`);
        await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${host}/bench/img:v1`, `dir:${d}`]);
        rmSync(d, { recursive: true, force: true });
      },
    },
    skiff: {
      push: async (host) => {
        await pushImage(`${host}/bench/img:v1`, { store: src, manifestDigest: img.manifestDigest });
      },
      pull: async (host, n) => {
        const d = join(dir, `cs${n}`);
        const r = await pullImage(`${host}/bench/img:v1`, { store: await createContentStore(d) });
        if (r.manifestDigest !== img.manifestDigest) throw new Error('pulled the wrong image');
        rmSync(d, { recursive: true, force: true });
      },
    },
  };
  const results: Record<string, number[]> = {};
  let seq = 0;
  try {
    for (let i = 0; i < RUNS; i++) {
      // Alternate server and client order between runs so warm-up and background load fall alike.
      const sorder = Object.entries(servers);
      if (i % 2) sorder.reverse();
      for (const [sname, start] of sorder) {
        const order = Object.entries(clients);
        if (i % 2) order.reverse();
        for (const [cname, c] of order) {
          const server = await start(++seq);
          try {
            for (const op of ['push', 'pull'] as Op[]) {
              const t0 = performance.now();
              await c[op](server.host, seq);
              (results[`${op} ${cname}→${sname}`] ??= []).push(mb / ((performance.now() - t0) / 1000));
            }
          } finally {
            await server.stop();
            rmSync(join(dir, `skiff-data-${seq}`), { recursive: true, force: true });
          }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med: Record<string, number> = {};
  for (const [k, v] of Object.entries(results)) med[k] = median(v);
  process.stdout.write('\nthroughput (MB/s, median)\n');
  for (const [k, v] of Object.entries(med)) {
    const xs = results[k];
    process.stdout.write(
      `  ${k.padEnd(28)} ${v.toFixed(1).padStart(8)}   (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})\n`,
    );
  }
  process.stdout.write('\nratios (Skiff / peer; target ≥ 1.00)\n');
  let worst = Infinity;
  const line = (label: string, a: number, b: number) => {
    const r = a / b;
    worst = Math.min(worst, r);
    process.stdout.write(`  ${label.padEnd(58)} ${r.toFixed(2)}×\n`);
  };
  for (const op of ['push', 'pull']) {
    for (const c of ['skopeo', 'skiff'])
      line(
        `server: Skiff registry vs distribution, ${op}, client ${c}`,
        med[`${op} ${c}→skiff`],
        med[`${op} ${c}→distribution`],
      );
    for (const s of ['distribution', 'skiff'])
      line(`client: Skiff client vs skopeo, ${op}, server ${s}`, med[`${op} skiff→${s}`], med[`${op} skopeo→${s}`]);
  }
  process.stdout.write(`\nworst ratio: ${worst.toFixed(2)}× ${worst >= 1 ? '(target met)' : '(below target)'}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exitCode = 1;
});
