// Upstream's atomic writer for configMap, secret, downwardAPI and projected volumes: the files
// live in a timestamped directory `..2006_01_02_15_04_05.<n>`, `..data` is a symlink to it, and
// every user-visible top-level name is a symlink into `..data`. An update writes a new timestamped
// directory and swaps `..data` with one rename, so a reader sees either the old or the new set,
// never a mix; unchanged payloads write nothing.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { invalidArgument } from '../../../common/index.js';

export interface FileProjection {
  data: Buffer;
  mode: number;
}

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/** A payload path must be relative, without `..` components, and not start with `..`. */
export function validPayloadPath(p: string): boolean {
  if (!p || p.startsWith('/') || p.startsWith('..')) return false;
  const n = normalize(p);
  return n === p.replace(/\/+$/, '') && !n.split(sep).includes('..') && n !== '.';
}

function tsDirName(): string {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `..${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}.${randomBytes(5).readUInt32BE()}`;
}

function currentDir(target: string): string | undefined {
  try {
    return readlinkSync(join(target, DATA));
  } catch {
    return undefined;
  }
}

function same(target: string, cur: string, payload: Map<string, FileProjection>, gid?: number): boolean {
  const dir = join(target, cur);
  const seen = new Set<string>();
  const walk = (rel: string): boolean => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!walk(r)) return false;
        continue;
      }
      const want = payload.get(r);
      if (!want) return false;
      const st = lstatSync(join(dir, r));
      if ((st.mode & 0o7777) !== want.mode || (gid !== undefined && st.gid !== gid)) return false;
      if (!readFileSync(join(dir, r)).equals(want.data)) return false;
      seen.add(r);
    }
    return true;
  };
  try {
    return walk('') && seen.size === payload.size;
  } catch {
    return false;
  }
}

/** Writes `payload` (relative path → content and mode) into `target` atomically; returns whether
 *  anything changed. `gid` (the pod's fsGroup) owns the files when given. */
export function writeAtomic(target: string, payload: Map<string, FileProjection>, gid?: number): boolean {
  for (const p of payload.keys()) if (!validPayloadPath(p)) throw invalidArgument(`invalid path ${JSON.stringify(p)}`);
  mkdirSync(target, { recursive: true, mode: 0o755 });
  const cur = currentDir(target);
  if (cur && same(target, cur, payload, gid)) return false;
  const ts = tsDirName();
  const tsPath = join(target, ts);
  mkdirSync(tsPath, { mode: 0o755 });
  if (gid !== undefined) chownSync(tsPath, -1, gid);
  for (const [p, f] of payload) {
    const file = join(tsPath, p);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, f.data);
    chmodSync(file, f.mode);
    if (gid !== undefined) chownSync(file, -1, gid);
  }
  rmSync(join(target, DATA_TMP), { force: true });
  symlinkSync(ts, join(target, DATA_TMP));
  renameSync(join(target, DATA_TMP), join(target, DATA));
  // User-visible names: one symlink per top-level component.
  const top = new Set([...payload.keys()].map((p) => p.split('/')[0]));
  for (const name of top) {
    const link = join(target, name);
    try {
      if (lstatSync(link).isSymbolicLink() && readlinkSync(link) === join(DATA, name)) continue;
      rmSync(link, { recursive: true, force: true });
    } catch {
      /* absent */
    }
    symlinkSync(join(DATA, name), link);
  }
  for (const e of readdirSync(target)) {
    if (e === DATA || e === ts) continue;
    if (e.startsWith('..')) {
      rmSync(join(target, e), { recursive: true, force: true });
      continue;
    }
    if (!top.has(e)) rmSync(join(target, e), { recursive: true, force: true });
  }
  return true;
}
