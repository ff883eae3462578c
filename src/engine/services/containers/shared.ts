// What a new container takes from others, resolved at create as dockerd does: `--volumes-from`
// (the other container's volumes and binds, read-only with `:ro`), `--link` (stored as
// "/other:/new/alias"; /etc/hosts entries and environment at start, see links.ts) and the
// container:NAME namespace modes (stored by id, so a rename keeps them working).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, invalidArgument, isSkiffError } from '../../../common/index.js';
import type { ContainerRecord, MountPoint } from './record.js';

type Lookup = (ref: string) => ContainerRecord;

function find(lookup: Lookup, ref: string, wrap?: (e: Error) => Error): ContainerRecord {
  try {
    return lookup(ref);
  } catch (e) {
    if (wrap && isSkiffError(e, 'NotFound')) throw wrap(e);
    throw e;
  }
}

/** The mounts of `--volumes-from C[:ro|:rw]` (volumes and binds; tmpfs mounts are not shared). */
export function volumesFromMounts(specs: string[], lookup: Lookup): MountPoint[] {
  const out: MountPoint[] = [];
  for (const spec of specs) {
    const i = spec.indexOf(':');
    const ref = i < 0 ? spec : spec.slice(0, i);
    const opts = i < 0 ? [] : spec.slice(i + 1).split(',');
    if (i >= 0 && !opts.every((o) => ['ro', 'rw', 'z', 'Z'].includes(o)))
      throw invalidArgument(`invalid mode: ${spec.slice(i + 1)}`, { field: 'HostConfig.VolumesFrom' });
    const mode = opts.find((o) => o === 'ro' || o === 'rw');
    // 400 rather than dockerd's 404: the CLI takes any 404 at create for a missing image and pulls.
    const src = find(lookup, ref, () =>
      invalidArgument(`No such container: ${ref}`, { field: 'HostConfig.VolumesFrom' }),
    );
    for (const m of src.Mounts) {
      if (m.Type === 'tmpfs' || out.some((x) => x.Destination === m.Destination)) continue;
      out.push({ ...m, RW: mode ? mode === 'rw' : m.RW });
    }
  }
  return out;
}

/** Volumes-from mounts under the create's own: binds, --mount and tmpfs win at the same destination,
 *  and an image VOLUME (anonymous) at a shared destination uses the shared volume instead. */
export function mergeVolumesFrom(own: MountPoint[], shared: MountPoint[]): MountPoint[] {
  if (!shared.length) return own;
  const explicit = own.filter((m) => !(m.Anonymous && !m.Name));
  const taken = new Set(explicit.map((m) => m.Destination));
  const fromOthers = shared.filter((m) => !taken.has(m.Destination));
  const used = new Set(fromOthers.map((m) => m.Destination));
  return [...explicit, ...fromOthers, ...own.filter((m) => m.Anonymous && !m.Name && !used.has(m.Destination))];
}

/** `--link NAME[:ALIAS]` → "/NAME:/NEW/ALIAS" (the other container must exist). */
export function normalizeLinks(links: string[], newName: string, lookup: Lookup): string[] {
  return links.map((l) => {
    const [ref, alias = ref] = l.split(':');
    const other = find(lookup, ref, (e) =>
      invalidArgument(`could not get container for ${ref}: ${e.message}`, { field: 'HostConfig.Links' }),
    );
    return `${other.Name}:${newName}/${alias.replace(/^\//, '')}`;
  });
}

/** container:NAME → container:ID for IpcMode and PidMode (NetworkMode is resolved at start). */
export function resolveNamespaceModes(hc: Record<string, unknown>, lookup: Lookup): void {
  for (const k of ['IpcMode', 'PidMode']) {
    const v = typeof hc[k] === 'string' ? (hc[k] as string) : '';
    if (!v.startsWith('container:')) continue;
    const ref = v.slice(10);
    hc[k] =
      `container:${find(lookup, ref, () => invalidArgument(`No such container: ${ref}`, { field: `HostConfig.${k}` })).Id}`;
  }
}

/** At start: the namespaces (and /dev/shm) of the containers named by IpcMode/PidMode container:ID,
 *  which must be running (dockerd's messages). */
export function sharedNamespaces(
  rec: ContainerRecord,
  lookup: Lookup,
  dirOf: (id: string) => string,
): { ipcnsPath?: string; pidnsPath?: string; shmPath?: string } {
  const out: { ipcnsPath?: string; pidnsPath?: string; shmPath?: string } = {};
  if (rec.HostConfig.IpcMode === 'shareable') out.shmPath = shmDir(dirOf(rec.Id));
  const ipc = String(rec.HostConfig.IpcMode ?? '');
  if (ipc.startsWith('container:')) {
    const o = lookup(ipc.slice(10));
    const no = (why: string) =>
      conflict(`can't join IPC of container ${o.Id}: ${why}`, { field: 'HostConfig.IpcMode' });
    if (!o.State.Running) throw no(`container ${o.Id} is not running`);
    if (o.HostConfig.IpcMode !== 'shareable' && o.HostConfig.IpcMode !== 'host')
      throw no('non-shareable IPC (hint: use IpcMode:shareable for the donor container)');
    out.ipcnsPath = `/proc/${o.State.Pid}/ns/ipc`;
    if (o.HostConfig.IpcMode === 'shareable') out.shmPath = shmDir(dirOf(o.Id));
  }
  const pid = String(rec.HostConfig.PidMode ?? '');
  if (pid.startsWith('container:')) {
    const o = lookup(pid.slice(10));
    if (!o.State.Running) throw conflict(`container ${o.Id} is not running`, { field: 'HostConfig.PidMode' });
    out.pidnsPath = `/proc/${o.State.Pid}/ns/pid`;
  }
  return out;
}

/** A shareable IPC container's /dev/shm: a tmpfs on the host (DATA_ROOT/containers/ID/shm), made at
 *  its start, so that the containers joining its IPC namespace can bind-mount the same one. */
export function shmDir(containerDir: string): string {
  return join(containerDir, 'shm');
}

export function mountShm(containerDir: string, sizeBytes: number): void {
  const d = shmDir(containerDir);
  mkdirSync(d, { recursive: true });
  if (isMounted(d)) return;
  execFileSync('mount', ['-t', 'tmpfs', '-o', `nosuid,nodev,noexec,mode=1777,size=${sizeBytes}`, 'shm', d]);
}

export function unmountShm(containerDir: string): void {
  const d = shmDir(containerDir);
  if (isMounted(d)) execFileSync('umount', ['-l', d]);
}

function isMounted(dir: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === dir);
  } catch {
    return false;
  }
}
