// The build context on disk: resolving COPY/ADD sources (wildcards with Go filepath.Match rules,
// confined to the context, .dockerignore applied), hashing them for the cache, and copying them
// into a stage's root with Docker's rules (a directory's contents, mtimes kept, owner 0:0 unless
// --chown, --chmod applied to what is copied).
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  lutimesSync,
} from 'node:fs';
import { join, posix, relative } from 'node:path';
import { invalidArgument, notFound } from '../common/index.js';
import { globToRegExp, hasMagic, type IgnoreMatcher } from './dockerfile/index.js';

export interface Source {
  rel: string;
  abs: string;
}

/** Lists paths matching `pattern` (relative to `root`), excluding ignored ones. */
export function resolveSources(
  root: string,
  pattern: string,
  ignore: IgnoreMatcher | undefined,
  field: string,
): Source[] {
  const norm = posix.normalize('/' + pattern).slice(1);
  if (posix.normalize(pattern).startsWith('..'))
    throw invalidArgument(`${field}: forbidden path outside the build context: ${pattern}`, {
      field,
      reason: 'OutsideContext',
    });
  if (!hasMagic(norm)) {
    const abs = join(root, norm);
    if ((!existsSync(abs) && !isLink(abs)) || (norm && excluded(ignore, norm, abs)))
      throw notFound(
        `${field}: file not found in build context or excluded by .dockerignore: stat ${pattern}: file does not exist`,
        { field },
      );
    return [{ rel: norm, abs }];
  }
  const parts = norm.split('/');
  let cur: string[] = [''];
  for (const [i, p] of parts.entries()) {
    const next: string[] = [];
    for (const base of cur) {
      const dir = join(root, base);
      if (!hasMagic(p)) {
        if (existsSync(join(dir, p)) || isLink(join(dir, p))) next.push(base ? `${base}/${p}` : p);
        continue;
      }
      const re = globToRegExp(p);
      let names: string[] = [];
      try {
        if (statSync(dir).isDirectory()) names = readdirSync(dir).sort();
      } catch {
        /* not a dir */
      }
      for (const n of names)
        if (re.test(n) && (i === parts.length - 1 || isDir(join(dir, n)))) next.push(base ? `${base}/${n}` : n);
    }
    cur = next;
  }
  const out = cur.filter((r) => !excluded(ignore, r, join(root, r))).map((rel) => ({ rel, abs: join(root, rel) }));
  if (!out.length) throw notFound(`${field}: no source files were specified (no match for ${pattern})`, { field });
  return out;
}

/** An excluded source, unless it is a directory an exception reaches into (the docker CLI sends
 *  what the exception keeps, so the directory is in the daemon's context). */
