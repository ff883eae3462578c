// Import: `docker load` archives (manifest.json; layers as `<id>/layer.tar` in the legacy layout or
// `blobs/sha256/<hex>` as Docker ≥ 25 writes them; plain, gzip or zstd) and OCI image layout
// archives (index.json + blobs/). Entries may come in any order: every blob is streamed into the
// content store as it arrives (files under blobs/sha256/ verified against their names), metadata
// files are kept in memory, and image references are written only at the end, after every
// layer's diff id has been checked — a bad archive leaves no image behind (its blobs are
// unreferenced and go at the next garbage collection).
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { invalidArgument, isSkiffError } from '../../common/index.js';
import { DigestingStream } from '../digest.js';
import { MediaType, OciIndexSchema, parseManifest, validate, type Descriptor } from '../formats/index.js';
import { TAG_RE } from '../reference/index.js';
import { decompressor, detectCompression, peek } from '../unpack/decompress.js';
import { readTar, type EntrySink, type TarHeader } from '../unpack/tar-reader.js';
import type { ContentWriter } from '../content/types.js';
import type { Images } from '../store/images.js';
import { z } from 'zod';

export interface LoadOptions {
  signal?: AbortSignal;
  /** Repository for OCI layouts whose ref.name annotation is only a tag (e.g. from skopeo). */
  repository?: string;
}

export interface LoadedImage {
  name?: string;
  id: string;
  manifestDigest: string;
}

const META_MAX = 16 << 20;
const BLOB_RE = /^blobs\/sha256\/([a-f0-9]{64})$/;
const ManifestJsonSchema = z.array(
  z.looseObject({
    Config: z.string().min(1),
    RepoTags: z.array(z.string()).nullish(),
    Layers: z.array(z.string()),
  }),
);

