// Export: `docker save` archives (manifest.json + repositories, with blobs under blobs/sha256/ as
// Docker ≥ 25 writes them, plus its index.json/oci-layout so OCI tools read them too; layers are
// written uncompressed, named by diff id, as Docker does) and OCI image layout archives (oci-layout,
// index.json, blobs/ with the stored — usually compressed — blobs as they are).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { invalidArgument } from '../../common/index.js';
import { DigestingStream, sha256Digest } from '../digest.js';
import { MediaType, layerCompression, parseManifest, type Descriptor, type PlatformSpec } from '../formats/index.js';
import { decompressor } from '../unpack/decompress.js';
import { parseReference } from '../reference/index.js';
import type { Images, ResolvedImage } from '../store/images.js';
import { addBuffer, addDir, addStream, pack, type Pack } from './tar-out.js';

export interface SaveOptions {
  platform?: PlatformSpec;
  signal?: AbortSignal;
}

const hex = (d: string) => d.slice('sha256:'.length);

function tagsOf(name: string): { familiar?: string; canonical?: string; tag?: string } {
  if (name.startsWith('sha256:')) return {};
  const r = parseReference(name);
  return { familiar: r.tag ? r.familiarString() : undefined, canonical: r.toString(), tag: r.tag };
}

/** Pipes a pack into `out`, runs `fill`, finalises, and waits for `out` to finish. */
async function writeArchive(out: Writable, fill: (p: Pack) => Promise<void>): Promise<void> {
  const p = pack();
  const done = pipeline(p, out);
  try {
    await fill(p);
    p.finalize();
  } catch (e) {
    p.destroy(e as Error);
    // its failure is the error already being handled here
    await done.catch(() => {});
    throw e;
  }
  await done;
}

