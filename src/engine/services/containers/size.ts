// SizeRw / SizeRootFs (`docker ps -s`, `inspect --size`, /system/df) as dockerd computes them:
// SizeRw is the apparent size of what the container wrote (its writable layer: file sizes, not
// blocks; directories and hard links not counted twice), SizeRootFs that plus its image's size.
// On overlayfs the writable layer is the snapshot's upperdir; other snapshotters are measured
// through their diff (the same files a `docker commit` would take).
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tarContentSize } from '../tar-size.js';
import type { Snapshotter } from '../../../image/index.js';

/** Apparent size of the files below `dir` (hard links once). */
export function apparentSize(dir: string): number {
  const seen = new Set<number>();
  let size = 0;
  const walk = (p: string) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = readdirSync(p);
      } catch {
        /* unreadable: skip */
      }
      for (const n of names) walk(join(p, n));
      return;
    }
    if (st.nlink > 1) {
      if (seen.has(st.ino)) return;
      seen.add(st.ino);
    }
    size += st.size;
  };
  walk(dir);
  return size;
}

/** Size of a container's writable layer (snapshot `key`); 0 when it cannot be measured. */
export async function writableLayerSize(sn: Snapshotter, key: string): Promise<number> {
  const mounts = await sn.mounts(key).catch(() => []);
  const upper = mounts.find((m) => m.type === 'overlay')?.options.find((o) => o.startsWith('upperdir='));
  if (upper) return apparentSize(upper.slice('upperdir='.length));
  if (!mounts.length) return 0;
  try {
    return await tarContentSize(await sn.diff(key));
  } catch {
    return 0;
  }
}

export interface ContainerSizes {
  rw: number;
  rootfs: number;
}

/** SizeRw and SizeRootFs for containers, given their image's size lookup. */
export async function containerSizes(sn: Snapshotter, snapshotKey: string, imageSize: number): Promise<ContainerSizes> {
  const rw = snapshotKey ? await writableLayerSize(sn, snapshotKey) : 0;
  return { rw, rootfs: rw + imageSize };
}

/** Sizes of several containers; image sizes come from the images service's summaries. */
export async function sizesOf(
  sn: Snapshotter,
  images: { diskUsage?(): Promise<{ Id: string; Size: number }[]> },
  recs: readonly { SnapshotKey: string; Image: string }[],
): Promise<ContainerSizes[]> {
  const byId = new Map(((await images.diskUsage?.().catch(() => [])) ?? []).map((i) => [i.Id, i.Size]));
  const out: ContainerSizes[] = [];
  for (const r of recs) out.push(await containerSizes(sn, r.SnapshotKey, byId.get(r.Image) ?? 0));
  return out;
}
