// Path resolution confined to a root directory, component by component, the way openat2's
// RESOLVE_IN_ROOT would: every component is lstat'ed; a relative symlink is followed only while
// its target stays inside the root; an absolute symlink, or one that climbs above the root, is an
// escape and is refused. Names with ".." or a leading "/" are refused before any lookup. Node has
// no openat, so this is done in TS; it is race-free because the applier is the only writer of the
// fresh directory it fills. Calls are synchronous: each is a single short syscall, and the
// applier's hot path avoids a thread-pool round trip per path component.
import { chmodSync, chownSync, lstatSync, mkdirSync, readlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../common/index.js';

export function escape(entry: string, why: string): Error {
  return invalidArgument(`layer entry ${JSON.stringify(entry)} rejected: ${why}`, {
    field: entry,
    reason: 'UnsafePath',
  });
}

/** Splits an archive name into clean components; refuses absolute names, "..", and NUL. */
export function cleanComponents(name: string, what = name): string[] {
  if (name.includes('\0')) throw escape(what, 'name contains a NUL byte');
  if (name.startsWith('/')) throw escape(what, 'absolute path');
  const parts = name.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw escape(what, '".." path component');
  return parts;
}

const MAX_LINKS = 255;

export class SafeRoot {
  /** lexical parent path → real directory path (relative components) verified in this apply */
  private readonly dirCache = new Map<string, string[]>();

  /** `lowers`: overlay lower dirs (nearest first); a parent directory missing from the upper dir
   *  is created with the owner and mode it has in the nearest lower that holds it, so the merged
   *  view keeps them. */
  constructor(
    readonly root: string,
    private readonly lowers: readonly string[] = [],
  ) {}

  /** The path of a symlink at `rel` in the nearest lower layer that has anything there. */
  private lowerSymlink(rel: string[]): string | undefined {
    for (const l of this.lowers) {
      const q = join(l, ...rel);
      let st;
      try {
        st = lstatSync(q);
      } catch {
        continue;
      }
      return st.isSymbolicLink() ? q : undefined;
    }
    return undefined;
  }

  private implicitDir(p: string, rel: string[]): void {
    mkdirSync(p, { mode: 0o755 });
    for (const l of this.lowers) {
      let st;
      try {
        st = lstatSync(join(l, ...rel));
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        chownSync(p, st.uid, st.gid);
        chmodSync(p, st.mode & 0o7777);
        utimesSync(p, st.atime, st.mtime);
      }
      return;
    }
  }

  abs(parts: readonly string[]): string {
    return parts.length ? join(this.root, ...parts) : this.root;
  }

  /** Forgets cached directories at or below `parts` (after a removal or replacement). */
  invalidate(parts?: readonly string[]): void {
    if (!parts || parts.length === 0) {
      this.dirCache.clear();
      return;
    }
    const key = parts.join('/');
    for (const k of this.dirCache.keys()) if (k === key || k.startsWith(key + '/')) this.dirCache.delete(k);
    // Cached resolutions that went through a followed symlink may also be stale.
    for (const [k, v] of this.dirCache) if (v.join('/') !== k) this.dirCache.delete(k);
  }

  /**
   * Resolves directory components inside the root, returning the real components. Missing
   * directories are created (mode 0755) when `create`; a non-directory in the way is an error.
   */
  resolveDir(parts: readonly string[], entry: string, create: boolean): string[] {
    const key = parts.join('/');
    const hit = this.dirCache.get(key);
    if (hit) return hit;
    const real: string[] = [];
    const todo = [...parts];
    let links = 0;
    while (todo.length) {
      const c = todo.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (real.length === 0) throw escape(entry, 'a symlink in its path climbs above the snapshot root');
        real.pop();
        continue;
      }
      const p = join(this.root, ...real, c);
      let st;
      try {
        st = lstatSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        // On an overlay upper dir, a symlink of a lower layer is part of the merged path.
        const lowerLink = this.lowerSymlink([...real, c]);
        if (lowerLink === undefined) {
          if (!create)
            throw invalidArgument(
              `layer entry ${JSON.stringify(entry)}: path ${JSON.stringify([...real, c].join('/'))} does not exist`,
              { field: entry },
            );
          this.implicitDir(p, [...real, c]);
          real.push(c);
          continue;
        }
        if (++links > MAX_LINKS) throw escape(entry, 'too many levels of symbolic links');
        const target = readlinkSync(lowerLink);
        if (target.startsWith('/'))
          throw escape(
            entry,
            `path component ${JSON.stringify([...real, c].join('/'))} is a symlink (in a lower layer) to the absolute path ${JSON.stringify(target)}, which leaves the snapshot`,
          );
        todo.unshift(...target.split('/'));
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw escape(entry, 'too many levels of symbolic links');
        const target = readlinkSync(p);
        if (target.startsWith('/'))
          throw escape(
            entry,
            `path component ${JSON.stringify([...real, c].join('/'))} is a symlink to the absolute path ${JSON.stringify(target)}, which leaves the snapshot`,
          );
        todo.unshift(...target.split('/'));
        continue;
      }
      if (!st.isDirectory()) {
        throw invalidArgument(
          `layer entry ${JSON.stringify(entry)}: path component ${JSON.stringify([...real, c].join('/'))} is not a directory`,
          { field: entry },
        );
      }
      real.push(c);
    }
    this.dirCache.set(key, real);
    return real;
  }

  /** Verifies that no component of an already-resolved path is a symlink (before handing the
   *  path to an external command that would follow parents). */
  assertNoSymlinkParents(parts: readonly string[], entry: string): void {
    for (let i = 1; i < parts.length; i++) {
      const st = lstatSync(join(this.root, ...parts.slice(0, i)));
      if (!st.isDirectory())
        throw escape(entry, `path component ${JSON.stringify(parts.slice(0, i).join('/'))} is no longer a directory`);
    }
  }
}
