// The differential build check shared by build-differential.test.ts (a fast part, in npm test) and
// build-differential.slow.test.ts (the rest): a Dockerfile of test/fixtures/dockerfiles/ built by
// Skiff's builder and by the real dockerd's classic builder (DOCKER_BUILDKIT=0); image configs and
// file trees (paths, types, modes, owners, sizes, contents, symlink targets, file mtimes) must be
// equal. Directories marked `.buildkit-only` (heredocs, --chmod: the classic builder rejects them)
// are built by Skiff only. A `.modes` file (git keeps no directory modes nor owners) lists
// `MODE PATH` and `chown UID:GID PATH` lines applied to a copy of the context before both builds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  openImages,
  createSnapshotter,
  mountAll,
  unmount,
  type Images,
  type Snapshotter,
} from '../../src/image/index.js';
import { Builder } from '../../src/build/index.js';
import { busyboxTar } from '../fixtures/busybox.js';
import { startDockerd, type Dockerd } from '../fixtures/dockerd.js';

export const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'dockerfiles');
/** The cases `npm test` runs (no RUN steps: a few seconds each); the slow suite runs the others. */
export const FAST = ['31-env-one-instruction', '36-copy-dir-modes', '37-copy-chown-parents', '39-dockerignore-forms'];
const SKIP = new Set(['proc', 'sys', 'dev', '.dockerenv', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'etc/mtab']);
let dir: string;
let bbTar: string;
const START = Date.now() / 1000;
// Files made during the builds (RUN) differ in mtime by nature; mtimes are compared for files older
// than the test run (the shared base image and context files that COPY/ADD keep the mtime of).
let images: Images;
let sn: Snapshotter;
let D: Dockerd;
let builder: Builder;
let baseHistory = 0;