function excluded(ignore: IgnoreMatcher | undefined, rel: string, abs: string): boolean {
  return !!ignore?.ignores(rel) && !(ignore.walksInto(rel) && isDir(abs));
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Content hash of sources: names, modes, link targets and file contents, sorted. */
export function hashSources(sources: Source[], ignore: IgnoreMatcher | undefined): string {
  const h = createHash('sha256');
  const walk = (abs: string, rel: string) => {
    if (rel && ignore?.ignores(rel)) {
      // an excluded directory an exception reaches into: only what it keeps counts
      if (ignore.walksInto(rel) && lstatSync(abs).isDirectory())
        for (const n of readdirSync(abs).sort()) walk(join(abs, n), `${rel}/${n}`);
      return;
    }
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

export interface CopyOptions {
  uid: number;
  gid: number;
  chmod?: number;
  ignore?: IgnoreMatcher;
  ignoreBase?: string;
  /** The image root `dst` lies in: symlinks met on the way are followed as if it were `/`. */
  root?: string;
}

/** `path` (a path inside the image) as a host path below `root`, with every symlink on the way
 *  resolved as the container would see it: absolute targets restart at `root` and `..` stops at
 *  it, so a hostile base image cannot point a COPY outside its tree. Missing components are kept. */
export function scopedPath(root: string, path: string): string {
  const todo = path.split('/').filter(Boolean);
  const out: string[] = [];
  let links = 0;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      out.pop();
      continue;
    }
    const host = join(root, ...out, c);
    if (isLink(host)) {
      if (++links > 40) throw invalidArgument(`path ${path}: too many levels of symbolic links`, { field: 'dest' });
      const t = readlinkSync(host);
      if (t.startsWith('/')) out.length = 0;
      todo.unshift(...t.split('/').filter(Boolean));
      continue;
    }
    out.push(c);
  }
  return join(root, ...out);
}

/** Copies `src` to `dst`: files, symlinks and directory trees. An existing symlink where a file
 *  goes is replaced; where a directory goes it is followed inside `o.root` (never outside). */
export function copyTree(src: string, dstIn: string, o: CopyOptions, rel = o.ignoreBase ?? ''): void {
  const st = lstatSync(src);
  let dst = dstIn;
  if (st.isDirectory()) {
    if (isLink(dst)) {
      if (!o.root) throw invalidArgument(`cannot copy ${src}: destination ${dst} is a symlink`, { field: 'dest' });
      dst = scopedPath(o.root, relative(o.root, dst));
    }
    if (!isDir(dst)) {
      rmSync(dst, { force: true });
      mkdirSync(dst, { recursive: true });
    }
    copyEntries(src, dst, o, rel, () => {});
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
  if (!st.isFile())
    throw invalidArgument(`cannot copy ${src}: not a regular file, directory or symlink`, { field: 'source' });
  copyFileSync(src, dst);
  chmodSync(dst, o.chmod ?? st.mode & 0o7777);
  chownSync(dst, o.uid, o.gid);
  utimesSync(dst, st.atime, st.mtime);
}

/** Creates the missing directories of `path` (inside `root`, symlinks followed within it), mode
 *  0755, and returns its host path. Owner uid:gid for every one it creates (`all`: the parents of a
 *  file COPY), or only for `path` itself while its missing parents get 0:0 (`leaf`: the destination
 *  of a directory COPY) — as the classic builder does. Existing directories are left as they are. */
export function mkdirOwned(
  root: string,
  path: string,
  uid: number,
  gid: number,
  owner: 'all' | 'leaf' = 'all',
): string {
  let cur = '';
  let host = root;
  const parts = path.split('/').filter(Boolean);
  for (const [i, p] of parts.entries()) {
    cur = `${cur}/${p}`;
    host = scopedPath(root, cur);
    if (isLink(host)) throw invalidArgument(`path ${path}: cannot resolve ${cur}`, { field: 'dest' });
    if (!existsSync(host)) {
      mkdirSync(host);
      chmodSync(host, 0o755);
      if (owner === 'all' || i === parts.length - 1) chownSync(host, uid, gid);
      else chownSync(host, 0, 0);
    } else if (!statSync(host).isDirectory())
      throw invalidArgument(`path ${path}: ${cur} is not a directory`, { field: 'dest' });
  }
  return host;
}

/** COPY of a directory: its contents into `dst` (already made by mkdirOwned). The source
 *  directory's own mode, owner and times are not carried over — the classic builder leaves the
 *  destination directory as it found or made it (0755; /tmp stays 1777). */
export function copyDirContents(src: string, dst: string, o: CopyOptions): void {
  copyEntries(src, dst, o, o.ignoreBase ?? '', () => {});
}

/** The entries of directory `src` into `dst`, .dockerignore applied. `ensure` makes `dst` (and
 *  its parents) when the first entry is copied: an excluded directory that an exception reaches
 *  into (`dir` with `!dir/keep`) is walked, and made — 0755, owned as the copy — only if something
 *  inside is kept, as the docker CLI's tar of the context leaves it to the daemon's extraction. */
function copyEntries(src: string, dst: string, o: CopyOptions, rel: string, ensure: () => void): void {
  for (const n of readdirSync(src)) {
    const r = rel ? `${rel}/${n}` : n;
    if (o.ignore?.ignores(r)) {
      if (o.ignore.walksInto(r) && lstatSync(join(src, n)).isDirectory()) {
        const sub = join(dst, n);
        let made = false;
        copyEntries(join(src, n), sub, o, r, () => {
          if (made) return;
          made = true;
          ensure();
          if (!isDir(sub)) {
            rmSync(sub, { force: true });
            mkdirSync(sub);
            chmodSync(sub, o.chmod ?? 0o755);
            chownSync(sub, o.uid, o.gid);
          }
        });
      }
      continue;
    }
    ensure();
    copyTree(join(src, n), join(dst, n), o, r);
  }
}
