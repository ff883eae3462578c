// COPY and ADD as steps: the sources named (after variable expansion) resolved in the context or in
// another stage's or image's root (--from, through a read-only view), URLs downloaded, heredocs
// expanded; the cache key from all of them; then copyStep (copy.ts) writes the files when the step
// is not cached.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, randomSuffix } from '../../common/index.js';
import { mountAll, unmount } from '../../image/index.js';
import { hashSources, resolveSources, type Source } from '../context.js';
import { expandWord, expandWords, type Instruction } from '../dockerfile/index.js';
import { nopString, sourcesName } from '../history.js';
import { addHistory, wordEnv, type BuildEnv, type StageState, type StepCtx } from '../state.js';
import { copyStep } from './copy.js';
import { download, type Download } from './download.js';
import { shellOf } from './meta.js';

/** What a COPY/ADD step needs from the builder. */
export interface CopyDeps {
  /** The state of a stage or image named by --from (not an earlier stage of this build). */
  stage(name: string, line: number): Promise<StageState>;
  /** Restores the step from the cache, or runs `run` and records it (BuildCache.step); true on a hit. */
  cached(stepKey: string, extra: string, run: () => Promise<void>): Promise<boolean>;
}

export async function copyInstruction(
  env: BuildEnv,
  s: StageState,
  ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>,
  c: StepCtx,
  deps: CopyDeps,
): Promise<boolean> {
  const we = wordEnv(s);
  const x = (w: string) => expandWord(w, we, c.df.escape);
  const heredocNames = new Set(ins.heredocs.map((h) => `<<${h.chomp ? '-' : ''}${h.name}`));
  const raw = ins.sources.filter((r) => !heredocNames.has(r) && !/^<<-?["']?\w/.test(r));
  const words = raw.flatMap((r) => expandWords(r, we, c.df.escape));
  const urls = ins.kind === 'ADD' ? words.filter((w) => /^https?:\/\//.test(w)) : [];
  const local = words.filter((w) => !urls.includes(w));
  const from = ins.flags.from !== undefined ? x(ins.flags.from) : undefined;
  const chmod = ins.flags.chmod !== undefined ? x(ins.flags.chmod) : undefined;
  if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod))
    throw invalidArgument(`Dockerfile:${ins.line}: ${ins.kind} --chmod=${chmod}: expected an octal mode`, {
      field: 'chmod',
    });
  const heredocs = ins.heredocs.map((h) => ({ ...h, content: h.expand ? expandHeredoc(h.content, we) : h.content }));
  let root = env.contextDir;
  let view: { key: string; dir: string } | undefined;
  try {
    if (from !== undefined) {
      const st = c.results.get(from.toLowerCase()) ?? (await deps.stage(from, ins.line));
      const key = `build-view-${randomSuffix(6)}`;
      const dir = join(env.tmpDir, key);
      mkdirSync(dir, { recursive: true });
      view = { key, dir };
      if (st.top) await mountAll(await env.sn.view(key, st.top), dir);
      root = dir;
    }
    const where = `${ins.kind} failed`; // dockerd's prefix: `COPY failed: file not found …`
    const sources: Source[] = local.flatMap((p) =>
      resolveSources(root, p, from === undefined ? c.ignore : undefined, where),
    );
    const downloads: Download[] = [];
    for (const [i, u] of urls.entries())
      downloads.push(await download(u, env.tmpDir, `${ins.line}-${i}`, where, env.signal));
    const hash =
      hashSources(sources, from === undefined ? c.ignore : undefined) +
      downloads.map((d) => `:${d.name}@${d.sha256}`).join('');
    const key = JSON.stringify({
      k: ins.kind,
      local,
      urls,
      from,
      chown: ins.flags.chown && x(ins.flags.chown),
      chmod,
      dest: x(ins.dest),
      heredocs,
      wd: s.config.config?.WorkingDir,
    });
    return await deps.cached(key, hash, async () => {
      await copyStep(env, s, {
        kind: ins.kind,
        sources,
        heredocs,
        downloads,
        dest: x(ins.dest),
        chown: ins.flags.chown && x(ins.flags.chown),
        chmod: chmod !== undefined ? parseInt(chmod, 8) : undefined,
        createdBy: ins.original,
        line: ins.line,
        ignore: from === undefined ? c.ignore : undefined,
      });
      const ign = from === undefined ? c.ignore : undefined;
      const names = sourcesName([
        ...sources.map((src) => ({
          kind: statSync(src.abs).isDirectory() ? ('dir' as const) : ('file' as const),
          hash: hashSources([src], ign),
        })),
        ...heredocs.map((h) => ({
          kind: 'file' as const,
          hash: createHash('sha256').update(h.content).digest('hex'),
        })),
        ...downloads.map((d) => ({ kind: 'file' as const, hash: d.sha256 })),
      ]);
      const chown = ins.flags.chown ? `--chown=${x(ins.flags.chown)}` : '';
      addHistory(s, nopString(shellOf(s), `${ins.kind} ${chown}${names} in ${x(ins.dest)} `), false);
    });
  } finally {
    if (view) {
      // clean-up of the --from view: a leftover is removed with the build's temp dir
      await unmount(view.dir).catch(() => {});
      await env.sn.remove(view.key).catch(() => {});
      rmSync(view.dir, { recursive: true, force: true });
    }
  }
}

/** Heredoc bodies with unquoted delimiters: $VAR and ${VAR} expanded, quotes kept. */
function expandHeredoc(body: string, env: Map<string, string>): string {
  return body.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a, b2) =>
    m === '\\$' ? '$' : (env.get(a ?? b2) ?? ''),
  );
}
