// critest (cri-tools v1.37.0, the CRI validation suite) against `skiff engine --cri-socket`, offline:
// its images are stand-ins built from busybox-static (test/fixtures/critest-images.ts), served by a
// local `skiff registry` through the engine's pull mirrors for registry.k8s.io, k8s.gcr.io and
// gcr.io, so critest uses the images' original names. The engine serves NRI on a socket of the
// run (`--nri-socket`), so critest's 13 NRI specs run with their Go plugin stub. Specs that cannot
// run offline or cannot apply are skipped by name; docs/cri.md lists each with its reason. Every
// other spec must pass.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { criTools, startCriEngine, startSkiffRegistry, type CriFixture } from '../fixtures/cri.js';
import { buildStandIns, dynamicBusybox } from '../fixtures/critest-images.js';

/** Specs that cannot run here, with the reason (docs/cri.md keeps the same list). */
export const SKIPPED: Record<string, string> = {
  'public image with digest should be pulled and removed':
    'pulls gcr.io/k8s-staging-cri-tools/test-image-digest by the digest of the published manifest; a stand-in cannot have that digest offline',
};

let f: CriFixture;
let registry: { host: string; stop(): Promise<void> };
let dir: string;
let tools: string;
/** SysV shared memory segments before the run: critest's HostIpc specs make some with ipcmk. */
let shmBefore: Set<string>;
const shmIds = () =>
  new Set(
    readFileSync('/proc/sysvipc/shm', 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[1])
      .filter(Boolean),
  );

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('critest needs root');
  shmBefore = shmIds();
  tools = criTools();
  dir = mkdtempSync('/tmp/skcritest-');
  registry = await startSkiffRegistry(join(dir, 'registry'));
  const mirror = `http://${registry.host}`;
  f = await startCriEngine({
    tools,
    args: [
      ...['registry.k8s.io', 'k8s.gcr.io', 'gcr.io'].flatMap((d) => ['--pull-mirror', `${d}=${mirror}`]),
      // NRI on a socket of this run. Its request timeout is 10 s, not NRI's default 2 s: critest's
      // "plugin synchronization" specs hold a late plugin's Synchronize open for 2 s on purpose, so
      // at 2 s the runtime drops that plugin (as NRI's adaptation does) and critest skips the two
      // specs as a "spec discrepancy"; the blocking-hook specs also hold hooks while they list.
      '--nri-socket',
      join(dir, 'nri.sock'),
      '--nri-request-timeout',
      '10s',
    ],
  });
  buildStandIns(
    (args) => f.engine.docker(args, { timeout: 180_000 }),
    registry.host,
    join(dir, 'images'),
    dynamicBusybox(),
  );
});

after(async () => {
  // what critest leaves on the host: its ipcmk segments (its temp dirs are under TMPDIR=dir)
  for (const id of shmIds()) if (!shmBefore?.has(id)) spawnSync('ipcrm', ['-m', id]);
  await f?.stop();
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('critest: every applicable spec passes', { timeout: 40 * 60_000 }, async () => {
  const skip = Object.keys(SKIPPED)
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');
  const imagesFile = join(dir, 'test-images.yaml');
  writeFileSync(imagesFile, 'defaultTestContainerImage: registry.k8s.io/e2e-test-images/busybox:1.29-2\n');
  const args = [
    `--runtime-endpoint=${f.endpoint}`,
    `--image-endpoint=${f.endpoint}`,
    `--test-images-file=${imagesFile}`,
    `--nri-socket=${join(dir, 'nri.sock')}`,
    `--ginkgo.skip=${skip}`,
    '--ginkgo.no-color',
    `--ginkgo.json-report=${join(dir, 'report.json')}`,
    ...(process.env.CRITEST_FOCUS ? [`--ginkgo.focus=${process.env.CRITEST_FOCUS}`] : []),
  ];
  const out = await new Promise<string>((resolve) => {
    const p = spawn(join(tools, 'critest'), args, { cwd: dir, env: { ...process.env, HOME: dir, TMPDIR: dir } });
    let text = '';
    const take = (d: Buffer) => {
      text += d;
      if (process.env.CRITEST_VERBOSE) process.stderr.write(d);
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.on('close', () => resolve(text));
  });
  writeFileSync('/tmp/critest-last.log', out);
  const ran = /Ran (\d+) of (\d+) Specs/.exec(out);
  const counts = /(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped/.exec(out);
  assert.ok(ran && counts, `critest summary not found:\n${out.slice(-3000)}`);
  process.stdout.write(
    `critest: Ran ${ran[1]} of ${ran[2]} Specs, ${counts[1]} passed, ${counts[2]} failed, ${counts[4]} skipped\n`,
  );
  // what critest skipped itself, with its reason (docs/cri.md lists them)
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
    SpecReports?: {
      State: string;
      LeafNodeText: string;
      ContainerHierarchyTexts?: string[];
      Failure?: { Message?: string };
    }[];
  }[];
  const skipped = report
    .flatMap((r) => r.SpecReports ?? [])
    .filter((s) => s.State === 'skipped')
    .map(
      (s) =>
        `${[...(s.ContainerHierarchyTexts ?? []), s.LeafNodeText].join(' ')}: ${s.Failure?.Message || '(not selected: --ginkgo.skip or a filter)'}`,
    );
  writeFileSync('/tmp/critest-skipped.txt', skipped.sort().join('\n') + '\n');
  process.stdout.write(`critest skipped ${skipped.length} specs (list with reasons in /tmp/critest-skipped.txt)\n`);
  const failed = [...out.matchAll(/\[FAIL\] (.+)/g)].map((m) => m[1]);
  assert.equal(Number(counts[2]), 0, `failed specs:\n${[...new Set(failed)].join('\n')}`);
});
