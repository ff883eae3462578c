// The container's file system as `docker cp` sees it, reached from the host: the rootfs snapshot
// with the container's mounts laid over it — volumes and bind mounts (their host sources), the
// engine's /etc/{hostname,hosts,resolv.conf}, and, while the container runs, its tmpfs mounts
// (through /proc/PID/root). Paths are resolved component by component in container terms, so a
// symlink is followed inside the container's view and never out of it.
import { lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { invalidArgument } from '../../../common/index.js';
import type { ContainerRecord } from './record.js';

export interface ViewMount {
  dest: string;
  source: string;
  rw: boolean;
}
export interface View {
  /** Host path of the rootfs snapshot. */
  root: string;
  /** Longest destination first. */
  mounts: ViewMount[];
  readonlyRootfs: boolean;
}

const ETC_FILES: [string, string][] = [
  ['/etc/hostname', 'hostname'],
  ['/etc/hosts', 'hosts'],
  ['/etc/resolv.conf', 'resolv.conf'],
];

export function containerView(rec: ContainerRecord, root: string, dir: string | undefined): View {
  const mounts: ViewMount[] = [];
  for (const m of rec.Mounts ?? []) {
    const dest = posix.normalize(m.Destination);
    if (m.Type === 'tmpfs') {
      // Only the running container's mount namespace holds it; stopped, the snapshot's directory shows.
      if (rec.State.Running && rec.State.Pid > 0)
        mounts.push({ dest, source: `/proc/${rec.State.Pid}/root${dest}`, rw: m.RW });
      continue;
    }
    if (m.Source) mounts.push({ dest, source: m.Source, rw: m.RW });
  }
  if (dir) {
    for (const [dest, f] of ETC_FILES) {
      if (mounts.some((m) => m.dest === dest)) continue;
      try {
        statSync(join(dir, f));
        mounts.push({ dest, source: join(dir, f), rw: true });
      } catch {
        /* not written (yet) */
      }
    }
  }
  mounts.sort((a, b) => b.dest.length - a.dest.length);
  return { root, mounts, readonlyRootfs: !!rec.HostConfig.ReadonlyRootfs };
}

/** The mount holding container path `p` (normalized, absolute), if any. */
export function mountOf(v: View, p: string): ViewMount | undefined {
  return v.mounts.find((m) => p === m.dest || p.startsWith(m.dest === '/' ? '/' : `${m.dest}/`));
}

/** Host path of a normalized container path (no symlinks followed). */
export function hostOf(v: View, p: string): string {
  const m = mountOf(v, p);
  if (!m) return join(v.root, p);
  return p === m.dest ? m.source : join(m.source, p.slice(m.dest.length));
}

/** Resolves container path `p`, following symlinks inside the view (the last component only when
 *  `followLast`). Returns the container path reached and its host path. */
export function resolveView(v: View, p: string, followLast = true): { path: string; host: string } {
  const parts = posix
    .normalize('/' + p)
    .split('/')
    .filter(Boolean);
  let cur: string[] = [];
  let hops = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === '..') {
      cur.pop();
      continue;
    }
    if (part === '.') continue;
    const next = [...cur, part];
    const host = hostOf(v, '/' + next.join('/'));
    let st: Stats | undefined;
    try {
      st = lstatSync(host);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink() && (followLast || i < parts.length - 1)) {
      if (++hops > 40) throw invalidArgument(`too many levels of symbolic links: ${p}`, { field: 'path' });
      const target = readlinkSync(host);
      const rest = parts.slice(i + 1);
      const base = target.startsWith('/') ? [] : cur;
      const np = posix
        .normalize('/' + [...base, target, ...rest].join('/'))
        .split('/')
        .filter(Boolean);
      parts.splice(0, parts.length, ...np);
      cur = [];
      i = -1;
      continue;
    }
    cur = next;
  }
  const path = '/' + cur.join('/');
  return { path, host: hostOf(v, path) };
}

/** Whether container path `p` (resolved) may be written: on a read-write mount, or on the rootfs
 *  when that is not read-only. */
export function writable(v: View, p: string): boolean {
  const m = mountOf(v, p);
  return m ? m.rw : !v.readonlyRootfs;
}
