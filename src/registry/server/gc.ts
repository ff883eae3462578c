// Garbage collection (`skiff registry gc`): mark every blob reachable from any repository's
// manifests (the manifests themselves, configs, layers, index children), then sweep the rest.
// Run it while the registry is stopped or read-only, as with distribution: a blob uploaded between
// mark and sweep but not yet referenced would be collected.
import { promises as fs } from 'node:fs';
import { RegistryStorage } from './storage.js';
import { checkManifest } from './manifest-check.js';

export interface GcResult {
  marked: number;
  deleted: string[];
  freedBytes: number;
}

export async function garbageCollect(
  dataRoot: string,
  opts: { dryRun?: boolean; deleteUntagged?: boolean } = {},
): Promise<GcResult> {
  const storage = new RegistryStorage(dataRoot);
  await storage.init();
  const marked = new Set<string>();
  for (const repo of await storage.repositories()) {
    const tagged = new Set<string>();
    for (const t of await storage.tags(repo)) {
      const d = await storage.resolveTag(repo, t);
      if (d) tagged.add(d);
    }
    const manifests = await storage.manifestDigests(repo);
    // With deleteUntagged, only tagged manifests and what they reach (indexes' children) survive.
    const roots = opts.deleteUntagged ? [...tagged] : manifests;
    const queue = [...roots];
    const seen = new Set<string>();
    while (queue.length) {
      const d = queue.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      const link = await storage.manifestLink(repo, d);
      if (!link) continue;
      marked.add(d);
      let bytes: Buffer;
      try {
        bytes = await storage.readBlob(d);
      } catch {
        continue;
      }
      try {
        const m = checkManifest(bytes, link.mediaType);
        for (const b of m.blobs) marked.add(b);
        queue.push(...m.manifests);
      } catch {
        /* unreadable manifest: keep what it is, mark nothing more */
      }
    }
    if (opts.deleteUntagged && !opts.dryRun)
      for (const d of manifests) if (!seen.has(d)) await storage.deleteManifest(repo, d);
  }
  const deleted: string[] = [];
  let freedBytes = 0;
  for await (const d of storage.allBlobs()) {
    if (marked.has(d)) continue;
    const size = (await storage.blobSize(d)) ?? 0;
    deleted.push(d);
    freedBytes += size;
    if (!opts.dryRun) await fs.rm(storage.blobPath(d), { force: true });
  }
  // Layer links to swept blobs are dropped too, so HEAD answers 404 rather than a dangling link.
  if (!opts.dryRun) {
    const gone = new Set(deleted);
    for (const repo of await storage.repositories())
      for (const d of await storage.layerDigests(repo)) if (gone.has(d)) await storage.unlinkLayer(repo, d);
  }
  return { marked: marked.size, deleted, freedBytes };
}
