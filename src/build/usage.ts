// The build cache as dockerd reports it in GET /system/df (`BuildCache`, moby's types.BuildCache):
// one record per cached step whose snapshot still exists. Size is the layer the step added (0 for
// a config-only step); Shared when an image uses that layer too, so pruning the cache would not
// free it (the docker CLI counts only records neither in use nor shared as reclaimable).
import type { Images, Snapshotter } from '../image/index.js';
import type { BuildCache } from './cache.js';

export interface BuildCacheRecord {
  ID: string;
  Parents: string[] | null;
  Type: string;
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string | null;
  UsageCount: number;
}

export async function cacheUsage(cache: BuildCache, images: Images, sn: Snapshotter): Promise<BuildCacheRecord[]> {
  const used = new Set<string>();
  for (const r of await images.store.list()) {
    try {
      for (const l of (await images.resolve(r.name)).manifest.layers) used.add(l.digest);
    } catch {
      /* an image of another platform, or half-removed */
    }
  }
  const out: BuildCacheRecord[] = [];
  for (const { key, entry: e, mtime } of cache.list()) {
    if (
      e.top &&
      !(await sn.stat(e.top).then(
        () => true,
        () => false,
      ))
    )
      continue; // its snapshot was collected: the entry no longer holds anything
    const created = e.created ?? mtime.toISOString();
    out.push({
      ID: key.slice(0, 25),
      Parents: null,
      Type: 'regular',
      Description: e.step ?? '',
      InUse: false,
      Shared: !!e.layer && used.has(e.layer.digest),
      Size: e.layer?.size ?? 0,
      CreatedAt: created,
      LastUsedAt: e.lastUsed ?? created,
      UsageCount: e.usage ?? 1,
    });
  }
  return out;
}
