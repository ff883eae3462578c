// Downloading one blob into the ContentStore: skip if present, resume from the ingest's offset with
// a Range request, verify the digest on commit, retry with back-off on network/5xx failures.
import { invalidArgument, isSkiffError } from '../../common/index.js';
import type { ContentStore, ContentWriter, Descriptor } from '../../image/index.js';
import { remoteError } from './errors.js';
import { shortId, sleep, type ClientOptions, type ProgressEvent } from './common.js';
import type { RegistryTransport } from './transport.js';

const BATCH = 1 << 20;

async function openWriter(store: ContentStore, desc: Descriptor, signal?: AbortSignal): Promise<ContentWriter | undefined> {
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
  if (c) await c.call(w); else await w.abort();
}

export async function fetchBlob(t: RegistryTransport, path: string, desc: Descriptor, store: ContentStore, o: ClientOptions & { quiet?: boolean; labels?: Record<string, string> }): Promise<'exists' | 'downloaded'> {
  const id = shortId(desc.digest);
  const emit = (e: Omit<ProgressEvent, 'id'>) => { if (!o.quiet) o.onProgress?.({ id, ...e }); };
  const retries = o.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const w = await openWriter(store, desc, o.signal);
    if (!w) { if (o.labels) await store.setLabels(desc.digest, { ...(await store.info(desc.digest)).labels, ...o.labels }).catch(() => undefined); return 'exists'; }
    let offset = w.offset;
    try {
      if (offset < desc.size) {
        const res = await t.call('GET', `/v2/${path}/blobs/${desc.digest}`, {
          scopes: [`repository:${path}:pull`], signal: o.signal, headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
        });
        if (res.status !== 200 && res.status !== 206) throw await remoteError(res, `fetching blob ${desc.digest}`);
        if (offset > 0 && res.status === 200) {
          // The server ignored Range: start over.
          res.drain(); await w.abort(); continue;
        }
        let pending: Buffer[] = []; let pendingBytes = 0; let lastEmit = 0;
        const flush = async () => {
          if (!pendingBytes) return;
          const buf = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
          const n = pendingBytes;
          pending = []; pendingBytes = 0;
          await w.write(buf);
          offset += n;
        };
        try {
          for await (const chunk of res.stream as AsyncIterable<Buffer>) {
            pending.push(chunk); pendingBytes += chunk.length;
            if (pendingBytes >= BATCH) {
              await flush();
              const now = Date.now();
              if (now - lastEmit > 100) { lastEmit = now; emit({ status: 'Downloading', current: offset, total: desc.size }); }
            }
          }
        } finally {
          // Keep what arrived before a broken connection: the next attempt resumes after it.
          await flush();
        }
        if (!res.stream.complete) throw new Error(`connection closed after ${offset} of ${desc.size} bytes`);
        emit({ status: 'Downloading', current: offset, total: desc.size });
      }
      emit({ status: 'Verifying Checksum' });
      try { await w.commit({ expectedDigest: desc.digest, expectedSize: desc.size, labels: o.labels }); } catch (e) {
        if (isSkiffError(e, 'AlreadyExists') || (await store.has(desc.digest))) return 'downloaded';
        throw invalidArgument(`blob ${desc.digest} from ${t.host}/${path} failed verification: ${(e as Error).message}`, { field: 'digest', reason: 'DIGEST_INVALID', cause: e });
      }
      emit({ status: 'Download complete' });
      return 'downloaded';
    } catch (e) {
      const transient = !isSkiffError(e) || e.code === 'Unavailable';
      if (isSkiffError(e) && e.reason === 'DIGEST_INVALID') throw e;
      await release(w).catch(() => w.abort().catch(() => undefined));
      if (!transient || o.signal?.aborted || attempt >= retries) throw e;
      emit({ status: 'Retrying', current: offset, total: desc.size });
      await sleep((o.backoffMs ?? 200) * 2 ** attempt);
    }
  }
}
