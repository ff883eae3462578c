// Diffs of an active snapshot against its parent, as change lists (`docker diff`) and as layer
// tars with whiteouts (`docker commit`, builds). Two ways to find changes:
//  - overlay: the upper directory IS the change set; 0/0 char devices are whiteouts and
//    `trusted.overlay.opaque=y` marks opaque directories;
//  - directories (copy snapshotter): a double walk comparing type, mode, owner, size, mtime, link
//    target, device number and xattrs with the parent tree (copies keep mtimes, so an unchanged
//    file compares equal without reading its content).
import { lstatSync, readdirSync, readlinkSync, createReadStream, type Stats } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Header } from 'tar-stream';
type Headers = Partial<Header> & { name: string };
import { dumpXattrs } from '../unpack/special.js';
import type { Change } from './types.js';

type Xattrs = Map<string, Map<string, Buffer>>;

/** One tar entry of a diff: a whole entry, a whiteout, or an opaque marker. */
export interface DiffEntry {
  rel: string;
  op: 'entry' | 'whiteout' | 'opaque';
  abs?: string;
  st?: Stats;
  change?: Change['kind'];
}

const isOverlayWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;
const sorted = (dir: string) => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};
const lst = (p: string) => {
  try {
    return lstatSync(p, { bigint: false });
  } catch {
    return undefined;
  }
};
const ownXattrs = (x: Xattrs, abs: string) => {
  const m = x.get(abs);
  if (!m) return undefined;
  const out = new Map([...m].filter(([k]) => !k.startsWith('trusted.overlay.')));
  return out.size ? out : undefined;
};

/** Changes recorded in an overlay upper dir; `lowers` (nearest first) tell added from changed. */
export async function overlayChanges(
  upper: string,
  lowers: string[],
): Promise<{ entries: DiffEntry[]; xattrs: Xattrs }> {
  const xattrs = await dumpXattrs(upper);
  const entries: DiffEntry[] = [];
  const inLower = (rel: string) => lowers.some((l) => lst(join(l, rel)) !== undefined);
  const walk = (dir: string, rel: string) => {
    for (const name of sorted(dir)) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lst(abs);
      if (!st) continue;
      if (isOverlayWhiteout(st)) {
        entries.push({ rel: r, op: 'whiteout', change: 'D' });
        continue;
      }
      entries.push({ rel: r, op: 'entry', abs, st, change: inLower(r) ? 'C' : 'A' });
      if (st.isDirectory()) {
        if (xattrs.get(abs)?.get('trusted.overlay.opaque')?.toString() === 'y') entries.push({ rel: r, op: 'opaque' });
        walk(abs, r);
      }
    }
  };
  walk(upper, '');
  return { entries, xattrs };
}

function same(a: Stats, b: Stats, xa: Map<string, Buffer> | undefined, xb: Map<string, Buffer> | undefined): boolean {
  if ((a.mode & 0o170000) !== (b.mode & 0o170000) || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid)
    return false;
  if (!a.isDirectory() && (a.size !== b.size || a.mtimeMs !== b.mtimeMs)) return false;
  if ((a.isCharacterDevice() || a.isBlockDevice()) && a.rdev !== b.rdev) return false;
  if ((xa?.size ?? 0) !== (xb?.size ?? 0)) return false;
  for (const [k, v] of xa ?? []) if (!xb?.get(k)?.equals(v)) return false;
  return true;
}

/** Changes of `dir` against `parent` (undefined: everything is added), by a double walk. */
export async function dirChanges(
  dir: string,
  parent: string | undefined,
): Promise<{ entries: DiffEntry[]; xattrs: Xattrs }> {
  const xattrs = await dumpXattrs(dir);
  const pxattrs = parent ? await dumpXattrs(parent) : new Map();
  const entries: DiffEntry[] = [];
  const addAll = (abs: string, rel: string, st: Stats) => {
    entries.push({ rel, op: 'entry', abs, st, change: 'A' });
    if (st.isDirectory())
      for (const n of sorted(abs)) {
        const s = lst(join(abs, n));
        if (s) addAll(join(abs, n), `${rel}/${n}`, s);
      }
  };
  const walk = (a: string, b: string | undefined, rel: string) => {
    const names = sorted(a);
    const have = new Set(names);
    const deleted = b ? sorted(b).filter((n) => !have.has(n)) : [];
    const all = [...names.map((n) => ({ n, del: false })), ...deleted.map((n) => ({ n, del: true }))].sort((x, y) =>
      x.n < y.n ? -1 : x.n > y.n ? 1 : 0,
    );
    for (const { n, del } of all) {
      const r = rel ? `${rel}/${n}` : n;
      if (del) {
        entries.push({ rel: r, op: 'whiteout', change: 'D' });
        continue;
      }
      const abs = join(a, n);
      const st = lst(abs);
      if (!st) continue;
      const pabs = b ? join(b, n) : undefined;
      const pst = pabs ? lst(pabs) : undefined;
      if (!pst) {
        addAll(abs, r, st);
        continue;
      }
      const typeChanged = (st.mode & 0o170000) !== (pst.mode & 0o170000);
      if (typeChanged) {
        if (pst.isDirectory()) entries.push({ rel: r, op: 'whiteout' });
        addAll(abs, r, st);
        continue;
      }
      let changed = !same(st, pst, ownXattrs(xattrs, abs), ownXattrs(pxattrs, pabs!));
      if (!changed && st.isSymbolicLink()) changed = readlinkSync(abs) !== readlinkSync(pabs!);
      if (st.isDirectory()) {
        const before = entries.length;
        entries.push({ rel: r, op: 'entry', abs, st, change: 'C' });
        walk(abs, pabs, r);
        // A directory whose own metadata and contents are unchanged is not a change.
        if (!changed && entries.length === before + 1) entries.pop();
      } else if (changed) {
        entries.push({ rel: r, op: 'entry', abs, st, change: 'C' });
      }
    }
  };
  walk(dir, parent, '');
  return { entries, xattrs };
}

