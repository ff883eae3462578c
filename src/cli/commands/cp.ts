// `skiff cp CONTAINER:SRC DEST` and `skiff cp SRC CONTAINER:DEST` through the archive API; the tar
// work is done by the system's GNU tar (renaming the top entry with --transform when the
// destination names a new file).
import { spawn } from 'node:child_process';
import { existsSync, statSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { client, parse, runVerb, ApiError, UsageError } from '../client/index.js';

function splitArg(a: string): { container?: string; path: string } {
  const i = a.indexOf(':');
  if (i > 0 && !a.startsWith('/') && !a.startsWith('.')) return { container: a.slice(0, i), path: a.slice(i + 1) };
  return { path: a };
}

function tar(args: string[], input?: NodeJS.ReadableStream): { stdout: NodeJS.ReadableStream; done: Promise<void> } {
  const p = spawn('tar', args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
  if (input) input.pipe(p.stdin!);
  const done = new Promise<void>((res, rej) =>
    p.on('close', (code) => (code === 0 ? res() : rej(new Error(`tar exited with ${code}`)))),
  );
  return { stdout: p.stdout!, done };
}

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      archive: { type: 'boolean', short: 'a' },
      'follow-link': { type: 'boolean', short: 'L' },
      quiet: { type: 'boolean', short: 'q' },
    });
    if (positionals.length !== 2)
      throw new UsageError(
        '"skiff cp" requires exactly 2 arguments.\nUsage:  skiff cp CONTAINER:SRC_PATH DEST_PATH|-\n        skiff cp SRC_PATH|- CONTAINER:DEST_PATH',
      );
    const [src, dst] = positionals.map(splitArg);
    const c = client(v.host);
    if (src.container && !dst.container) {
      const res = await c.raw('GET', `/containers/${src.container}/archive`, { query: { path: src.path } });
      if (dst.path === '-') {
        res.pipe(process.stdout);
        await new Promise((r) => res.on('end', r));
        return;
      }
      const dest = resolve(dst.path);
      if (existsSync(dest) && statSync(dest).isDirectory()) {
        await tar(['-x', '-C', dest], res).done;
        return;
      }
      if (!existsSync(dirname(dest)))
        throw new ApiError(0, `Error: invalid output path: directory "${dirname(dest)}" does not exist`);
      const tmp = mkdtempSync(join(dirname(dest), '.skiff-cp-'));
      try {
        await tar(['-x', '-C', tmp], res).done;
        const [top] = readdirSync(tmp);
        renameSync(join(tmp, top), dest);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      return;
    }
    if (!src.container && dst.container) {
      let target = dst.path;
      let name = basename(src.path);
      try {
        const h = await c.raw('HEAD', `/containers/${dst.container}/archive`, { query: { path: dst.path } });
        h.resume();
        const stat = JSON.parse(
          Buffer.from(String(h.headers['x-docker-container-path-stat'] ?? ''), 'base64').toString('utf8') || '{}',
        ) as { mode?: number };
        if (!stat.mode || !(stat.mode & 0x80000000)) {
          target = dirname(dst.path);
          name = basename(dst.path);
        }
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404) throw e;
        target = dirname(dst.path);
        name = basename(dst.path);
      }
      const from = resolve(src.path);
      const t = tar([
        '-c',
        '-C',
        dirname(from),
        `--transform=s|^${basename(from).replace(/[|\\.*[\]^$]/g, '\\$&')}|${name}|`,
        basename(from),
      ]);
      const res = await c.raw('PUT', `/containers/${dst.container}/archive`, {
        query: { path: target, noOverwriteDirNonDir: true },
        stream: t.stdout as never,
      });
      res.resume();
      await t.done;
      return;
    }
    throw new UsageError(
      'copying between containers or between local paths is not supported: one side must be CONTAINER:PATH',
    );
  });
}