export async function loadArchive(images: Images, source: Readable, opts: LoadOptions = {}): Promise<LoadedImage[]> {
  return images.leases.with(async (lease) => {
    const cs = images.content;
    const files = new Map<string, string>(); // archive path → digest
    const aliases = new Map<string, string>(); // symlink/hardlink path → target path
    const meta = new Map<string, Buffer>();
    let n = 0;
    // Like `docker load`, accept the whole archive gzip- or zstd-compressed.
    const { head, stream } = await peek(source, 8);
    const compression = detectCompression(head);
    const plain = decompressor(compression);
    const feeding = pipeline(Readable.from(stream), plain).catch((e: Error) => {
      plain.destroy(
        invalidArgument(
          `archive: reading the ${compression === 'none' ? '' : `${compression} `}stream failed: ${e.message}`,
          { field: 'archive', cause: e },
        ),
      );
    });
    await readTar(plain, {
      entry: async (h: TarHeader): Promise<EntrySink | undefined> => {
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
        const path = posix
          .normalize(h.name)
          .replace(/^(\.\/)+/, '')
          .replace(/^\/+/, '')
          .replace(/\/$/, '');
        if (h.type === 'symlink') {
          aliases.set(path, posix.normalize(posix.join(posix.dirname(path), h.linkname)));
          return undefined;
        }
        if (h.type === 'link') {
          aliases.set(path, posix.normalize(h.linkname).replace(/^(\.\/)+/, ''));
          return undefined;
        }
        if (h.type !== 'file') return undefined;
        const isMeta = !BLOB_RE.test(path) && !path.endsWith('layer.tar') && h.size <= META_MAX;
        const m = BLOB_RE.exec(path);
        const chunks: Buffer[] = [];
        let writer: ContentWriter | undefined;
        const expected = m ? `sha256:${m[1]}` : undefined;
        if (!isMeta || (m && h.size > META_MAX)) {
          const ref = `load-${lease.id}-${n++}`;
          await images.leases.addResource(lease.id, { type: 'ingest', id: ref });
          try {
            writer = await cs.writer(ref, { expectedDigest: expected, expectedSize: h.size });
          } catch (e) {
            if (!isSkiffError(e, 'AlreadyExists')) throw e;
            files.set(path, expected!);
            await images.leases.addResource(lease.id, { type: 'content', id: expected! });
            return undefined; // already stored: skip the bytes
          }
        }
        return {
          write: async (d: Buffer) => {
            if (writer) await writer.write(d);
            else chunks.push(Buffer.from(d));
          },
          end: async () => {
            if (!writer) {
              meta.set(path, Buffer.concat(chunks));
              if (!m) return;
            }
            let digest: string;
            try {
              digest = writer
                ? await writer.commit({ expectedDigest: expected })
                : await cs.put(meta.get(path)!, { expectedDigest: expected });
            } catch (e) {
              if (isSkiffError(e, 'InvalidArgument'))
                throw invalidArgument(`archive entry ${JSON.stringify(h.name)}: ${(e as Error).message}`, {
                  field: h.name,
                  cause: e,
                });
              throw e;
            }
            await images.leases.addResource(lease.id, { type: 'content', id: digest });
            files.set(path, digest);
          },
        };
      },
    });
    await feeding;
    // A layer may be any file manifest.json names (skopeo's docker-archive writes `<hex>.tar` at
    // the top): one small enough to have been kept in memory is stored when it is asked for.
    const digestOf = async (p: string, what: string): Promise<string> => {
      let q = posix.normalize(p).replace(/^(\.\/)+/, '');
      for (let i = 0; i < 10 && aliases.has(q); i++) q = aliases.get(q)!;
      const d = files.get(q);
      if (d) return d;
      const kept = meta.get(q);
      if (kept) {
        const digest = await cs.put(kept);
        await images.leases.addResource(lease.id, { type: 'content', id: digest });
        files.set(q, digest);
        return digest;
      }
      throw invalidArgument(`archive: ${what} ${JSON.stringify(p)} is missing from the archive`, { field: p });
    };
    if (meta.has('manifest.json')) return loadDocker(images, meta, digestOf, lease.id);
    if (meta.has('index.json')) return loadOci(images, meta, lease.id, opts);
    throw invalidArgument('archive: neither manifest.json (docker save) nor index.json (OCI layout) found', {
      field: 'archive',
    });
  });
}

function json(meta: Map<string, Buffer>, path: string): unknown {
  try {
    return JSON.parse(meta.get(path)!.toString('utf8'));
  } catch (e) {
    throw invalidArgument(`archive: ${path} is not valid JSON (${(e as Error).message})`, { field: path });
  }
}

async function loadDocker(
  images: Images,
  meta: Map<string, Buffer>,
  digestOf: (p: string, w: string) => Promise<string>,
  leaseId: string,
): Promise<LoadedImage[]> {
  const entries = validate(ManifestJsonSchema, json(meta, 'manifest.json'), 'manifest.json');
  const plans: { configBytes: Buffer; layers: Descriptor[]; names: string[] }[] = [];
  for (const [i, e] of entries.entries()) {
    const cpath = posix.normalize(e.Config);
    const configBytes =
      meta.get(cpath) ?? (await images.content.readAll(await digestOf(cpath, `config of image ${i}`)));
    const config = JSON.parse(configBytes.toString('utf8')) as { rootfs?: { diff_ids?: string[] } };
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== e.Layers.length) {
      throw invalidArgument(
        `manifest.json[${i}]: ${e.Layers.length} layers but the config lists ${diffIds.length} diff ids`,
        { field: `manifest.json[${i}].Layers` },
      );
    }
    const layers: Descriptor[] = [];
    for (const [j, lp] of e.Layers.entries()) {
      const digest = await digestOf(lp, `layer ${j} of image ${i}`);
      const info = await images.content.info(digest);
      const head = await firstBytes(images, digest);
      const compression = detectCompression(head);
      const diffId = compression === 'none' ? digest : await uncompressedDigest(images, digest, compression);
      if (diffId !== diffIds[j]) {
        throw invalidArgument(
          `archive layer ${JSON.stringify(lp)} has diff id ${diffId}, but the image config says ${diffIds[j]}`,
          { field: lp, reason: 'DigestMismatch' },
        );
      }
      const mediaType =
        compression === 'gzip'
          ? MediaType.OciLayerGzip
          : compression === 'zstd'
            ? MediaType.OciLayerZstd
            : MediaType.OciLayer;
      layers.push({ mediaType, digest, size: info.size });
    }
    plans.push({ configBytes, layers, names: e.RepoTags ?? [] });
  }
  const out: LoadedImage[] = [];
  for (const p of plans) {
    const img = await images.storeImageRaw(p.configBytes, MediaType.OciConfig, p.layers, p.names, leaseId);
    out.push(
      ...(p.names.length ? p.names : [undefined]).map((name) => ({
        name,
        id: img.id,
        manifestDigest: img.manifestDesc.digest,
      })),
    );
  }
  return out;
}

