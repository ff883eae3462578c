// The Dockerfile builder (the classic builder's behaviour): stages in order up to --target, each
// step cached by (parent state, instruction after substitution, build args for RUN, source hashes
// for COPY/ADD); the result stored in the image store under its tags.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { invalidArgument, notFound, randomSuffix } from '../common/index.js';
import { sha256Digest, type Images, type Snapshotter } from '../image/index.js';
import { Runtime } from '../runtime/index.js';
import { BuildCache } from './cache.js';
import { cacheUsage, type BuildCacheRecord } from './usage.js';
import { nop, nopString, runCreatedBy } from './history.js';
import { mkdirOwned } from './context.js';
import { expandWord, parseDockerfile, parseDockerignore, type Instruction } from './dockerfile/index.js';
import { copyInstruction } from './instructions/copy-add.js';
import { applyMeta, shellOf } from './instructions/meta.js';
import { runArgv, runStep } from './instructions/run.js';
import { withLayer } from './layers.js';
import { baseStage } from './stages.js';
import { addHistory, wordEnv, type BuildEnv, type NetworkSandboxFn, type StageState, type StepCtx } from './state.js';

export const PREDEFINED_ARGS = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

export interface BuilderOptions {
  images: Images;
  snapshotter: Snapshotter;
  /** Build data dir: cache/ and tmp/. */
  dataDir: string;
  runtime?: Runtime;
  /** Pulls a missing image (or with --pull) into `images`; absent: missing images are NotFound. */
  /** Pulls a missing base image; `auths` are the build's registry credentials (X-Registry-Config). */
  pull?: (ref: string, signal?: AbortSignal, auths?: Record<string, RegistryAuth>) => Promise<void>;
  /** Attaches a fresh network namespace to the engine's default bridge (RUN's default network). */
  sandbox?: NetworkSandboxFn;
}

/** Credentials for one registry, as the docker CLI sends them in X-Registry-Config. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  auth?: string;
  identitytoken?: string;
  serveraddress?: string;
}

export interface BuildOptions {
  contextDir: string;
  /** Registry credentials by registry host (X-Registry-Config), used for pulls of base images. */
  registryAuths?: Record<string, RegistryAuth>;
  /** Dockerfile path relative to the context (default `Dockerfile`), or its text in `dockerfileText`. */
  dockerfile?: string;
  dockerfileText?: string;
  tags?: string[];
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  /** RUN steps' network (`--network`): `default` is the engine's default bridge when the builder
   *  has a `sandbox` provider, else `none`. */
  network?: 'none' | 'host' | 'default';
  iidfile?: string;
  signal?: AbortSignal;
  /** Receives the classic builder's output lines (`Step 1/5 : FROM busybox`, ` ---> abc…`). */
  onOutput?: (line: string) => void;
}

export interface BuildResult {
  id: string;
  tags: string[];
  cachedSteps: number;
  steps: number;
}

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

export class Builder {
  readonly cache: BuildCache;
  private readonly runtime: Runtime;
  constructor(private readonly o: BuilderOptions) {
    this.cache = new BuildCache(join(o.dataDir, 'cache'));
    this.runtime = o.runtime ?? new Runtime({ root: join(o.dataDir, 'runtime') });
  }

  /** Drops every cache entry (their layers and snapshots are then unreferenced: the image store's
   *  garbage collection reclaims them — the engine runs it right after). */
  prune(): { CachesDeleted: string[]; SpaceReclaimed: number } {
    return this.cache.prune();
  }

  /** The cache as dockerd reports it in /system/df `BuildCache` (see usage.ts). */
  diskUsage(): Promise<BuildCacheRecord[]> {
    return cacheUsage(this.cache, this.o.images, this.o.snapshotter);
  }