/** `docker diff` output: A/C/D with absolute container paths. */
export function toChanges(entries: DiffEntry[]): Change[] {
  return entries.filter((e) => e.change).map((e) => ({ kind: e.change!, path: `/${e.rel}` }));
}

function xattrPax(x: Map<string, Buffer> | undefined): Record<string, string> | undefined {
  if (!x?.size) return undefined;
  const pax: Record<string, string> = {};
  for (const [k, v] of x) {
    const s = v.toString('utf8');
    // tar-stream writes PAX values as UTF-8 text: binary values go as libarchive's base64 form.
    if (Buffer.from(s, 'utf8').equals(v) && !s.includes('\n')) pax[`SCHILY.xattr.${k}`] = s;
    else pax[`LIBARCHIVE.xattr.${encodeURIComponent(k)}`] = v.toString('base64');
  }
  return pax;
}

/** Streams the entries as a layer tar. Hard links within the diff become link entries. */
export function diffTar(entries: DiffEntry[], xattrs: Xattrs, signal?: AbortSignal): Readable {
  const p = pack();
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const seen = new Map<string, string>();
  const add = (h: Headers, body?: string) =>
    new Promise<void>((res, rej) => {
      p.entry(h as Header, body as string, (e) => (e ? rej(e) : res()));
    });
  (async () => {
    for (const e of entries) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const slash = e.rel.lastIndexOf('/');
      const dir = slash < 0 ? '' : e.rel.slice(0, slash + 1);
      const base = e.rel.slice(slash + 1);
      if (e.op === 'whiteout') {
        await add({ name: `${dir}.wh.${base}`, type: 'file', size: 0, mode: 0o644, mtime: new Date(0) }, '');
        continue;
      }
      if (e.op === 'opaque') {
        await add({ name: `${e.rel}/.wh..wh..opq`, type: 'file', size: 0, mode: 0o644, mtime: new Date(0) }, '');
        continue;
      }
      const st = e.st!;
      const h: Headers = {
        name: e.rel,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: st.mtime,
        pax: xattrPax(ownXattrs(xattrs, e.abs!)),
      };
      if (st.isDirectory()) {
        await add({ ...h, name: `${e.rel}/`, type: 'directory' });
        continue;
      }
      if (st.isSymbolicLink()) {
        await add({ ...h, type: 'symlink', linkname: readlinkSync(e.abs!) });
        continue;
      }
      if (st.isCharacterDevice() || st.isBlockDevice()) {
        await add({
          ...h,
          type: st.isCharacterDevice() ? 'character-device' : 'block-device',
          devmajor: Math.floor(st.rdev / 256) & 0xfff,
          devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00),
        });
        continue;
      }
      if (st.isFIFO()) {
        await add({ ...h, type: 'fifo' });
        continue;
      }
      if (!st.isFile()) continue; // sockets are not archived
      const id = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && seen.has(id)) {
        await add({ ...h, type: 'link', linkname: seen.get(id)! });
        continue;
      }
      if (st.nlink > 1) seen.set(id, e.rel);
      await new Promise<void>((res, rej) => {
        const w = p.entry({ ...h, type: 'file', size: st.size } as Header, (err) => (err ? rej(err) : res()));
        pipeline(createReadStream(e.abs!, { highWaterMark: 1 << 20 }), w).catch(rej);
      });
    }
    p.finalize();
  })().catch((e) => {
    out.destroy(e as Error);
    p.destroy(e as Error);
  });
  p.pipe(out);
  return out;
}
