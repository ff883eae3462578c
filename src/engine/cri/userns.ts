// Pod user namespaces (NamespaceOption.userns_options): the checks containerd makes on the
// requested mode and id mappings, the OCI spec's part (the pause's user namespace joined, its
// mappings named), and the container's rootfs seen through the mappings: the image's layers are
// id-mapped mounts (native/skiff-idmap) under the overlay, so a file of host uid 0 is root's in
// the pod, and the writable layer belongs to the pod's root (host uid = the mapping's host id).
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { createLogger, internal, invalidArgument, runCommand } from '../../common/index.js';
import { type Mount, mountAll } from '../../image/index.js';
import type { Spec } from '../../oci/index.js';
import { nativeDir } from '../../runtime/index.js';
import { int64, nsMode, type ContainerConfigInput, type PodSandboxConfigInput } from './types.js';

/** One line of a uid_map/gid_map (OCI's LinuxIDMapping). */
export interface IdMap {
  containerID: number;
  hostID: number;
  size: number;
}
export interface PodUserns {
  uids: IdMap[];
  gids: IdMap[];
}

type UsernsInput = NonNullable<
  NonNullable<NonNullable<PodSandboxConfigInput['linux']>['securityContext']>['namespaceOptions']
>['usernsOptions'];

/** Id-mapped mounts (5.12) and overlayfs over id-mapped layers (5.19), and user namespaces on. */
export const USERNS_SUPPORTED = (() => {
  const [major, minor] = release().split('.').map(Number);
  return (major > 5 || (major === 5 && minor >= 19)) && existsSync('/proc/self/ns/user');
})();

const log = createLogger({ component: 'engine.cri.userns' });

const FIELD = 'linux.security_context.namespace_options.userns_options';
const MAX_ID = 2 ** 32 - 1;

function mapping(kind: 'uid' | 'gid', list: NonNullable<UsernsInput>['uids']): IdMap[] {
  const ms = (list ?? []).filter((m) => m);
  if (ms.length > 1)
    throw invalidArgument(`user namespace: only one ${kind} mapping is supported, got ${ms.length}`, { field: FIELD });
  return ms.map((m) => {
    const x = { containerID: int64(m.containerId), hostID: int64(m.hostId), size: int64(m.length) };
    if (!(x.size >= 1) || x.hostID + x.size - 1 > MAX_ID || x.containerID + x.size - 1 > MAX_ID)
      throw invalidArgument(`user namespace: invalid ${kind} mapping ${x.containerID} ${x.hostID} ${x.size}`, {
        field: FIELD,
      });
    if (x.containerID !== 0)
      throw invalidArgument(`user namespace: the ${kind} mapping must map container ${kind} 0, got ${x.containerID}`, {
        field: FIELD,
      });
    return x;
  });
}

/** The pod's user namespace, or undefined for the host's (no options, or mode NODE). Mode POD needs
 *  exactly one uid and one gid mapping starting at container id 0; CONTAINER and TARGET are refused
 *  (as containerd: kubelet sends POD or NODE). */
export function podUserns(o: UsernsInput | undefined): PodUserns | undefined {
  if (!o) return undefined;
  const mode = nsMode(o.mode);
  const uids = mapping('uid', o.uids);
  const gids = mapping('gid', o.gids);
  if (mode === 'NODE') {
    if (uids.length || gids.length)
      throw invalidArgument('user namespace: mode NODE takes no id mappings', { field: FIELD });
    return undefined;
  }
  if (mode !== 'POD') throw invalidArgument(`user namespace: unsupported mode ${mode}`, { field: FIELD });
  if (!uids.length || !gids.length)
    throw invalidArgument('user namespace: mode POD needs one uid and one gid mapping', { field: FIELD });
  return { uids, gids };
}

/** The container's own userns_options (kubelet repeats the pod's) must name the pod's namespace. */
export function checkContainerUserns(c: ContainerConfigInput, pod: PodUserns | undefined): void {
  const o = c.linux?.securityContext?.namespaceOptions?.usernsOptions;
  if (!o) return;
  const mine = podUserns(o);
  if (JSON.stringify(mine) !== JSON.stringify(pod))
    throw invalidArgument("user namespace: the container's options differ from its pod sandbox's", { field: FIELD });
}

/** Joins the pause's user namespace (and unshares a cgroup namespace: cgroup2 can be mounted only
 *  from one owned by the container's user namespace). */
export function applyUserns(spec: Spec, pausePid: number, u: PodUserns): void {
  const linux = spec.linux!;
  const ns = (linux.namespaces ?? []).filter((n) => n.type !== 'user' && n.type !== 'cgroup');
  linux.namespaces = [{ type: 'user', path: `/proc/${pausePid}/ns/user` }, ...ns, { type: 'cgroup' }];
  linux.uidMappings = u.uids.map((m) => ({ ...m }));
  linux.gidMappings = u.gids.map((m) => ({ ...m }));
}

/** The container's set-up runs as the pod's root, a host id that owns nothing on the host: every
 *  directory on the way to what it mounts (the rootfs, the sandbox's /etc files) gets the others'
 *  search bit, as containerd keeps its roots 0711 (no listing, no reading is opened). */
