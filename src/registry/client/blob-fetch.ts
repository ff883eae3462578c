// Downloading one blob into the ContentStore: skip if present, resume from the ingest's offset with
// a Range request, verify the digest on commit, retry with back-off on network/5xx failures.
import { invalidArgument, isSkiffError, unavailable } from '../../common/index.js';
import type { ContentStore, ContentWriter, Descriptor } from '../../image/index.js';
import { remoteError } from './errors.js';
import { shortId, sleep, type ClientOptions, type ProgressEvent } from './common.js';
import type { RegistryTransport } from './transport.js';
import { fastGet } from './fast-get.js';

const BATCH = 1 << 20;

async function openWriter(
  store: ContentStore,
  desc: Descriptor,
  signal?: AbortSignal,
): Promise<ContentWriter | undefined> {
  for (let i = 0; ; i++) {
    if (await store.has(desc.digest)) return undefined;
    try {
      return await store.writer(`pull-${desc.digest}`, { expectedDigest: desc.digest, expectedSize: desc.size });
    } catch (e) {
      if (isSkiffError(e, 'AlreadyExists')) return undefined;
      // Another pull is writing the same blob: wait for it to finish or give up its lock.
      if (!isSkiffError(e, 'Unavailable') || signal?.aborted || i > 3000) throw e;
      await sleep(100);
    }
  }
}

/** Releases a writer keeping its bytes for a resumed attempt (when the store supports it). */
async function release(w: ContentWriter): Promise<void> {
  const c = (w as ContentWriter & { close?: () => Promise<void> }).close;
  if (c) await c.call(w);
  else await w.abort();
}

export async function fetchBlob(
  t: RegistryTransport,
  path: string,
  desc: Descriptor,
  store: ContentStore,
  o: ClientOptions & { quiet?: boolean; labels?: Record<string, string> },
): Promise<'exists' | 'downloaded'> {
  const id = shortId(desc.digest);
  const emit = (e: Omit<ProgressEvent, 'id'>) => {
    if (!o.quiet) o.onProgress?.({ id, ...e });
  };
  const retries = o.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const w = await openWriter(store, desc, o.signal);
    if (!w) {
      if (o.labels)
        await store
          .setLabels(desc.digest, { ...(await store.info(desc.digest)).labels, ...o.labels })
          // labels are advisory (gc roots come from the image records); the blob is there
          .catch(() => undefined);
      return 'exists';
    }
    let offset = w.offset;
    try {
      if (offset < desc.size) {
        const blobPath = `/v2/${path}/blobs/${desc.digest}`;
        const scopes = [`repository:${path}:pull`];
        const range: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
        let lastEmit = 0;
        const progress = () => {
          const now = Date.now();
          if (now - lastEmit > 100) {
            lastEmit = now;
            emit({ status: 'Downloading', current: offset, total: desc.size });
          }
        };
        const plain = await t.plainTarget(blobPath, scopes, o.signal);
        let handled = false;
        if (plain) {
          const r = await fastGet(
            plain.url,
            { ...plain.headers, ...range },
            (status) => !(offset > 0 && status === 200),
            async (chunk) => {
              await w.write(chunk);
              offset += chunk.length;
              progress();
            },
            o.signal,
          );
          handled = r.handled;
        }
        if (
          !handled &&
          (await slowGet(t, blobPath, scopes, range, w, o.signal, (n) => {
            offset += n;
            progress();
          })) === 'restart'
        ) {
          // The server ignored Range: drop the partial ingest and start over.
          await w.abort();
          continue;
        }
        if (offset !== desc.size) throw unavailable(`connection closed after ${offset} of ${desc.size} bytes`);
        emit({ status: 'Downloading', current: offset, total: desc.size });
      }
      emit({ status: 'Verifying Checksum' });
      try {
        await w.commit({ expectedDigest: desc.digest, expectedSize: desc.size, labels: o.labels });
      } catch (e) {
        if (isSkiffError(e, 'AlreadyExists') || (await store.has(desc.digest))) return 'downloaded';
        throw invalidArgument(
          `blob ${desc.digest} from ${t.host}/${path} failed verification: ${(e as Error).message}`,
          { field: 'digest', reason: 'DIGEST_INVALID', cause: e },
        );
      }
      emit({ status: 'Download complete' });
      return 'downloaded';
    } catch (e) {
      const transient = !isSkiffError(e) || e.code === 'Unavailable';
      if (isSkiffError(e) && e.reason === 'DIGEST_INVALID') throw e;
      // the retry or the rethrow below reports the failure; an abort of a closed writer is moot
      await release(w).catch(() => w.abort().catch(() => undefined));
      if (!transient || o.signal?.aborted || attempt >= retries) throw e;
      emit({ status: 'Retrying', current: offset, total: desc.size });
      await sleep((o.backoffMs ?? 200) * 2 ** attempt);
    }
  }
}

/** The ordinary node:http path: TLS registries, redirects, auth renewals. `written(n)` follows each
 *  store write. 'restart' when the server ignored Range (a 200 for a resumed request). */
async function slowGet(
  t: RegistryTransport,
  blobPath: string,
  scopes: string[],
  range: Record<string, string>,
  w: ContentWriter,
  signal: AbortSignal | undefined,
  written: (n: number) => void,
): Promise<'done' | 'restart'> {
  const res = await t.call('GET', blobPath, { scopes, signal, headers: range });
  if (res.status !== 200 && res.status !== 206)
    throw await remoteError(res, `fetching blob ${blobPath.split('/').pop()}`);
  if (range.Range && res.status === 200) {
    res.drain();
    return 'restart';
  }
  // Chunks are gathered into one reused 1 MB buffer: fewer store writes, no per-batch allocation
  // (the writer has consumed a chunk once its write() resolves).
  const buf = Buffer.allocUnsafeSlow(BATCH);
  let fill = 0;
  const flush = async () => {
    if (!fill) return;
    const n = fill;
    fill = 0;
    await w.write(n === BATCH ? buf : buf.subarray(0, n));
    written(n);
  };
  try {
    for await (const chunk of res.stream as AsyncIterable<Buffer>) {
      for (let off = 0; off < chunk.length; ) {
        const n = chunk.copy(buf, fill, off, Math.min(chunk.length, off + BATCH - fill));
        fill += n;
        off += n;
        if (fill === BATCH) await flush();
      }
    }
  } finally {
    // Keep what arrived before a broken connection: the next attempt resumes after it.
    await flush();
  }
  return 'done';
}