  async build(b: BuildOptions): Promise<BuildResult> {
    const out = b.onOutput ?? (() => {});
    const ctx = resolve(b.contextDir);
    const dfPath = join(ctx, b.dockerfile ?? 'Dockerfile');
    let text = b.dockerfileText;
    if (text === undefined) {
      try {
        text = readFileSync(dfPath, 'utf8');
      } catch {
        throw notFound(`Cannot locate specified Dockerfile: ${b.dockerfile ?? 'Dockerfile'}`, { field: 'dockerfile' });
      }
    }
    // as dockerd: nothing but blank lines and comments (directives included)
    if (!text.split(/\r?\n/).some((l) => l.trim() && !l.trim().startsWith('#')))
      throw invalidArgument(`the Dockerfile (${b.dockerfile ?? 'Dockerfile'}) cannot be empty`, {
        field: 'dockerfile',
      });
    const df = parseDockerfile(text);
    const ignoreFile = join(ctx, '.dockerignore');
    const ignore = existsSync(ignoreFile) ? parseDockerignore(readFileSync(ignoreFile, 'utf8')) : undefined;
    const buildArgs = b.buildArgs ?? {};
    const globals = new Map<string, string>();
    for (const a of df.globalArgs) {
      const before = new Map(globals); // one instruction's words see what was set before it
      for (const { name, default: d } of a.args) {
        const v = buildArgs[name] ?? (d !== undefined ? expandWord(d, before, df.escape) : undefined);
        if (v !== undefined) globals.set(name, v);
      }
    }
    let last = df.stages.length - 1;
    if (b.target) {
      last = df.stages.findIndex((s) => s.name === b.target!.toLowerCase());
      if (last < 0)
        throw invalidArgument(`failed to reach build target ${b.target} in Dockerfile`, { field: 'target' });
    }
    const stages = df.stages.slice(0, last + 1);
    // dockerd's legacy builder counts and prints each ARG before the first FROM as a step of its own
    const total = stages.reduce((n, s) => n + 1 + s.instructions.length, df.globalArgs.length);
    const tmpDir = join(this.o.dataDir, 'tmp', randomSuffix(6));
    mkdirSync(tmpDir, { recursive: true });
    const env: BuildEnv = {
      images: this.o.images,
      sn: this.o.snapshotter,
      runtime: this.runtime,
      tmpDir,
      contextDir: ctx,
      network: b.network ?? 'default',
      sandbox: this.o.sandbox,
      log: out,
      signal: b.signal,
    };
    const results = new Map<string, StageState>();
    let step = 0;
    let cached = 0;
    let final: StageState | undefined;
    try {
      for (const a of df.globalArgs) out(`Step ${++step}/${total} : ${a.original}`);
      for (const st of stages) {
        out(`Step ${++step}/${total} : ${st.from.original}`);
        const s = await baseStage(this.o, st, globals, results, b);
        out(` ---> ${short(sha256Digest(JSON.stringify(s.config)))}`);
        const instrs = [...this.onbuild(s), ...st.instructions];
        const flags = { cmdSet: false };
        for (const ins of instrs) {
          if (st.instructions.includes(ins)) out(`Step ${++step}/${total} : ${ins.original}`);
          const hit = await this.step(env, s, ins, {
            df,
            globals,
            buildArgs,
            ignore,
            results,
            flags,
            noCache: !!b.noCache,
          });
          if (hit) {
            cached++;
            out(' ---> Using cache');
          }
          out(` ---> ${short(sha256Digest(JSON.stringify(s.config)))}`);
        }
        results.set(String(st.index), s);
        if (st.name) results.set(st.name, s);
        final = s;
      }
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
    // As dockerd: --build-arg values no ARG of the built stages (or before FROM) declares
    const declared = new Set(
      [...df.globalArgs, ...stages.flatMap((st) => st.instructions)].flatMap((i) =>
        i.kind === 'ARG' ? i.args.map((a) => a.name) : [],
      ),
    );
    const unused = Object.keys(buildArgs)
      .filter((k) => !declared.has(k) && !PREDEFINED_ARGS.includes(k))
      .sort();
    if (unused.length) out(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`);
    const s = final!;
    if (b.labels && Object.keys(b.labels).length) {
      const cfg = (s.config.config ??= {});
      cfg.Labels = { ...(cfg.Labels ?? {}), ...b.labels };
    }
    const tags = b.tags ?? [];
    const img = await this.o.images.leases.with(async (lease) =>
      this.o.images.storeImageRaw(
        Buffer.from(JSON.stringify(s.config)),
        'application/vnd.oci.image.config.v1+json',
        s.layers,
        tags,
        lease.id,
      ),
    );
    if (s.top)
      await this.o.images.content.updateLabels(img.id, {
        [`containerd.io/gc.ref.snapshot.${this.o.snapshotter.name}`]: s.top,
      });
    out(`Successfully built ${short(img.id)}`);
    for (const t of tags) out(`Successfully tagged ${t.includes(':') ? t : `${t}:latest`}`);
    if (b.iidfile) writeFileSync(b.iidfile, img.id);
    return { id: img.id, tags, cachedSteps: cached, steps: step };
  }

  /** ONBUILD triggers of the base image run first; the new image does not inherit them. */
  private onbuild(s: StageState): Instruction[] {
    const triggers = s.config.config?.OnBuild ?? [];
    if (s.config.config) s.config.config.OnBuild = null;
    return triggers.map((t) => parseDockerfile(`FROM scratch\n${t}`).stages[0].instructions[0]);
  }

  /** Runs (or restores from the cache) one instruction; true on a cache hit. */
  private async step(env: BuildEnv, s: StageState, ins: Instruction, c: StepCtx): Promise<boolean> {
    c.desc = ins.original; // what `docker system df -v` shows for the cache entry of this step
    if (ins.kind === 'ARG') {
      const before = wordEnv(s); // all defaults of one ARG see the environment from before it
      for (const { name, default: d } of ins.args) {
        const v = c.buildArgs[name] ?? (d !== undefined ? expandWord(d, before, c.df.escape) : c.globals.get(name));
        if (v !== undefined) s.args.set(name, v);
        else s.args.delete(name);
      }
      // the defaults as written (expanded), not what --build-arg gives: dockerd's record
      const words = ins.args.map(({ name, default: d }) =>
        d !== undefined ? `${name}=${expandWord(d, before, c.df.escape)}` : name,
      );
      addHistory(s, nop(shellOf(s), `ARG ${words.join(' ')}`), true);
      return this.cached(s, ins.original + JSON.stringify([...s.args]), '', c, async () => {});
    }
    if (ins.kind === 'RUN') {
      const argv = runArgv(ins, shellOf(s));
      const argEnv = [...s.args].map(([k, v]) => `${k}=${v}`);
      for (const k of PREDEFINED_ARGS)
        if (c.buildArgs[k] !== undefined && !s.args.has(k)) argEnv.push(`${k}=${c.buildArgs[k]}`);
      // history: the build args in effect that no ENV overrides (predefined ones only if declared)
      const envKeys = new Set((s.config.config?.Env ?? []).map((e) => e.split('=')[0]));
      const shown = [...s.args].filter(([k]) => !envKeys.has(k)).map(([k, v]) => `${k}=${v}`);
      return this.cached(s, `RUN ${JSON.stringify(argv)} ${JSON.stringify(ins.flags)}`, argEnv.join('\n'), c, () =>
        runStep(env, s, ins, argv, argEnv, runCreatedBy(argv, shown)),
      );
    }
    if (ins.kind === 'COPY' || ins.kind === 'ADD')
      return copyInstruction(env, s, ins, c, {
        stage: (image, line) =>
          baseStage(
            this.o,
            { index: -1, from: { kind: 'FROM', image, line, original: '', flags: {} }, instructions: [] },
            new Map(),
            c.results,
            {},
          ),
        cached: (key, extra, run) => this.cached(s, key, extra, c, run),
      });
    if (ins.kind === 'WORKDIR') {
      const cfg = (s.config.config ??= {});
      const p = expandWord(ins.path, wordEnv(s), c.df.escape);
      // As the classic builder: a relative path is joined to the current one (and cleaned); an
      // absolute one is kept as written (`/a/../b` stays in the config; /b is what gets made).
      const wd = posix.isAbsolute(p) ? p : posix.join(cfg.WorkingDir || '/', p);
      return this.cached(s, `WORKDIR ${wd}`, '', c, async () => {
        cfg.WorkingDir = wd;
        const made = await withLayer(
          env,
          s,
          async (root) => {
            // inside the image root: its symlinks resolved as the container sees them, never the host's
            mkdirOwned(root, posix.normalize(wd), 0, 0);
          },
          { skipIfEmpty: true },
        );
        addHistory(s, nopString(shellOf(s), `WORKDIR ${wd}`), !made);
      });
    }
    if (ins.kind === 'FROM')
      throw invalidArgument(`Dockerfile:${ins.line}: FROM cannot be an ONBUILD trigger`, { field: 'FROM' });
    const env2 = wordEnv(s);
    const expanded = `${ins.original} ${JSON.stringify([...env2])}`;
    return this.cached(s, expanded, '', c, async () => applyMeta(s, ins, c.df.escape, c.flags));
  }

  private cached(s: StageState, stepKey: string, extra: string, c: StepCtx, run: () => Promise<void>) {
    return this.cache.step(s, stepKey, extra, c, this.o.snapshotter, run);
  }
}