export function makeTraversable(...paths: string[]): void {
  const seen = new Set<string>();
  for (let p of paths) {
    for (; p !== '/' && !seen.has(p); p = dirname(p)) {
      seen.add(p);
      const st = statSync(p);
      if (st.isDirectory() && !(st.mode & 0o001)) chmodSync(p, (st.mode & 0o7777) | 0o001);
    }
  }
}

function idmapBinary(): string {
  const p = join(nativeDir(), 'skiff-idmap');
  if (!existsSync(p)) throw internal(`skiff-idmap not found at ${p}: run \`npm run build\``);
  return p;
}

async function idmap(userns: string, src: string, dst: string, recursive: boolean): Promise<void> {
  const r = await runCommand(idmapBinary(), [...(recursive ? ['--recursive'] : []), userns, src, dst]);
  if (r.code !== 0) throw internal(`id-mapped mount of ${src} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
}

/** Mounts a container snapshot at `target` as seen from the pod's user namespace. An overlay's
 *  lower layers become id-mapped mounts under `scratch` (overlayfs keeps its own private copies
 *  of its layers, so these are detached once it is mounted); its upper layer stays as it is, its
 *  root owned by the pod's root, so what the container writes lands as its host ids (an id-mapped
 *  upper layer cannot be used: overlayfs makes its work directory as the mounter, host root,
 *  whom the mapping does not hold). A bind (a snapshot without parents, or the native
 *  snapshotter's copy) is itself id-mapped. */
export async function mountSnapshotIdmapped(
  mounts: Mount[],
  target: string,
  pausePid: number,
  u: PodUserns,
  scratch: string,
): Promise<void> {
  const userns = `/proc/${pausePid}/ns/user`;
  const made: string[] = [];
  try {
    for (const m of mounts) {
      if (m.type === 'bind') {
        await idmap(userns, m.source, target, true);
        continue;
      }
      if (m.type !== 'overlay') throw internal(`user namespace: cannot id-map a ${m.type} rootfs`);
      const options: string[] = [];
      for (const o of m.options) {
        if (o.startsWith('lowerdir=')) {
          const lowers: string[] = [];
          for (const l of o.slice('lowerdir='.length).split(':')) {
            const dst = join(scratch, String(made.length));
            mkdirSync(dst, { recursive: true });
            await idmap(userns, l, dst, false);
            made.push(dst);
            lowers.push(dst);
          }
          options.push(`lowerdir=${lowers.join(':')}`);
        } else {
          if (o.startsWith('upperdir=')) chownSync(o.slice('upperdir='.length), u.uids[0].hostID, u.gids[0].hostID);
          options.push(o);
        }
      }
      await mountAll([{ ...m, options }], target);
    }
  } finally {
    // rmdir, never a recursive removal: a directory still holding a layer's mount stays
    for (const d of [...made, scratch]) {
      // overlayfs holds its own copies of the layers: a failed detach costs a mount, not the rootfs
      if (d !== scratch) await runCommand('umount', ['-l', d]).catch(() => undefined);
      try {
        rmdirSync(d);
      } catch {
        /* not empty (still mounted) or gone */
      }
    }
  }
}

/** kubelet's volumes (every bind mount from outside the sandbox's own directory) as id-mapped
 *  copies under `dir`, made here as host root: their files show with their owners inside the pod
 *  (host root's are the pod root's) and the container's set-up, as the pod's root, needs no
 *  search right on kubelet's 0750 pod directories. A file system that refuses id-mapped mounts
 *  (overlayfs: an image volume) keeps the plain bind, its files owned by `nobody` inside. */
export async function idmapVolumes(spec: Spec, pausePid: number, sandboxDir: string, dir: string): Promise<void> {
  const userns = `/proc/${pausePid}/ns/user`;
  let n = 0;
  for (const m of spec.mounts ?? []) {
    if (m.type !== 'bind' || !m.source || m.source.startsWith(`${sandboxDir}/`)) continue;
    const st = statSync(m.source);
    const dst = join(dir, String(n++));
    mkdirSync(dir, { recursive: true });
    if (st.isDirectory()) mkdirSync(dst, { recursive: true });
    else writeFileSync(dst, '');
    try {
      await idmap(userns, m.source, dst, true);
      m.source = dst;
    } catch (e) {
      log.warn('volume kept without id mapping', { source: m.source, error: (e as Error).message });
    }
  }
  if (n) makeTraversable(dir);
}

/** Removes what idmapVolumes made (each a mount, then its mount point). */
export async function releaseIdmapped(dir: string): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    // the container's end may have detached it already (nothing mounted there): removed below
    await runCommand('umount', ['-l', p]).catch(() => undefined);
    try {
      // never a recursive removal: a mount point still busy stays, with its volume's files
      if (statSync(p).isDirectory()) rmdirSync(p);
      else rmSync(p);
    } catch (e) {
      log.warn('id-mapped volume mount point kept', { path: p, error: (e as Error).message });
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    /* a mount point was kept (logged above) */
  }
}
