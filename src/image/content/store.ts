// The file-system ContentStore.
//   root/blobs/sha256/<hex>           committed blobs (read-only once committed)
//   root/labels/sha256/<hex>.json     labels, a JSON sidecar per blob
//   root/ingest/<sha256(ref)>/        staged writes: `data`, `ref`, `status.json`, `lock`
// Labels live in per-blob sidecars rather than SQLite: they are few and small, are read by GC in
// one pass, and a sidecar is replaced atomically by rename with no single-writer database shared
// between the engine and a registry that may use the same root.
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { alreadyExists, invalidArgument, notFound, unavailable } from '../../common/index.js';
import { Digester, parseDigest, sha256Digest } from '../digest.js';
import { KeyedMutex, readJsonFile, writeFileAtomic } from '../atomic-file.js';
import type { ContentInfo, ContentStore, ContentWriter, IngestStatus } from './types.js';

interface IngestMeta {
  ref: string;
  expectedDigest?: string;
  expectedSize?: number;
  startedAt: string;
}

const LABEL_KEY_RE = /^[A-Za-z0-9./_:@-]{1,1024}$/;

function checkLabels(labels: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY_RE.test(k))
      throw invalidArgument(`invalid label key ${JSON.stringify(k)}`, { field: `labels.${k}` });
    if (typeof v !== 'string' || v.length > 4096)
      throw invalidArgument(`label ${k}: value must be a string of at most 4096 characters`, { field: `labels.${k}` });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FsContentStore implements ContentStore {
  private readonly labelLock = new KeyedMutex();
  private readonly held = new Set<string>();

  constructor(readonly root: string) {}

  async init(): Promise<this> {
    for (const d of ['blobs/sha256', 'labels/sha256', 'ingest']) await mkdir(join(this.root, d), { recursive: true });
    return this;
  }

  path(digest: string): string {
    return join(this.root, 'blobs', 'sha256', this.hex(digest));
  }

  private hex(digest: string): string {
    const p = parseDigest(digest);
    if (p.algorithm !== 'sha256')
      throw invalidArgument(`unsupported digest algorithm ${p.algorithm}: the content store holds sha256 blobs`, {
        field: 'digest',
      });
    return p.hex;
  }

  private labelPath(digest: string): string {
    return join(this.root, 'labels', 'sha256', `${this.hex(digest)}.json`);
  }
  private ingestDir(ref: string): string {
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 4096)
      throw invalidArgument('ingest ref must be a non-empty string', { field: 'ref' });
    return join(this.root, 'ingest', createHash('sha256').update(ref).digest('hex'));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async info(digest: string): Promise<ContentInfo> {
    let st;
    try {
      st = await stat(this.path(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw notFound(`content ${digest} not found`, { field: 'digest' });
      throw e;
    }
    const labels = (await readJsonFile<Record<string, string>>(this.labelPath(digest))) ?? {};
    return { digest, size: st.size, createdAt: st.mtime, labels };
  }

  async reader(digest: string, opts: { offset?: number; length?: number } = {}): Promise<Readable> {
    const p = this.path(digest);
    const info = await this.info(digest);
    const start = opts.offset ?? 0;
    if (!Number.isInteger(start) || start < 0 || start > info.size)
      throw invalidArgument(`offset ${start} is outside blob ${digest} (size ${info.size})`, { field: 'offset' });
    if (opts.length !== undefined && (!Number.isInteger(opts.length) || opts.length < 0))
      throw invalidArgument(`length must be a non-negative integer, got ${opts.length}`, { field: 'length' });
    if (opts.length === 0 || start === info.size) return Readable.from([]);
    const end = opts.length === undefined ? undefined : Math.min(info.size, start + opts.length) - 1;
    return createReadStream(p, { start, end, highWaterMark: 1 << 20 });
  }

  async readAll(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw notFound(`content ${digest} not found`, { field: 'digest' });
      throw e;
    }
  }

  async put(
    data: Uint8Array,
    opts: { expectedDigest?: string; labels?: Record<string, string> } = {},
  ): Promise<string> {
    const digest = sha256Digest(data);
    if (opts.expectedDigest && opts.expectedDigest !== digest) {
      throw invalidArgument(`digest mismatch: content is ${digest}, expected ${opts.expectedDigest}`, {
        field: 'digest',
        reason: 'DigestMismatch',
      });
    }
    if (await this.has(digest)) {
      if (opts.labels) await this.updateLabels(digest, opts.labels);
      return digest;
    }
    let w: ContentWriter;
    try {
      w = await this.writer(`put-${digest}-${process.pid}-${Math.random().toString(36).slice(2)}`, {
        expectedDigest: digest,
        expectedSize: data.length,
      });
    } catch (e) {
      if ((e as { code?: string }).code !== 'AlreadyExists') throw e;
      if (opts.labels) await this.updateLabels(digest, opts.labels);
      return digest;
    }
    try {
      await w.write(data);
      return await w.commit({ labels: opts.labels });
    } catch (e) {
      // undoing a failed ingest: the commit's error (rethrown below) is the one to report
      await w.abort().catch(() => {});
      throw e;
    }
  }

  async writer(ref: string, opts: { expectedDigest?: string; expectedSize?: number } = {}): Promise<ContentWriter> {
    if (opts.expectedDigest) {
      this.hex(opts.expectedDigest);
      if (await this.has(opts.expectedDigest))
        throw alreadyExists(`content ${opts.expectedDigest} already exists`, { field: 'digest' });
    }
    if (opts.expectedSize !== undefined && (!Number.isInteger(opts.expectedSize) || opts.expectedSize < 0)) {
      throw invalidArgument(`expected size must be a non-negative integer, got ${opts.expectedSize}`, {
        field: 'size',
      });
    }
    const dir = this.ingestDir(ref);
    if (this.held.has(dir))
      throw unavailable(`ingest ${JSON.stringify(ref)} is locked by another writer`, {
        field: 'ref',
        reason: 'Locked',
      });
    await mkdir(dir, { recursive: true });
    await this.lock(dir, ref);
    this.held.add(dir);
    try {
      let meta = await readJsonFile<IngestMeta>(join(dir, 'status.json'));
      if (
        meta &&
        ((opts.expectedDigest && meta.expectedDigest && meta.expectedDigest !== opts.expectedDigest) ||
          (opts.expectedSize !== undefined &&
            meta.expectedSize !== undefined &&
            meta.expectedSize !== opts.expectedSize))
      ) {
        // A different blob under the same ref: start over.
        // may not exist yet: the new ingest writes it
        await unlink(join(dir, 'data')).catch(() => {});
        meta = undefined;
      }
      meta = {
        ref,
        startedAt: meta?.startedAt ?? new Date().toISOString(),
        expectedDigest: opts.expectedDigest ?? meta?.expectedDigest,
        expectedSize: opts.expectedSize ?? meta?.expectedSize,
      };
      await writeFileAtomic(join(dir, 'status.json'), JSON.stringify(meta));
      const fh = await open(join(dir, 'data'), 'a+', 0o644);
      // Resume: re-hash what is already staged so the final digest covers the whole blob.
      const digester = new Digester();
      const size = (await fh.stat()).size;
      if (size > 0) {
        const buf = Buffer.allocUnsafe(Math.min(size, 1 << 20));
        for (let pos = 0; pos < size; ) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
          if (bytesRead === 0) break;
          digester.update(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
      }
      return new FsWriter(this, ref, dir, fh, digester, meta, () => this.held.delete(dir));
    } catch (e) {
      this.held.delete(dir);
      // our lock file may not have been made: nothing to remove
      await unlink(join(dir, 'lock')).catch(() => {});
      throw e;
    }
  }

  /** Cross-process lock: a `lock` file holding our pid; a dead holder's lock is taken over. */
  private async lock(dir: string, ref: string): Promise<void> {
    const lockPath = join(dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(lockPath, String(process.pid), { flag: 'wx' });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = Number(await readFile(lockPath, 'utf8').catch(() => '0'));
        if (holder && holder !== process.pid && pidAlive(holder)) break;
        // another process may have taken over the stale lock first
        await unlink(lockPath).catch(() => {});
      }
    }
    throw unavailable(`ingest ${JSON.stringify(ref)} is locked by another writer`, { field: 'ref', reason: 'Locked' });
  }

  /** Moves a verified staged file into place (called by the writer). */
  async commitFile(dir: string, digest: string, labels?: Record<string, string>): Promise<void> {
    const target = this.path(digest);
    if (labels && Object.keys(labels).length) await this.updateLabels(digest, labels, true);
    // Another writer may have committed the same blob meanwhile: the bytes are identical (same
    // verified digest), so the rename below simply replaces it atomically.
    await rename(join(dir, 'data'), target);
    await rm(dir, { recursive: true, force: true });
  }

  async ingests(): Promise<IngestStatus[]> {
    const out: IngestStatus[] = [];
    let names: string[];
    try {
      names = await readdir(join(this.root, 'ingest'));
    } catch {
      return out;
    }
    for (const n of names) {
      const st = await this.statIngestDir(join(this.root, 'ingest', n));
      if (st) out.push(st);
    }
    return out;
  }

  private async statIngestDir(dir: string): Promise<IngestStatus | undefined> {
    // an ingest being created or aborted right now has no status yet: not listed
    const meta = await readJsonFile<IngestMeta>(join(dir, 'status.json')).catch(() => undefined);
    if (!meta) return undefined;
    // (the same for its data file: created after the status)
    const st = await stat(join(dir, 'data')).catch(() => undefined);
    return {
      ref: meta.ref,
      offset: st?.size ?? 0,
      expectedDigest: meta.expectedDigest,
      expectedSize: meta.expectedSize,
      updatedAt: st?.mtime ?? new Date(meta.startedAt),
    };
  }

  async status(ref: string): Promise<IngestStatus> {
    const st = await this.statIngestDir(this.ingestDir(ref));
    if (!st) throw notFound(`no ingest ${JSON.stringify(ref)}`, { field: 'ref' });
    return st;
  }

  async abortIngest(ref: string): Promise<void> {
    const dir = this.ingestDir(ref);
    if (this.held.has(dir))
      throw unavailable(`ingest ${JSON.stringify(ref)} is being written`, { field: 'ref', reason: 'Locked' });
    const holder = Number(await readFile(join(dir, 'lock'), 'utf8').catch(() => '0'));
    if (holder && holder !== process.pid && pidAlive(holder))
      throw unavailable(`ingest ${JSON.stringify(ref)} is being written by process ${holder}`, {
        field: 'ref',
        reason: 'Locked',
      });
    await rm(dir, { recursive: true, force: true });
  }

  async setLabels(digest: string, labels: Record<string, string>): Promise<void> {
    checkLabels(labels);
    await this.info(digest);
    await this.labelLock.run(digest, () => writeFileAtomic(this.labelPath(digest), JSON.stringify(labels)));
  }

  async updateLabels(
    digest: string,
    patch: Record<string, string>,
    allowMissing = false,
  ): Promise<Record<string, string>> {
    checkLabels(patch);
    if (!allowMissing) await this.info(digest);
    return this.labelLock.run(digest, async () => {
      const cur = (await readJsonFile<Record<string, string>>(this.labelPath(digest))) ?? {};
      for (const [k, v] of Object.entries(patch)) {
        if (v === '') delete cur[k];
        else cur[k] = v;
      }
      await writeFileAtomic(this.labelPath(digest), JSON.stringify(cur));
      return cur;
    });
  }

  async delete(digest: string): Promise<void> {
    try {
      await unlink(this.path(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw notFound(`content ${digest} not found`, { field: 'digest' });
      throw e;
    }
    // a blob without labels has no label file
    await unlink(this.labelPath(digest)).catch(() => {});
  }

  async *list(): AsyncIterable<ContentInfo> {
    let names: string[];
    try {
      names = await readdir(join(this.root, 'blobs', 'sha256'));
    } catch {
      return;
    }
    for (const n of names) {
      if (!/^[a-f0-9]{64}$/.test(n)) continue;
      try {
        yield await this.info(`sha256:${n}`);
      } catch {
        /* deleted meanwhile */
      }
    }
  }
}

class FsWriter implements ContentWriter {
  private closed = false;
  constructor(
    private readonly store: FsContentStore,
    readonly ref: string,
    private readonly dir: string,
    private readonly fh: FileHandle,
    private readonly digester: Digester,
    private readonly meta: IngestMeta,
    private readonly release: () => void,
  ) {}

  get offset(): number {
    return this.digester.size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.closed) throw invalidArgument(`ingest ${this.ref} is closed`, { field: 'ref' });
    if (this.meta.expectedSize !== undefined && this.digester.size + chunk.length > this.meta.expectedSize) {
      throw invalidArgument(`ingest ${this.ref}: more data than the expected size ${this.meta.expectedSize}`, {
        field: 'size',
        reason: 'SizeMismatch',
      });
    }
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
    this.digester.update(chunk);
  }

  async commit(
    opts: { expectedDigest?: string; expectedSize?: number; labels?: Record<string, string> } = {},
  ): Promise<string> {
    if (this.closed) throw invalidArgument(`ingest ${this.ref} is closed`, { field: 'ref' });
    const wantSize = opts.expectedSize ?? this.meta.expectedSize;
    const wantDigest = opts.expectedDigest ?? this.meta.expectedDigest;
    const size = this.digester.size;
    const digest = this.digester.digest();
    this.closed = true;
    try {
      await this.fh.sync();
      await this.fh.close();
      if (wantSize !== undefined && size !== wantSize) {
        throw invalidArgument(`ingest ${this.ref}: size mismatch: got ${size} bytes, expected ${wantSize}`, {
          field: 'size',
          reason: 'SizeMismatch',
        });
      }
      if (wantDigest !== undefined && digest !== wantDigest) {
        throw invalidArgument(`ingest ${this.ref}: digest mismatch: content is ${digest}, expected ${wantDigest}`, {
          field: 'digest',
          reason: 'DigestMismatch',
        });
      }
      await this.store.commitFile(this.dir, digest, opts.labels);
      return digest;
    } catch (e) {
      // A failed verification loses the staged bytes: they can never become the wanted blob.
      // the staged bytes are useless now; the verification error (rethrown) is the one to report
      await rm(this.dir, { recursive: true, force: true }).catch(() => {});
      throw e;
    } finally {
      this.release();
    }
  }

  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      // aborting: a close error changes nothing (the ingest is discarded)
      await this.fh.close().catch(() => {});
    }
    this.release();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Releases the writer but keeps the staged bytes so a later `writer(ref)` resumes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // closing an unfinished ingest: durability of bytes to be resumed is best effort
    await this.fh.sync().catch(() => {});
    await this.fh.close();
    // the lock file may be gone already (a stale-lock takeover removed it)
    await unlink(join(this.dir, 'lock')).catch(() => {});
    this.release();
  }
}

/** Opens (creating if needed) a file-system content store at `root`. */
export async function createContentStore(root: string): Promise<ContentStore> {
  return new FsContentStore(root).init();
}
