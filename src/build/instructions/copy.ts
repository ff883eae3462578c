// COPY and ADD: sources from the context (or another stage's / image's root with --from), written
// straight into a snapshot of the stage (no container). ADD extracts local tar archives (plain,
// gzip, bzip2, xz, via GNU tar) and writes the files of URLs downloaded before (download.ts).
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  lstatSync,
  openSync,
  readSync,
  writeFileSync,
  chownSync,
  chmodSync,
  unlinkSync,
  utimesSync,
  type Stats,
} from 'node:fs';
import { join, posix } from 'node:path';
import { invalidArgument } from '../../common/index.js';
import type { Download } from './download.js';
import { copyDirContents, copyTree, mkdirOwned, scopedPath, type Source } from '../context.js';
import type { Heredoc, IgnoreMatcher } from '../dockerfile/index.js';
import { withLayer } from '../layers.js';
import type { BuildEnv, StageState } from '../state.js';
import { resolveUser } from '../users.js';

export interface CopyPlan {
  kind: 'COPY' | 'ADD';
  sources: Source[];
  heredocs: Heredoc[];
  /** ADD <url> sources, already downloaded (see download.ts). */
  downloads: Download[];
  dest: string;
  chown?: string;
  chmod?: number;
  /** Root of --from (a stage's or image's mounted tree), for --chown name lookups too. */
  createdBy: string;
  /** .dockerignore of the context (not applied to --from sources). */
  ignore?: IgnoreMatcher;
  line: number;
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

function isArchive(file: string): boolean {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(262);
  const n = readSync(fd, b, 0, 262, 0);
  closeSync(fd);
  if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return true;
  if (n >= 3 && b.subarray(0, 3).toString() === 'BZh') return true;
  if (n >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
  return n >= 262 && b.subarray(257, 262).toString() === 'ustar';
}

export async function copyStep(env: BuildEnv, s: StageState, p: CopyPlan): Promise<void> {
  const where = `Dockerfile:${p.line}: ${p.kind}`;
  await withLayer(env, s, async (root) => {
    const cfg = s.config.config ?? {};
    // As the classic builder: `--chown=u` means `u:u` (the group is looked up by the same name/id).
    const { uid, gid } = p.chown
      ? resolveUser(root, p.chown.includes(':') ? p.chown : `${p.chown}:${p.chown}`, 'chown')
      : { uid: 0, gid: 0 };
    const wd = cfg.WorkingDir || '/';
    let dest = posix.isAbsolute(p.dest) ? p.dest : posix.join(wd, p.dest);
    const many = p.sources.length + p.heredocs.length + p.downloads.length > 1;
    // A destination that already is a directory (symlinks followed inside the image) takes the
    // sources inside it, as with the classic builder.
    const toDir =
      p.dest.endsWith('/') ||
      p.dest === '.' ||
      many ||
      !!lstatOrNull(scopedPath(root, posix.normalize(dest)))?.isDirectory();
    if (many && !p.dest.endsWith('/'))
      throw invalidArgument(
        `${where}: When using ${p.kind} with more than one source file, the destination must be a directory and end with a /`,
        { field: 'dest' },
      );
    dest = posix.normalize(dest);
    // As the classic builder: the missing parents of a copied file get the --chown owner; a copied
    // directory's destination gets it only if COPY creates it (its missing parents are 0:0).
    // Paths are resolved inside the image root (its symlinks followed as the container would see
    // them). Made per source, in order, like the classic builder.
    const target = (name: string) => {
      const dirHost = mkdirOwned(root, toDir ? dest : posix.dirname(dest), uid, gid);
      const f = join(dirHost, toDir ? name : posix.basename(dest));
      if (lstatOrNull(f)?.isSymbolicLink()) unlinkSync(f); // a file replaces a symlink, never writes through it
      return f;
    };
    const o = { uid, gid, chmod: p.chmod, root };
    for (const h of p.heredocs) {
      const f = target(h.name);
      writeFileSync(f, h.content);
      chmodSync(f, p.chmod ?? 0o644);
      chownSync(f, uid, gid);
    }
    for (const d of p.downloads) {
      const f = target(d.name);
      copyFileSync(d.file, f);
      chmodSync(f, p.chmod ?? 0o600);
      chownSync(f, uid, gid);
      if (d.mtime) utimesSync(f, d.mtime, d.mtime);
    }
    for (const src of p.sources) {
      const st = lstatSync(src.abs);
      if (st.isDirectory()) {
        copyDirContents(src.abs, mkdirOwned(root, dest, uid, gid, 'leaf'), {
          ...o,
          ignore: p.ignore,
          ignoreBase: src.rel,
        });
        continue;
      }
      if (p.kind === 'ADD' && st.isFile() && isArchive(src.abs)) {
        const d = mkdirOwned(root, dest, 0, 0);
        try {
          execFileSync('tar', ['-x', '--no-same-owner', '-f', src.abs, '-C', d], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
        } catch (e) {
          throw invalidArgument(
            `${where}: extracting ${src.rel}: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`,
            { field: 'source' },
          );
        }
        continue;
      }
      copyTree(src.abs, target(posix.basename(src.rel)), o);
    }
  });
}
