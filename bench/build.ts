// `npm run bench -- build`: a 10-step Dockerfile built cold (no cache) and fully cached by Skiff's
// builder (as a library, in-process: the same code POST /build runs) and by the real dockerd's
// classic builder (DOCKER_BUILDKIT=0 docker build) in the same run; prints medians and ratios.
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImages, createSnapshotter } from '../src/image/index.js';
import { Builder } from '../src/build/index.js';
import { busyboxTar } from '../test/fixtures/busybox.js';
import { startDockerd } from '../test/fixtures/dockerd.js';
import { startEngine } from '../test/fixtures/engine.js';

const RUNS = 5;
const DOCKERFILE = `FROM busybox
ENV A=1
RUN echo one > /one
COPY a.txt /a.txt
RUN cat /a.txt > /b.txt
WORKDIR /app
COPY dir /app/dir/
RUN ls -R /app > /listing
LABEL bench=yes
CMD ["cat", "/listing"]
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-build-'));
process.env.DOCKER_BUILDKIT = '0';
const D = await startDockerd();
// The same docker CLI against skiff engine (the bundled dist/skiff.mjs), so both servers pay the
// same client start-up: the like-for-like pairing beside the library figure.
const E = await startEngine({ bundle: true });
try {
  const ctx = join(dir, 'ctx');
  execFileSync('mkdir', ['-p', join(ctx, 'dir/sub')]);
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(ctx, 'a.txt'), 'a'.repeat(10_000));
  for (let i = 0; i < 50; i++) writeFileSync(join(ctx, 'dir/sub', `f${i}`), String(i));
  const bb = busyboxTar(join(dir, 'bb.tar'));
  D.docker(['import', bb, 'busybox:latest']);
  const images = await openImages(join(dir, 'images'));
  await images.importRootfsTar(createReadStream(bb), { ref: 'busybox:latest' });
  const sn = await createSnapshotter('overlayfs', join(dir, 'snapshots'));
  const builder = new Builder({ images, snapshotter: sn, dataDir: join(dir, 'build') });
  const res = {
    skiffCold: [] as number[],
    skiffCached: [] as number[],
    engineCold: [] as number[],
    engineCached: [] as number[],
    dockerCold: [] as number[],
    dockerCached: [] as number[],
  };
  const env = { DOCKER_BUILDKIT: '0' };
  for (let i = 0; i < RUNS; i++) {
    res.skiffCold.push(await time(() => builder.build({ contextDir: ctx, tags: ['bench'], noCache: true })));
    res.skiffCached.push(await time(() => builder.build({ contextDir: ctx, tags: ['bench'] })));
    res.engineCold.push(
      await time(() => E.docker(['build', '-q', '--no-cache', '-t', 'bench', ctx], { timeout: 120_000, env })),
    );
    res.engineCached.push(await time(() => E.docker(['build', '-q', '-t', 'bench', ctx], { timeout: 120_000, env })));
    res.dockerCold.push(
      await time(() => D.docker(['build', '-q', '--no-cache', '-t', 'bench', ctx], { timeout: 120_000 })),
    );
    res.dockerCached.push(await time(() => D.docker(['build', '-q', '-t', 'bench', ctx], { timeout: 120_000 })));
  }
  const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v)]));
  console.log(`build (10 steps, ${RUNS} runs, medians)`);
  console.log(
    `  cold:   skiff ${m.skiffCold.toFixed(0)} ms  dockerd classic ${m.dockerCold.toFixed(0)} ms  ratio ${(m.skiffCold / m.dockerCold).toFixed(2)}x (target <= 0.5x)`,
  );
  console.log(
    `  cached: skiff ${m.skiffCached.toFixed(0)} ms  dockerd classic ${m.dockerCached.toFixed(0)} ms  ratio ${(m.skiffCached / m.dockerCached).toFixed(2)}x (target <= 0.2x)`,
  );
  console.log('  (skiff above: the builder as a library, in-process; dockerd through the docker CLI)');
  console.log(
    `  same client (docker CLI → skiff engine vs → dockerd): cold ${m.engineCold.toFixed(0)} ms, ratio ${(m.engineCold / m.dockerCold).toFixed(2)}x; cached ${m.engineCached.toFixed(0)} ms, ratio ${(m.engineCached / m.dockerCached).toFixed(2)}x`,
  );
} finally {
  await E.stop();
  await D.stop();
  rmSync(dir, { recursive: true, force: true });
}
