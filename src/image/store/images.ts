// The image service: image references over the content store, resolution of an image to the
// manifest and config for a platform, unpacking into a snapshotter (layers keyed by chain id, so
// each is unpacked once), and `docker import`.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { invalidArgument, isSkiffError, notFound, randomSuffix } from '../../common/index.js';
import { sha256Digest } from '../digest.js';
import { KeyedMutex } from '../atomic-file.js';
import type { ContentStore } from '../content/types.js';
import { LeaseManager } from '../content/leases.js';
import { createContentStore } from '../content/store.js';
import {
  MediaType,
  defaultPlatform,
  layerCompression,
  parseImageConfig,
  parseManifest,
  selectManifest,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type PlatformSpec,
} from '../formats/index.js';
import { applyLayer } from '../unpack/layer.js';
import { decompressor, detectCompression, peek } from '../unpack/decompress.js';
import { readTar } from '../unpack/tar-reader.js';
import type { Snapshotter } from '../snapshot/types.js';
import { ImageStore, canonicalName, type ImageRecord } from './image-store.js';
import { applyChanges } from './changes.js';

export interface ResolvedImage {
  record: ImageRecord;
  /** The platform-specific manifest's descriptor. */
  manifestDesc: Descriptor;
  manifest: ImageManifest;
  configDesc: Descriptor;
  config: ImageConfig;
  /** Docker's image id: the config digest. */
  id: string;
}

export const GC_SNAPSHOT_LABEL = 'containerd.io/gc.ref.snapshot.';
export const UNCOMPRESSED_LABEL = 'containerd.io/uncompressed';

/** ChainID of a list of diff ids (OCI image-spec). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length ? sha256Digest(`${out[out.length - 1]} ${d}`) : d);
  return out;
}

export interface ImportOptions {
  /** Reference to tag the image with; untagged when absent. */
  ref?: string;
  /** Dockerfile instructions (`--change`). */
  changes?: string[];
  /** History comment (`--message`). */
  message?: string;
  platform?: PlatformSpec;
  signal?: AbortSignal;
}

export class Images {
  private readonly unpackLock = new KeyedMutex();
  constructor(
    readonly content: ContentStore,
    readonly store: ImageStore,
    readonly leases: LeaseManager,
  ) {}

  /** Resolves a reference (or image id / manifest digest) to its platform manifest and config. */
  async resolve(name: string, platform: PlatformSpec = defaultPlatform()): Promise<ResolvedImage> {
    const record = await this.findRecord(name);
    let desc = record.target;
    for (let depth = 0; ; depth++) {
      if (depth > 4) throw invalidArgument(`image ${name}: indexes nested too deeply`, { field: 'manifest' });
      const parsed = parseManifest(await this.readBlob(desc, name), desc.mediaType);
      if (parsed.kind === 'index') {
        desc = selectManifest(parsed.index.manifests, platform);
        continue;
      }
      const configDesc = parsed.manifest.config;
      const config = parseImageConfig(await this.readBlob(configDesc, name), configDesc.mediaType);
      if (config.rootfs.diff_ids.length !== parsed.manifest.layers.length) {
        throw invalidArgument(
          `image ${name}: the config lists ${config.rootfs.diff_ids.length} diff ids but the manifest has ${parsed.manifest.layers.length} layers`,
          { field: 'rootfs.diff_ids' },
        );
      }
      return { record, manifestDesc: desc, manifest: parsed.manifest, configDesc, config, id: configDesc.digest };
    }
  }

  /** Finds the record by reference, or by image id / manifest digest (or a unique prefix). */
  async findRecord(name: string): Promise<ImageRecord> {
    try {
      return await this.store.get(name);
    } catch (e) {
      if (!isSkiffError(e, 'NotFound') && !isSkiffError(e, 'InvalidArgument')) throw e;
    }
    const hex = name.replace(/^sha256:/, '');
    if (/^[a-f0-9]{4,64}$/.test(hex)) {
      const hits: ImageRecord[] = [];
      for (const r of await this.store.list()) {
        if (r.target.digest.slice(7).startsWith(hex)) {
          hits.push(r);
          continue;
        }
        const id = await this.resolve(r.name).then(
          (x) => x.id,
          () => undefined,
        );
        if (id?.slice(7).startsWith(hex)) hits.push(r);
      }
      if (hits.length === 1 || (hits.length > 1 && hits.every((h) => h.target.digest === hits[0].target.digest)))
        return hits[0];
      if (hits.length > 1) throw invalidArgument(`image id prefix ${name} is ambiguous`, { field: 'name' });
    }
    throw notFound(`No such image: ${name}`, { field: 'name' });
  }

