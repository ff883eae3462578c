// `docker cp` (HEAD/GET/PUT /containers/{id}/archive) and `docker export`. The container's rootfs
// is read and written on the host through its snapshot mount, so it works for stopped containers
// and images without tar. Paths are resolved inside the rootfs (symlinks cannot escape it).
import { lstatSync, readlinkSync, readdirSync, createReadStream, statSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { invalidArgument, notFound } from '../../../common/index.js';
import { applyTar } from '../../../image/index.js';
import type { Containers } from './service.js';

/** Resolves `p` inside `root` component by component, following symlinks relative to root.
 *  With `followLast` false the final component is not followed (cp of a symlink itself). */
export function resolveIn(root: string, p: string, followLast = true): string {
  const parts = posix.normalize('/' + p).split('/').filter(Boolean);
  let cur: string[] = [];
  let hops = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === '..') { cur.pop(); continue; }
    const next = [...cur, part];
    const host = join(root, ...next);
    let st: Stats | undefined;
    try { st = lstatSync(host); } catch { st = undefined; }
    if (st?.isSymbolicLink() && (followLast || i < parts.length - 1)) {
      if (++hops > 40) throw invalidArgument(`too many levels of symbolic links: ${p}`, { field: 'path' });
      const target = readlinkSync(host);
      const rest = parts.slice(i + 1);
      const base = target.startsWith('/') ? [] : cur;
      const np = posix.normalize('/' + [...base, target, ...rest].join('/')).split('/').filter(Boolean);
      parts.splice(0, parts.length, ...np);
      cur = []; i = -1;
      continue;
    }
    cur = next;
  }
  return join(root, ...cur);
}

/** Go's os.FileMode bits for a stat. */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m |= 2 ** 31;
  if (st.isSymbolicLink()) m |= 2 ** 27;
  if (st.isFIFO()) m |= 2 ** 25;
  if (st.isSocket()) m |= 2 ** 24;
  if (st.isBlockDevice()) m |= 2 ** 26;
  if (st.isCharacterDevice()) m |= 2 ** 26 + 2 ** 21;
  if (st.mode & 0o4000) m |= 2 ** 23;
  if (st.mode & 0o2000) m |= 2 ** 22;
  if (st.mode & 0o1000) m |= 2 ** 20;
  return m >>> 0;
}

export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

async function withRootfs<T>(s: Containers, ref: string, fn: (root: string) => Promise<T>): Promise<T> {
  const c = s.live(ref);
  const wasMounted = c.rec.State.Running;
  const root = await s.ensureMounted(c);
  try { return await fn(root); } finally {
    if (!wasMounted && !s.get(ref).State.Running) await s.unmountRootfs(c).catch(() => undefined);
  }
}

/** The engine's own files bind-mounted over these paths (the snapshot has the image's). */
const ETC_FILES: Record<string, string> = { '/etc/hostname': 'hostname', '/etc/hosts': 'hosts', '/etc/resolv.conf': 'resolv.conf' };
function etcOverride(dir: string | undefined, p: string): string | undefined {
  const f = dir ? ETC_FILES[posix.normalize('/' + p)] : undefined;
  if (!f) return undefined;
  try { statSync(join(dir!, f)); return join(dir!, f); } catch { return undefined; }
}

export function statPath(root: string, p: string, dir?: string): PathStat {
  const host = etcOverride(dir, p) ?? resolveIn(root, p, false);
  let st: Stats;
  try { st = lstatSync(host); } catch { throw notFound(`Could not find the file ${p} in container`, { field: 'path' }); }
  const linkTarget = st.isSymbolicLink() ? '/' + posix.relative('/', resolveIn(root, p, true).slice(root.length) || '/') : '';
  return { name: posix.basename(p) || '/', size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget };
}

export async function archiveStat(s: Containers, ref: string, p: string): Promise<PathStat> {
  if (!p) throw invalidArgument('path: the path is required', { field: 'path' });
  return withRootfs(s, ref, async (root) => statPath(root, p, s.dirOf(s.get(ref).Id)));
}

