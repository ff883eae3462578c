// An image's `Size` as dockerd reports it: the unpacked size of its layers (what `du --apparent-size`
// of the layer diffs says: file and symlink sizes, directories and hard links not counted), not the compressed
// bytes in the content store. A layer's size is computed once by reading its blob through the
// decompressor and a tar parser, then kept as a label on the blob, so restarts do not repeat it.
import { tarContentSize } from '../tar-size.js';
import { detectCompression, decompressor, type ContentStore, type Descriptor } from '../../../image/index.js';

// v2: symlinks count (the label of an older engine, without them, is measured again).
export const UNPACKED_SIZE_LABEL = 'org.skiff.unpacked-size.v2';

const pending = new Map<string, Promise<number>>();

/** Unpacked size of one layer blob (cached on the blob as a label). */
export async function layerUnpackedSize(content: ContentStore, layer: Descriptor): Promise<number> {
  const info = await content.info(layer.digest);
  const known = Number(info.labels[UNPACKED_SIZE_LABEL]);
  if (info.labels[UNPACKED_SIZE_LABEL] !== undefined && Number.isFinite(known)) return known;
  let p = pending.get(layer.digest);
  if (!p) {
    p = measure(content, layer.digest)
      .then(async (n) => {
        // a cache of the measured size: without the label it is measured again next time
        await content.updateLabels(layer.digest, { [UNPACKED_SIZE_LABEL]: String(n) }).catch(() => undefined);
        return n;
      })
      .finally(() => pending.delete(layer.digest));
    pending.set(layer.digest, p);
  }
  return p;
}

async function measure(content: ContentStore, digest: string): Promise<number> {
  const head = await readHead(content, digest);
  const src = await content.reader(digest);
  const un = decompressor(detectCompression(head));
  return tarContentSize(src.pipe(un), [src]);
}

async function readHead(content: ContentStore, digest: string): Promise<Uint8Array> {
  const r = await content.reader(digest, { offset: 0, length: 8 });
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Sum of the layers' unpacked sizes; falls back to a layer's stored size when its blob is gone
 *  (an image whose layers were only ever unpacked elsewhere). */
export async function imageUnpackedSize(content: ContentStore, layers: readonly Descriptor[]): Promise<number> {
  let total = 0;
  for (const l of layers) total += await layerUnpackedSize(content, l).catch(() => l.size);
  return total;
}