function setup(): void {
  before(async () => {
    process.env.DOCKER_BUILDKIT = '0';
    dir = mkdtempSync(join(tmpdir(), 'skiff-builddiff-'));
    images = await openImages(join(dir, 'images'));
    sn = await createSnapshotter('overlayfs', join(dir, 'snapshots'));
    bbTar = busyboxTar(join(dir, 'bb.tar'));
    await images.importRootfsTar(createReadStream(bbTar), { ref: 'busybox:latest' });
    builder = new Builder({ images, snapshotter: sn, dataDir: join(dir, 'build') });
    D = await startDockerd();
    D.docker(['import', bbTar, 'busybox:latest']);
    baseHistory = (await images.resolve('busybox:latest')).config.history?.length ?? 0;
    assert.equal(savedConfig('busybox:latest').history?.length ?? 0, baseHistory, 'the same base on both sides');
  });
  after(async () => {
    await D?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
}

function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = join(root, rel);
    for (const n of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (SKIP.has(r)) continue;
      const st = lstatSync(join(root, r));
      const kind = st.isDirectory()
        ? 'd'
        : st.isSymbolicLink()
          ? `l>${readlinkSync(join(root, r))}`
          : st.isFile()
            ? `f:${createHash('sha256')
                .update(readFileSync(join(root, r)))
                .digest('hex')
                .slice(0, 16)}:${st.mtimeMs / 1000 < START - 5 ? Math.floor(st.mtimeMs / 1000) : 'new'}`
            : 'o';
      out.set(r, `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

const norm = (v: unknown) =>
  v === null ||
  v === undefined ||
  v === '' ||
  (Array.isArray(v) && !v.length) ||
  (typeof v === 'object' && v && !Array.isArray(v) && !Object.keys(v).length)
    ? undefined
    : v;
const FIELDS = [
  'Env',
  'Cmd',
  'Entrypoint',
  'WorkingDir',
  'User',
  'ExposedPorts',
  'Labels',
  'Healthcheck',
  'Volumes',
  'StopSignal',
  'OnBuild',
] as const;

function diffTrees(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k}: skiff ${v} | dockerd ${b.get(k) ?? 'missing'}`);
  for (const [k, v] of b) if (!a.has(k)) out.push(`${k}: skiff missing | dockerd ${v}`);
  return out;
}

/** A copy of the case's context with its `.modes` applied, or the fixture directory itself. */
function contextOf(name: string): string {
  const src = join(CORPUS, name);
  if (!existsSync(join(src, '.modes'))) return src;
  const ctx = join(dir, `ctx-${name}`);
  rmSync(ctx, { recursive: true, force: true });
  cpSync(src, ctx, { recursive: true, preserveTimestamps: true });
  for (const line of readFileSync(join(src, '.modes'), 'utf8').split('\n')) {
    const w = line.trim().split(/\s+/);
    if (!line.trim() || line.startsWith('#')) continue;
    if (w[0] === 'chown') {
      const [u, g] = w[1].split(':').map(Number);
      chownSync(join(ctx, w[2]), u, g);
    } else chmodSync(join(ctx, w[1]), parseInt(w[0], 8));
  }
  return ctx;
}

/** The image config dockerd saves for `tag` (its history has the empty_layer flags). */
function savedConfig(tag: string): { history?: { created_by?: string; empty_layer?: boolean }[] } {
  const env = { ...process.env, DOCKER_HOST: `unix://${D.socket}` };
  const tar = join(dir, 'save.tar');
  execFileSync('docker', ['save', '-o', tar, tag], { env });
  try {
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', tar, 'manifest.json'], { encoding: 'utf8' }));
    return JSON.parse(execFileSync('tar', ['-xOf', tar, manifest[0].Config], { encoding: 'utf8' }));
  } finally {
    rmSync(tar, { force: true });
  }
}

/** Registers one differential test per case (after a shared dockerd and image store). */
export function differential(names: readonly string[]): void {
  setup();
  for (const name of names) {
    test(`differential: ${name}`, { timeout: 120_000 }, async () => {
      const ctx = contextOf(name);
      const tag = `diff-${name}`;
      const r = await builder.build({ contextDir: ctx, tags: [tag] });
      const cfg = (await images.resolve(r.id)).config.config ?? {};
      const m = mkdtempSync(join(dir, 'm-'));
      const key = `v-${name}`;
      const top = await images.unpack(r.id, sn);
      if (top) await mountAll(await sn.view(key, top), m);
      const mine = tree(m);
      if (top) {
        await unmount(m);
        await sn.remove(key);
      }
      if (existsSync(join(CORPUS, name, '.buildkit-only'))) {
        assert.ok(mine.size > 0);
        return;
      }
      D.docker(['build', '-q', '-t', tag, ctx], { timeout: 120_000 });
      const theirs = JSON.parse(D.docker(['inspect', tag]))[0].Config as Record<string, unknown>;
      for (const f of FIELDS) assert.deepEqual(norm(cfg[f]), norm(theirs[f]), `${name}: config ${f}`);
      // history (`docker history`): what each step records and whether it made a layer, after the
      // base image's own entries
      const hist = (h: { created_by?: string; empty_layer?: boolean }[] | undefined) =>
        (h ?? []).slice(baseHistory).map(
          (x) =>
            // COPY/ADD name sources by a content hash whose value is each builder's own
            `${x.empty_layer ? 'empty' : 'layer'} ${(x.created_by ?? '').replace(/(file|dir|multi):[0-9a-f]{64}/g, '$1:<hash>')}`,
        );
      assert.deepEqual(
        hist((await images.resolve(r.id)).config.history),
        hist(savedConfig(tag).history),
        `${name}: history`,
      );
      const cid = D.docker(['create', tag, 'x']).trim();
      const ex = join(dir, `ex-${name}`);
      mkdirSync(ex);
      try {
        execFileSync('sh', ['-c', `docker export ${cid} | tar -x -p --numeric-owner -C ${ex}`], {
          env: { ...process.env, DOCKER_HOST: `unix://${D.socket}` },
        });
        D.docker(['rm', cid]);
        const t = tree(ex);
        // dockerd's export adds /etc for the hosts/resolv.conf mounts even on a scratch image.
        if (!mine.has('etc') && ![...t.keys()].some((k) => k.startsWith('etc/'))) t.delete('etc');
        const d = diffTrees(mine, t);
        assert.deepEqual(d, [], `${name}: file trees differ`);
      } finally {
        rmSync(ex, { recursive: true, force: true });
        rmSync(m, { recursive: true, force: true });
      }
    });
  }
}