/** GET archive: a tar of `p` (named by its base name) and its stat. */
export async function archiveGet(s: Containers, ref: string, p: string): Promise<{ stat: PathStat; tar: Readable; done: Promise<void> }> {
  if (!p) throw invalidArgument('path: the path is required', { field: 'path' });
  const c = s.live(ref);
  const wasRunning = c.rec.State.Running;
  const root = await s.ensureMounted(c);
  let stat: PathStat;
  try { stat = statPath(root, p, c.dir); } catch (e) { if (!wasRunning) await s.unmountRootfs(c).catch(() => undefined); throw e; }
  const host = etcOverride(c.dir, p) ?? resolveIn(root, p, !p.endsWith('/') ? false : true);
  const name = posix.basename(posix.normalize(p)) || '.';
  const out = new PassThrough();
  const done = packTree(host, name, out).finally(async () => { if (!wasRunning && !s.get(ref).State.Running) await s.unmountRootfs(c).catch(() => undefined); });
  return { stat, tar: out, done };
}

async function packTree(host: string, name: string, out: PassThrough): Promise<void> {
  const p = pack();
  p.pipe(out);
  const add = async (h: string, n: string): Promise<void> => {
    const st = lstatSync(h);
    const base = { name: n, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isSymbolicLink()) { p.entry({ ...base, type: 'symlink', linkname: readlinkSync(h) }); return; }
    if (st.isDirectory()) {
      p.entry({ ...base, type: 'directory' });
      for (const e of readdirSync(h).sort()) await add(join(h, e), `${n}/${e}`);
      return;
    }
    if (st.isFile()) {
      await new Promise<void>((res, rej) => {
        const e = p.entry({ ...base, type: 'file', size: st.size }, (err) => (err ? rej(err) : res()));
        createReadStream(h).on('error', rej).pipe(e);
      });
    }
  };
  try { await add(host, name); p.finalize(); } catch (e) { p.destroy(e as Error); }
}

/** PUT archive: extracts a tar into directory `p` of the container. */
export async function archivePut(s: Containers, ref: string, p: string, body: AsyncIterable<Buffer | Uint8Array>, o: { noOverwriteDirNonDir: boolean }): Promise<void> {
  if (!p) throw invalidArgument('path: the path is required', { field: 'path' });
  const c = s.get(ref);
  if (c.HostConfig.ReadonlyRootfs) throw invalidArgument('container rootfs is marked read-only', { field: 'path' });
  void o;
  await withRootfs(s, ref, async (root) => {
    const host = resolveIn(root, p, true);
    let st: Stats;
    try { st = statSync(host); } catch { throw notFound(`Could not find the file ${p} in container ${c.Name.slice(1)}`, { field: 'path' }); }
    if (!st.isDirectory()) throw invalidArgument(`extraction point is not a directory: ${p}`, { field: 'path' });
    await applyTar(body, host, { whiteouts: 'plain', chown: true });
  });
}

/** `docker export`: the container's whole file system as a tar. */
export async function exportRootfs(s: Containers, ref: string): Promise<Readable> {
  const c = s.live(ref);
  const wasRunning = c.rec.State.Running;
  const root = await s.ensureMounted(c);
  const out = new PassThrough();
  const p = pack();
  p.pipe(out);
  const add = async (h: string, n: string): Promise<void> => {
    const st = lstatSync(h);
    const base = { name: n, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isSymbolicLink()) { p.entry({ ...base, type: 'symlink', linkname: readlinkSync(h) }); return; }
    if (st.isDirectory()) {
      if (n) p.entry({ ...base, type: 'directory' });
      if (n === 'proc' || n === 'sys') return;
      for (const e of readdirSync(h).sort()) await add(join(h, e), n ? `${n}/${e}` : e);
      return;
    }
    if (st.isFile()) {
      await new Promise<void>((res, rej) => {
        const e = p.entry({ ...base, type: 'file', size: st.size }, (err) => (err ? rej(err) : res()));
        createReadStream(h).on('error', rej).pipe(e);
      });
    }
  };
  void add(root, '').then(() => p.finalize(), (e) => p.destroy(e as Error)).finally(async () => {
    if (!wasRunning && !s.get(ref).State.Running) await s.unmountRootfs(c).catch(() => undefined);
  });
  return out;
}
