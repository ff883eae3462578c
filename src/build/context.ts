// The build context on disk: resolving COPY/ADD sources (wildcards with Go filepath.Match rules,
// confined to the context, .dockerignore applied), hashing them for the cache, and copying them
// into a stage's root with Docker's rules (a directory's contents, mtimes kept, owner 0:0 unless
// --chown, --chmod applied to what is copied).
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, lutimesSync } from 'node:fs';
import { join, posix } from 'node:path';
import { invalidArgument, notFound } from '../common/index.js';
import { globToRegExp, hasMagic, type IgnoreMatcher } from './dockerfile/index.js';

export interface Source { rel: string; abs: string }

/** Lists paths matching `pattern` (relative to `root`), excluding ignored ones. */
export function resolveSources(root: string, pattern: string, ignore: IgnoreMatcher | undefined, field: string): Source[] {
  const norm = posix.normalize('/' + pattern).slice(1);
  if (posix.normalize(pattern).startsWith('..')) throw invalidArgument(`${field}: forbidden path outside the build context: ${pattern}`, { field, reason: 'OutsideContext' });
  if (!hasMagic(norm)) {
    const abs = join(root, norm);
    if (!existsSync(abs) && !isLink(abs) || (norm && ignore?.ignores(norm))) throw notFound(`${field}: file not found in build context or excluded by .dockerignore: stat ${pattern}: file does not exist`, { field });
    return [{ rel: norm, abs }];
  }
  const parts = norm.split('/');
  let cur: string[] = [''];
  for (const [i, p] of parts.entries()) {
    const next: string[] = [];
    for (const base of cur) {
      const dir = join(root, base);
      if (!hasMagic(p)) { if (existsSync(join(dir, p)) || isLink(join(dir, p))) next.push(base ? `${base}/${p}` : p); continue; }
      const re = globToRegExp(p);
      let names: string[] = [];
      try { if (statSync(dir).isDirectory()) names = readdirSync(dir).sort(); } catch { /* not a dir */ }
      for (const n of names) if (re.test(n) && (i === parts.length - 1 || isDir(join(dir, n)))) next.push(base ? `${base}/${n}` : n);
    }
    cur = next;
  }
  const out = cur.filter((r) => !ignore?.ignores(r)).map((rel) => ({ rel, abs: join(root, rel) }));
  if (!out.length) throw notFound(`${field}: no source files were specified (no match for ${pattern})`, { field });
  return out;
}

function isLink(p: string): boolean { try { return lstatSync(p).isSymbolicLink(); } catch { return false; } }
function isDir(p: string): boolean { try { return statSync(p).isDirectory(); } catch { return false; } }

/** Content hash of sources: names, modes, link targets and file contents, sorted. */
export function hashSources(sources: Source[], ignore: IgnoreMatcher | undefined): string {
  const h = createHash('sha256');
  const walk = (abs: string, rel: string) => {
    if (rel && ignore?.ignores(rel)) return;
    const st = lstatSync(abs);
    h.update(`${rel}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(abs));
    else if (st.isFile()) h.update(readFileSync(abs));
    else if (st.isDirectory()) for (const n of readdirSync(abs).sort()) walk(join(abs, n), rel ? `${rel}/${n}` : n);
    h.update('\0');
  };
  for (const s of sources) walk(s.abs, s.rel);
  return h.digest('hex');
}

export interface CopyOptions { uid: number; gid: number; chmod?: number; ignore?: IgnoreMatcher; ignoreBase?: string }

/** Copies `src` to `dst` (which must not escape `root`): files, symlinks and directory trees. */
export function copyTree(src: string, dst: string, o: CopyOptions, rel = o.ignoreBase ?? ''): void {
  const st = lstatSync(src);
  if (st.isDirectory()) {
    if (!isDir(dst)) { rmSync(dst, { force: true }); mkdirSync(dst, { recursive: true }); }
    for (const n of readdirSync(src)) {
      const r = rel ? `${rel}/${n}` : n;
      if (o.ignore?.ignores(r)) continue;
      copyTree(join(src, n), join(dst, n), o, r);
    }
    chmodSync(dst, o.chmod ?? st.mode & 0o7777);
    chownSync(dst, o.uid, o.gid);
    utimesSync(dst, st.atime, st.mtime);
    return;
  }
  if (isLink(dst) || existsSync(dst)) rmSync(dst, { recursive: true, force: true });
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
    lchownSync(dst, o.uid, o.gid);
    lutimesSync(dst, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) throw invalidArgument(`cannot copy ${src}: not a regular file, directory or symlink`, { field: 'source' });
  copyFileSync(src, dst);
  chmodSync(dst, o.chmod ?? st.mode & 0o7777);
  chownSync(dst, o.uid, o.gid);
  utimesSync(dst, st.atime, st.mtime);
}

/** Creates the missing directories of `path` (inside `root`) owned by uid:gid, mode 0755. */
export function mkdirOwned(root: string, path: string, uid: number, gid: number): void {
  let cur = root;
  for (const p of path.split('/').filter(Boolean)) {
    cur = join(cur, p);
    if (isLink(cur)) {
      const t = readlinkSync(cur);
      if (t.startsWith('/') || t.split('/').includes('..')) throw invalidArgument(`path ${path}: symlink ${p} points outside or upwards`, { field: 'dest' });
    }
    if (!existsSync(cur)) { mkdirSync(cur); chmodSync(cur, 0o755); chownSync(cur, uid, gid); }
  }
}