/** `docker save NAME…` */
export async function saveDockerArchive(
  images: Images,
  names: string[],
  out: Writable,
  opts: SaveOptions = {},
): Promise<void> {
  if (names.length === 0) throw invalidArgument('save: name at least one image', { field: 'names' });
  const resolved: { name: string; img: ResolvedImage }[] = [];
  for (const n of names) {
    const img = await images.resolve(n, opts.platform);
    resolved.push({ name: n.startsWith('sha256:') || /^[a-f0-9]{12,64}$/.test(n) ? img.record.name : n, img });
  }
  const tmp = await mkdtemp(join(tmpdir(), 'skiff-save-'));
  try {
    await writeArchive(out, async (p) => {
      const written = new Set<string>();
      const layerSizes = new Map<string, number>();
      const manifestJson: unknown[] = [];
      const repositories: Record<string, Record<string, string>> = {};
      const indexManifests: Descriptor[] = [];
      await addDir(p, 'blobs');
      await addDir(p, 'blobs/sha256');
      for (const { name, img } of resolved) {
        const layerPaths: string[] = [];
        const ociLayers: Descriptor[] = [];
        for (let i = 0; i < img.manifest.layers.length; i++) {
          const layer = img.manifest.layers[i];
          const diffId = img.config.rootfs.diff_ids[i];
          const path = `blobs/sha256/${hex(diffId)}`;
          layerPaths.push(path);
          if (!layerSizes.has(path)) {
            layerSizes.set(path, await writeUncompressedLayer(images, p, path, layer, diffId, tmp, opts.signal));
          }
          ociLayers.push({ mediaType: MediaType.OciLayer, digest: diffId, size: layerSizes.get(path)! });
        }
        const configPath = `blobs/sha256/${hex(img.configDesc.digest)}`;
        if (!written.has(configPath)) {
          written.add(configPath);
          await addBuffer(p, configPath, await images.content.readAll(img.configDesc.digest));
        }
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.OciManifest,
            config: { mediaType: MediaType.OciConfig, digest: img.configDesc.digest, size: img.configDesc.size },
            layers: ociLayers,
          }),
        );
        const md = sha256Digest(manifest);
        if (!written.has(md)) {
          written.add(md);
          await addBuffer(p, `blobs/sha256/${hex(md)}`, manifest);
        }
        const t = tagsOf(name);
        manifestJson.push({ Config: configPath, RepoTags: t.familiar ? [t.familiar] : null, Layers: layerPaths });
        if (t.familiar && t.tag && layerPaths.length) {
          const repo = t.familiar.slice(0, t.familiar.length - t.tag.length - 1);
          (repositories[repo] ??= {})[t.tag] = hex(img.config.rootfs.diff_ids[img.config.rootfs.diff_ids.length - 1]);
        }
        indexManifests.push({
          mediaType: MediaType.OciManifest,
          digest: md,
          size: manifest.length,
          ...(t.canonical
            ? {
                annotations: {
                  'io.containerd.image.name': t.canonical,
                  ...(t.tag ? { 'org.opencontainers.image.ref.name': t.tag } : {}),
                },
              }
            : {}),
        });
      }
      await addBuffer(
        p,
        'index.json',
        Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: indexManifests })),
      );
      await addBuffer(p, 'manifest.json', Buffer.from(JSON.stringify(manifestJson)));
      await addBuffer(p, 'oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      await addBuffer(p, 'repositories', Buffer.from(JSON.stringify(repositories)));
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Writes a layer uncompressed (a tar entry needs its size first, so a compressed blob is
 *  decompressed to a temp file, verified against its diff id, then copied in). */
async function writeUncompressedLayer(
  images: Images,
  p: Pack,
  path: string,
  layer: Descriptor,
  diffId: string,
  tmp: string,
  signal?: AbortSignal,
): Promise<number> {
  const compression = layerCompression(layer.mediaType);
  if (compression === 'none') {
    const size = (await images.content.info(layer.digest)).size;
    await addStream(p, path, size, await images.content.reader(layer.digest));
    return size;
  }
  const file = join(tmp, hex(diffId));
  const hasher = new DigestingStream({ highWaterMark: 1 << 20 });
  await pipeline(
    await images.content.reader(layer.digest),
    decompressor(compression),
    hasher,
    createWriteStream(file),
    { signal },
  );
  if (hasher.digest() !== diffId)
    throw invalidArgument(`layer ${layer.digest} decompresses to ${hasher.digest()}, but the config says ${diffId}`, {
      field: 'rootfs.diff_ids',
    });
  const size = (await stat(file)).size;
  await addStream(p, path, size, createReadStream(file, { highWaterMark: 1 << 20 }));
  await rm(file, { force: true });
  return size;
}

/** OCI image layout archive of NAME… (blobs as stored; one manifest per image for the platform,
 *  or the whole index when every platform's content is present). */
export async function saveOciArchive(
  images: Images,
  names: string[],
  out: Writable,
  opts: SaveOptions = {},
): Promise<void> {
  if (names.length === 0) throw invalidArgument('save: name at least one image', { field: 'names' });
  const plans: { desc: Descriptor; blobs: Descriptor[]; name: string }[] = [];
  for (const n of names) {
    const img = await images.resolve(n, opts.platform);
    const blobs: Descriptor[] = [];
    let desc: Descriptor = img.manifestDesc;
    const tgt = img.record.target;
    if (tgt.digest !== img.manifestDesc.digest) {
      // An index: keep it whole only if every child manifest and its blobs are present.
      const idx = parseManifest(await images.content.readAll(tgt.digest), tgt.mediaType);
      const all: Descriptor[] = [tgt];
      let complete = idx.kind === 'index';
      if (idx.kind === 'index') {
        for (const m of idx.index.manifests) {
          if (!(await images.content.has(m.digest))) {
            complete = false;
            break;
          }
          all.push(m);
          const mm = parseManifest(await images.content.readAll(m.digest), m.mediaType);
          if (mm.kind !== 'manifest') {
            complete = false;
            break;
          }
          for (const b of [mm.manifest.config, ...mm.manifest.layers]) {
            if (!(await images.content.has(b.digest))) {
              complete = false;
              break;
            }
            all.push(b);
          }
        }
      }
      if (complete) {
        desc = tgt;
        blobs.push(...all);
      }
    }
    if (blobs.length === 0) blobs.push(img.manifestDesc, img.configDesc, ...img.manifest.layers);
    const name = n.startsWith('sha256:') || /^[a-f0-9]{12,64}$/.test(n) ? img.record.name : n;
    plans.push({ desc, blobs, name });
  }
  await writeArchive(out, async (p) => {
    await addBuffer(p, 'oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    await addDir(p, 'blobs');
    await addDir(p, 'blobs/sha256');
    const written = new Set<string>();
    const manifests: Descriptor[] = [];
    for (const plan of plans) {
      for (const b of plan.blobs) {
        if (written.has(b.digest)) continue;
        written.add(b.digest);
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
        const size = (await images.content.info(b.digest)).size;
        await addStream(p, `blobs/sha256/${hex(b.digest)}`, size, await images.content.reader(b.digest));
      }
      const t = tagsOf(plan.name);
      manifests.push({
        mediaType: plan.desc.mediaType,
        digest: plan.desc.digest,
        size: plan.desc.size,
        ...(plan.desc.platform ? { platform: plan.desc.platform } : {}),
        ...(t.canonical
          ? {
              annotations: {
                'io.containerd.image.name': t.canonical,
                ...(t.tag ? { 'org.opencontainers.image.ref.name': t.tag } : {}),
              },
            }
          : {}),
      });
    }
    await addBuffer(
      p,
      'index.json',
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests })),
    );
  });
}
