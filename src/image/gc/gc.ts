// Garbage collection by reachability (containerd's model). Roots: image references and active
// leases; active and view snapshots (containers' layers) are kept too. From a root, manifests and
// indexes lead to their children through descriptors, and labels lead further:
// `containerd.io/gc.ref.content.*` to more content, `containerd.io/gc.ref.snapshot.<name>` to a
// snapshot of that snapshotter, whose parent chain is kept. Everything else is removed: unreachable
// blobs, committed snapshots nobody refers to, and ingests idle longer than `ingestMaxAgeMs`.
import { isSkiffError } from '../../common/index.js';
import type { ContentStore } from '../content/types.js';
import { leaseActive, type LeaseManager } from '../content/leases.js';
import { isIndexMediaType, isManifestMediaType, parseManifest } from '../formats/index.js';
import type { ImageStore } from '../store/image-store.js';
import type { Snapshotter } from '../snapshot/types.js';

export interface GcOptions {
  content: ContentStore;
  images: ImageStore;
  leases: LeaseManager;
  snapshotters?: Snapshotter[];
  /** Ingests idle for longer than this are removed unless leased (default 1 hour). */
  ingestMaxAgeMs?: number;
  dryRun?: boolean;
}

export interface GcResult {
  removedContent: string[];
  removedSnapshots: { snapshotter: string; key: string }[];
  removedIngests: string[];
  reclaimedBytes: number;
}

const CONTENT_LABEL = 'containerd.io/gc.ref.content';
const SNAPSHOT_LABEL = 'containerd.io/gc.ref.snapshot.';

export async function garbageCollect(o: GcOptions): Promise<GcResult> {
  const res: GcResult = { removedContent: [], removedSnapshots: [], removedIngests: [], reclaimedBytes: 0 };
  const sns = new Map((o.snapshotters ?? []).map((s) => [s.name, s]));
  const leases = (await o.leases.list()).filter((l) => leaseActive(l));
  // an expired lease deleted meanwhile by another collector is gone either way
  for (const l of await o.leases.list()) if (!leaseActive(l)) await o.leases.delete(l.id).catch(() => {});

  // Mark content.
  const marked = new Set<string>();
  const markedSnaps = new Set<string>(); // `${snapshotter}\0${key}`
  const queue: { digest: string; mediaType?: string }[] = [];
  for (const img of await o.images.list()) queue.push({ digest: img.target.digest, mediaType: img.target.mediaType });
  for (const l of leases) {
    for (const r of l.resources) {
      if (r.type === 'content') queue.push({ digest: r.id });
      if (r.type === 'snapshot' && r.snapshotter) markedSnaps.add(`${r.snapshotter}\0${r.id}`);
    }
  }
  while (queue.length) {
    const { digest, mediaType } = queue.pop()!;
    if (marked.has(digest)) continue;
    marked.add(digest);
    let info;
    try {
      info = await o.content.info(digest);
    } catch (e) {
      if (isSkiffError(e, 'NotFound')) continue;
      throw e;
    }
    for (const [k, v] of Object.entries(info.labels)) {
      if (k === CONTENT_LABEL || k.startsWith(`${CONTENT_LABEL}.`)) queue.push({ digest: v });
      if (k.startsWith(SNAPSHOT_LABEL)) markedSnaps.add(`${k.slice(SNAPSHOT_LABEL.length)}\0${v}`);
    }
    if (isIndexMediaType(mediaType) || isManifestMediaType(mediaType) || (!mediaType && info.size < 4 << 20)) {
      let parsed;
      try {
        parsed = parseManifest(await o.content.readAll(digest), mediaType);
      } catch {
        continue;
      }
      if (parsed.kind === 'index') {
        for (const m of parsed.index.manifests) queue.push({ digest: m.digest, mediaType: m.mediaType });
      } else {
        queue.push({ digest: parsed.manifest.config.digest, mediaType: parsed.manifest.config.mediaType });
        for (const l of parsed.manifest.layers) queue.push({ digest: l.digest, mediaType: l.mediaType });
      }
      const subject = (parsed.kind === 'index' ? parsed.index : parsed.manifest) as {
        subject?: { digest: string; mediaType: string };
      };
      if (subject.subject) queue.push({ digest: subject.subject.digest, mediaType: subject.subject.mediaType });
    }
  }

  // Sweep content.
  const leasedIngests = new Set(leases.flatMap((l) => l.resources.filter((r) => r.type === 'ingest').map((r) => r.id)));
  for await (const info of o.content.list()) {
    if (marked.has(info.digest)) continue;
    if (!o.dryRun) {
      try {
        await o.content.delete(info.digest);
      } catch (e) {
        if (!isSkiffError(e, 'NotFound')) throw e;
        continue;
      }
    }
    res.removedContent.push(info.digest);
    res.reclaimedBytes += info.size;
  }
  const maxAge = o.ingestMaxAgeMs ?? 3600_000;
  for (const ing of await o.content.ingests()) {
    if (leasedIngests.has(ing.ref)) continue;
    if (ing.updatedAt && Date.now() - ing.updatedAt.getTime() < maxAge) continue;
    if (!o.dryRun) {
      try {
        await o.content.abortIngest(ing.ref);
      } catch (e) {
        if (isSkiffError(e, 'Unavailable')) continue;
        throw e;
      }
    }
    res.removedIngests.push(ing.ref);
    res.reclaimedBytes += ing.offset;
  }

  // Snapshots: keep marked ones, active/views, and their parent chains; remove the rest leaf-first.
  for (const [name, sn] of sns) {
    const infos = new Map<string, { parent?: string; kind: string }>();
    for await (const i of sn.walk()) infos.set(i.name, i);
    const keep = new Set<string>();
    const keepChain = (k: string | undefined) => {
      for (; k && !keep.has(k); k = infos.get(k)?.parent) keep.add(k);
    };
    for (const [k, i] of infos) if (i.kind !== 'committed' || markedSnaps.has(`${name}\0${k}`)) keepChain(k);
    let doomed = [...infos.keys()].filter((k) => !keep.has(k));
    while (doomed.length) {
      const parents = new Set(doomed.map((k) => infos.get(k)?.parent));
      const leaves = doomed.filter((k) => !parents.has(k));
      if (leaves.length === 0) break;
      for (const k of leaves) {
        if (!o.dryRun) {
          const u = await sn.usage(k).catch(() => ({ size: 0 }));
          await sn.remove(k);
          res.reclaimedBytes += u.size;
        }
        res.removedSnapshots.push({ snapshotter: name, key: k });
      }
      doomed = doomed.filter((k) => !leaves.includes(k));
    }
  }
  return res;
}