async function loadOci(
  images: Images,
  meta: Map<string, Buffer>,
  _leaseId: string,
  opts: LoadOptions,
): Promise<LoadedImage[]> {
  if (meta.has('oci-layout')) {
    const layout = json(meta, 'oci-layout') as { imageLayoutVersion?: unknown };
    if (typeof layout.imageLayoutVersion !== 'string')
      throw invalidArgument('oci-layout: imageLayoutVersion missing', { field: 'oci-layout' });
  }
  const index = validate(OciIndexSchema, json(meta, 'index.json'), 'index.json');
  const out: LoadedImage[] = [];
  const todo: { desc: Descriptor; name?: string }[] = [];
  for (const d of index.manifests) {
    await checkComplete(images, d);
    const ann = d.annotations ?? {};
    let name: string | undefined = ann['io.containerd.image.name'];
    const refName = ann['org.opencontainers.image.ref.name'];
    if (!name && refName) {
      if (TAG_RE.test(refName) && !refName.includes(':'))
        name = opts.repository ? `${opts.repository}:${refName}` : undefined;
      else name = refName;
    }
    todo.push({
      desc: { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}) },
      name,
    });
  }
  for (const t of todo) {
    await images.store.put(t.name ?? t.desc.digest, t.desc);
    const id = await images.resolve(t.name ?? t.desc.digest).then(
      (r) => r.id,
      () => t.desc.digest,
    );
    out.push({ name: t.name, id, manifestDigest: t.desc.digest });
  }
  return out;
}

/** Every manifest reachable from `d` and every blob it names must be in the store. */
async function checkComplete(images: Images, d: Descriptor, depth = 0): Promise<void> {
  if (!(await images.content.has(d.digest)))
    throw invalidArgument(`archive: blob ${d.digest} (${d.mediaType}) is missing from the archive`, {
      field: d.digest,
    });
  if (depth > 4) return;
  const p = parseManifest(await images.content.readAll(d.digest), d.mediaType);
  if (p.kind === 'index') {
    for (const m of p.index.manifests) await checkComplete(images, m, depth + 1);
    return;
  }
  for (const b of [p.manifest.config, ...p.manifest.layers]) {
    if (!(await images.content.has(b.digest)))
      throw invalidArgument(
        `archive: blob ${b.digest} (${b.mediaType}) named by manifest ${d.digest} is missing from the archive`,
        { field: b.digest },
      );
  }
}

async function firstBytes(images: Images, digest: string): Promise<Buffer> {
  const r = await images.content.reader(digest, { offset: 0, length: 8 });
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function uncompressedDigest(images: Images, digest: string, compression: 'gzip' | 'zstd'): Promise<string> {
  const h = new DigestingStream({ highWaterMark: 1 << 20 });
  await pipeline(
    await images.content.reader(digest),
    decompressor(compression),
    h,
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );
  const d = h.digest();
  await images.content.updateLabels(digest, { 'containerd.io/uncompressed': d });
  return d;
}