  private async readBlob(desc: Descriptor, image: string): Promise<Buffer> {
    try {
      return await this.content.readAll(desc.digest);
    } catch (e) {
      if (isSkiffError(e, 'NotFound'))
        throw notFound(`image ${image}: content ${desc.digest} (${desc.mediaType}) is missing from the content store`, {
          field: 'digest',
        });
      throw e;
    }
  }

  /** Unpacks an image's layers into `sn`, each once (keyed by chain id); returns the top chain id
   *  (the parent for a container's `prepare`), or undefined for an image without layers. */
  async unpack(
    name: string,
    sn: Snapshotter,
    opts: { platform?: PlatformSpec; signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    const img = await this.resolve(name, opts.platform);
    const diffIds = img.config.rootfs.diff_ids;
    const chain = chainIds(diffIds);
    // A lease keeps each committed layer from a concurrent GC until the config's label points at
    // the top of the chain.
    return this.leases.with(async (lease) => {
      let parent: string | undefined;
      for (let i = 0; i < chain.length; i++) {
        const chainId = chain[i];
        const layer = img.manifest.layers[i];
        await this.leases.addResource(lease.id, { type: 'snapshot', id: chainId, snapshotter: sn.name });
        await this.unpackLock.run(`${sn.root}\0${chainId}`, async () => {
          if (
            await sn.stat(chainId).then(
              () => true,
              () => false,
            )
          )
            return;
          const compression = layerCompression(layer.mediaType);
          const key = `extract-${randomSuffix(6)} ${chainId}`;
          await sn.prepare(key, parent, { labels: { 'containerd.io/snapshot.ref': chainId } });
          try {
            const target = await sn.applyTarget(key);
            const blob = await this.content.reader(layer.digest).catch((e) => {
              if (isSkiffError(e, 'NotFound'))
                throw notFound(`image ${name}: layer ${layer.digest} is missing from the content store`, {
                  field: 'digest',
                });
              throw e;
            });
            await applyLayer(blob, compression, target.dir, {
              whiteouts: target.whiteouts,
              lowers: target.lowers,
              expectedDiffId: diffIds[i],
              signal: opts.signal,
            });
            await sn.commit(chainId, key);
          } catch (e) {
            // undoing a failed commit: the commit's error (rethrown below) is the one to report
            await sn.remove(key).catch(() => {});
            if (isSkiffError(e, 'AlreadyExists')) return; // unpacked concurrently by another process
            throw e;
          }
          if (layer.digest !== diffIds[i])
            // the label is a shortcut for later lookups (recomputed when absent)
            await this.content.updateLabels(layer.digest, { [UNCOMPRESSED_LABEL]: diffIds[i] }).catch(() => {});
        });
        parent = chainId;
      }
      if (parent)
        await this.content.updateLabels(img.configDesc.digest, { [`${GC_SNAPSHOT_LABEL}${sn.name}`]: parent });
      return parent;
    });
  }

  /** `docker import`: a root file system tar (plain, gzip or zstd) becomes a one-layer image. */
  async importRootfsTar(source: Readable, opts: ImportOptions = {}): Promise<ResolvedImage> {
    const platform = opts.platform ?? defaultPlatform();
    const name = opts.ref ? canonicalName(opts.ref) : undefined;
    const runConfig = applyChanges({}, opts.changes ?? []);
    return this.leases.with(async (lease) => {
      const { head, stream } = await peek(source, 8);
      const compression = detectCompression(head);
      const plain = decompressor(compression);
      const feeding = pipeline(Readable.from(stream), plain).catch((e: Error) => {
        plain.destroy(
          invalidArgument(
            `import: reading the ${compression === 'none' ? '' : `${compression} `}archive failed: ${e.message}`,
            { field: 'archive', cause: e },
          ),
        );
      });
      const ref = `import-${randomSuffix(8)}`;
      await this.leases.addResource(lease.id, { type: 'ingest', id: ref });
      const w = await this.content.writer(ref);
      let layerDigest: string;
      try {
        const tee = async function* () {
          for await (const c of plain) {
            if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
            await w.write(c as Buffer);
            yield c as Buffer;
          }
        };
        let entries = 0;
        await readTar(tee(), {
          entry: () => {
            entries++;
            return undefined;
          },
        });
        if (entries === 0)
          throw invalidArgument('import: the archive is empty or not a tar archive', { field: 'archive' });
        await feeding;
        layerDigest = await w.commit();
      } catch (e) {
        // undoing a failed ingest: the commit's error (rethrown below) is the one to report
        await w.abort().catch(() => {});
        plain.destroy();
        throw e;
      }
      await this.leases.addResource(lease.id, { type: 'content', id: layerDigest });
      const layerSize = (await this.content.info(layerDigest)).size;
      const now = new Date().toISOString();
      const config: ImageConfig = {
        created: now,
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: runConfig,
        rootfs: { type: 'layers', diff_ids: [layerDigest] },
        // As dockerd's import: no created_by, the message (or "Imported from SOURCE") as comment.
        history: [{ created: now, created_by: '', comment: opts.message ?? 'Imported from -' }],
      };
      return this.storeImage(
        config,
        [{ mediaType: MediaType.OciLayer, digest: layerDigest, size: layerSize }],
        name,
        lease.id,
      );
    });
  }

  /** Writes config + manifest for `layers` and points `name` (or a dangling record) at it. */
  async storeImage(
    config: ImageConfig,
    layers: Descriptor[],
    name: string | undefined,
    leaseId?: string,
  ): Promise<ResolvedImage> {
    return this.storeImageRaw(
      Buffer.from(JSON.stringify(config)),
      MediaType.OciConfig,
      layers,
      name ? [name] : [],
      leaseId,
    );
  }

  /** Like storeImage with the config's exact bytes (so the image id stays the same). */
  async storeImageRaw(
    configBytes: Buffer,
    configMediaType: string,
    layers: Descriptor[],
    names: string[],
    leaseId?: string,
  ): Promise<ResolvedImage> {
    const config = parseImageConfig(configBytes, configMediaType);
    if (config.rootfs.diff_ids.length !== layers.length) {
      throw invalidArgument(
        `image config lists ${config.rootfs.diff_ids.length} diff ids for ${layers.length} layers`,
        { field: 'rootfs.diff_ids' },
      );
    }
    const configDigest = await this.content.put(configBytes);
    if (leaseId) await this.leases.addResource(leaseId, { type: 'content', id: configDigest });
    const manifest = {
      schemaVersion: 2 as const,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.length },
      layers,
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = await this.content.put(manifestBytes);
    const target: Descriptor = { mediaType: MediaType.OciManifest, digest: manifestDigest, size: manifestBytes.length };
    const recNames = names.length ? names.map(canonicalName) : [manifestDigest];
    for (const n of recNames) await this.store.put(n, target);
    return this.resolve(recNames[0], { os: config.os, architecture: config.architecture, variant: config.variant });
  }

  /** Tags: points `target` at the same descriptor as `source`. */
  async tag(source: string, target: string): Promise<ImageRecord> {
    const rec = await this.findRecord(source);
    return this.store.put(target, rec.target);
  }

  /** Deletes a reference (the blobs go at the next garbage collection). */
  async delete(name: string): Promise<void> {
    const rec = await this.findRecord(name);
    await this.store.delete(rec.name);
  }
}

export interface ImageServiceOptions {
  root: string;
}

/** Opens the content store, image store and leases under `root` (content/, images.json, leases/). */
export async function openImages(root: string): Promise<Images> {
  const content = await createContentStore(join(root, 'content'));
  const store = await new ImageStore(join(root, 'images.json')).init();
  return new Images(content, store, new LeaseManager(join(root, 'leases')));
}
