// `docker cp` (HEAD/GET/PUT /containers/{id}/archive) and `docker export`. The container's rootfs
// is read and written on the host through its snapshot mount, so it works for stopped containers
// and images without tar; volumes, bind mounts, the engine's /etc files and (running) tmpfs mounts
// are reached through their host paths (paths.ts). Paths resolve inside that view.
import { lstatSync, readlinkSync, readdirSync, readFileSync, createReadStream, statSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { createLogger, invalidArgument, logFailure, notFound } from '../../../common/index.js';
import { applyTar } from '../../../image/index.js';
import type { Containers } from './service.js';
import { containerView, resolveView, hostOf, mountOf, writable, type View } from './paths.js';
import { resolveUser } from './user.js';

const log = createLogger({ component: 'engine.archive' });
const unmountFailed = (id: string) => logFailure(log, 'could not unmount a rootfs', { id });

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

/** User and group names for tar headers (Go's archive/tar fills Uname/Gname), from the container's
 *  own /etc/passwd and /etc/group as dockerd's (its tar runs chrooted in the container): a uid the
 *  container does not name has none, whatever the host calls it. */
interface Names {
  users: Map<number, string>;
  groups: Map<number, string>;
}
function nameTable(file: string): Map<number, string> {
  const m = new Map<number, string>();
  try {
    for (const l of readFileSync(file, 'utf8').split('\n')) {
      const f = l.split(':');
      if (f.length > 2 && /^\d+$/.test(f[2]) && !m.has(Number(f[2]))) m.set(Number(f[2]), f[0]);
    }
  } catch {
    /* no such file (or not readable): no names */
  }
  return m;
}
/** The names of the container whose view is `v` (files resolved inside it, symlinks included). */
function viewNames(v: View): Names {
  const at = (p: string) => {
    try {
      return resolveView(v, p, true).host;
    } catch {
      return ''; // a path that cannot be resolved names nobody
    }
  };
  return { users: nameTable(at('/etc/passwd')), groups: nameTable(at('/etc/group')) };
}
function headerBase(n: string, st: Stats, names: Names) {
  return {
    name: n,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    uname: names.users.get(st.uid) ?? '',
    gname: names.groups.get(st.gid) ?? '',
    mtime: st.mtime,
  };
}

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

async function withView<T>(s: Containers, ref: string, fn: (v: View) => Promise<T>): Promise<T> {
  const c = s.live(ref);
  const wasMounted = c.rec.State.Running;
  const root = await s.ensureMounted(c);
  try {
    return await fn(containerView(c.rec, root, c.dir));
  } finally {
    if (!wasMounted && !s.get(ref).State.Running) await s.unmountRootfs(c).catch(unmountFailed(c.rec.Id));
  }
}

/** `ref`: the container as the client named it (dockerd's "Could not find the file … in container REF"). */
export function statPath(v: View, p: string, ref = ''): PathStat {
  const { host } = resolveView(v, p, false);
  let st: Stats;
  try {
    st = lstatSync(host);
  } catch {
    throw notFound(`Could not find the file ${p} in container ${ref}`, { field: 'path' });
  }
  const linkTarget = st.isSymbolicLink() ? resolveView(v, p, true).path : '';
  return {
    name: posix.basename(p) || '/',
    size: st.size,
    mode: goFileMode(st),
    mtime: st.mtime.toISOString(),
    linkTarget,
  };
}

export async function archiveStat(s: Containers, ref: string, p: string): Promise<PathStat> {
  if (!p) throw invalidArgument('path: the path is required', { field: 'path' });
  return withView(s, ref, async (v) => statPath(v, p, ref));
}

/** GET archive: a tar of `p` (named by its base name) and its stat. */
export async function archiveGet(
  s: Containers,
  ref: string,
  p: string,
): Promise<{ stat: PathStat; tar: Readable; done: Promise<void> }> {
  if (!p) throw invalidArgument('path: the path is required', { field: 'path' });
  const c = s.live(ref);
  const wasRunning = c.rec.State.Running;
  const root = await s.ensureMounted(c);
  const v = containerView(c.rec, root, c.dir);
  let stat: PathStat;
  try {
    stat = statPath(v, p, ref);
  } catch (e) {
    if (!wasRunning) await s.unmountRootfs(c).catch(unmountFailed(c.rec.Id));
    throw e;
  }
  const { path } = resolveView(v, p, p.endsWith('/'));
  const name = posix.basename(posix.normalize(p)) || '.';
  const out = new PassThrough();
  const done = packTree(v, path, name, out).finally(async () => {
    if (!wasRunning && !s.get(ref).State.Running) await s.unmountRootfs(c).catch(unmountFailed(c.rec.Id));
  });
  return { stat, tar: out, done };
}

/** Packs container path `cpath` as `name`, descending into mounts below it (a volume under a copied
 *  directory is copied with its content, as dockerd does). */
async function packTree(v: View, cpath: string, name: string, out: PassThrough): Promise<void> {
  const p = pack();
  p.pipe(out);
  const names = viewNames(v);
  const add = async (cp: string, n: string): Promise<void> => {
    const h = hostOf(v, cp);
    const st = lstatSync(h);
    const base = headerBase(n, st, names);
    if (st.isSymbolicLink()) {
      p.entry({ ...base, type: 'symlink', linkname: readlinkSync(h) });
      return;
    }
    if (st.isDirectory()) {
      p.entry({ ...base, name: `${n}/`, type: 'directory' });
      for (const e of readdirSync(h).sort()) await add(posix.join(cp, e), `${n}/${e}`);
      return;
    }
    if (st.isFile()) {
      await new Promise<void>((res, rej) => {
        const e = p.entry({ ...base, type: 'file', size: st.size }, (err) => (err ? rej(err) : res()));
        createReadStream(h).on('error', rej).pipe(e);
      });
    }
  };
  try {
    await add(cpath, name);
    p.finalize();
  } catch (e) {
    p.destroy(e as Error);
  }
}

/** PUT archive: extracts a tar into directory `p` of the container. */
export async function archivePut(
  s: Containers,
  ref: string,
  p: string,
  body: AsyncIterable<Buffer | Uint8Array>,
  o: { noOverwriteDirNonDir: boolean; copyUIDGID?: boolean },
): Promise<void> {
  if (!p) throw invalidArgument('path: the path is required', { field: 'path' });
  const c = s.get(ref);
  await withView(s, ref, async (v) => {
    const { path, host } = resolveView(v, p, true);
    let st: Stats;
    try {
      st = statSync(host);
    } catch {
      throw notFound(`Could not find the file ${p} in container ${ref}`, { field: 'path' });
    }
    if (!st.isDirectory()) throw invalidArgument(`extraction point is not a directory: ${p}`, { field: 'path' });
    // As dockerd: a read-only rootfs (or a read-only mount) refuses, a read-write volume on it does not.
    if (!writable(v, path))
      throw invalidArgument(
        mountOf(v, path) ? `mounted volume is marked read-only: ${p}` : 'container rootfs is marked read-only',
        { field: 'path' },
      );
    // `docker cp -a` (copyUIDGID): everything owned by the container's user, as dockerd does.
    const owner = o.copyUIDGID ? resolveUser(v.root, c.Config.User) : undefined;
    await applyTar(body, host, {
      whiteouts: 'plain',
      chown: true,
      noOverwriteDirNonDir: o.noOverwriteDirNonDir,
      ...(owner ? { owner: { uid: owner.uid, gid: owner.gid } } : {}),
    });
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
  const names = viewNames(containerView(c.rec, root, c.dir));
  const add = async (h: string, n: string): Promise<void> => {
    const st = lstatSync(h);
    const base = headerBase(n, st, names);
    if (st.isSymbolicLink()) {
      p.entry({ ...base, type: 'symlink', linkname: readlinkSync(h) });
      return;
    }
    if (st.isDirectory()) {
      if (n) p.entry({ ...base, name: `${n}/`, type: 'directory' });
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
  void add(root, '')
    .then(
      () => p.finalize(),
      (e) => p.destroy(e as Error),
    )
    .finally(async () => {
      if (!wasRunning && !s.get(ref).State.Running) await s.unmountRootfs(c).catch(unmountFailed(c.rec.Id));
    });
  return out;
}
