// ContentStore: sha256-addressed blobs (layers, manifests, configs). Writes are verified and atomic:
// an ingest is staged under its ref and becomes visible only when its digest checks out.
import type { Readable } from 'node:stream';

export interface ContentInfo {
  digest: string; // "sha256:…"
  size: number;
  createdAt: Date;
  labels: Record<string, string>;
}

export interface IngestStatus {
  ref: string;
  /** When the ingest was last written to. */
  updatedAt?: Date;
  offset: number; // bytes already written (resume from here)
  expectedSize?: number;
  expectedDigest?: string;
}

export interface ContentWriter {
  readonly ref: string;
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Verifies size/digest, then makes the blob visible atomically; returns its digest. Committing
   *  a blob that another writer committed meanwhile succeeds (same verified bytes). A failed
   *  verification drops the staged bytes. */
  commit(opts?: { expectedDigest?: string; expectedSize?: number; labels?: Record<string, string> }): Promise<string>;
  /** Drops the partial ingest. */
  abort(): Promise<void>;
  /** (Skiff addition) Releases the writer, keeping the staged bytes: a later `writer(ref)` resumes at `offset`. */
  close(): Promise<void>;
}

export interface ContentStore {
  info(digest: string): Promise<ContentInfo>; // NotFound if absent
  has(digest: string): Promise<boolean>;
  /** A stream of the blob, optionally from a byte offset. */
  reader(digest: string, opts?: { offset?: number; length?: number }): Promise<Readable>;
  readAll(digest: string): Promise<Buffer>;
  /** Opens (or resumes) an ingest identified by `ref`. */
  writer(ref: string, opts?: { expectedDigest?: string; expectedSize?: number }): Promise<ContentWriter>;
  /** Convenience: writes a whole buffer, returning its digest. */
  put(data: Uint8Array, opts?: { expectedDigest?: string; labels?: Record<string, string> }): Promise<string>;
  ingests(): Promise<IngestStatus[]>;
  setLabels(digest: string, labels: Record<string, string>): Promise<void>;
  delete(digest: string): Promise<void>;
  list(): AsyncIterable<ContentInfo>;
  /** Absolute path of a committed blob (for zero-copy serving). */
  path(digest: string): string;
  // --- additions (Skiff) ---
  /** The store's root directory. */
  readonly root: string;
  /** Merges labels into a blob's labels; a value of '' removes that key. */
  updateLabels(digest: string, patch: Record<string, string>): Promise<Record<string, string>>;
  /** Status of one ingest; NotFound if there is none under `ref`. */
  status(ref: string): Promise<IngestStatus>;
  /** Drops an ingest that no writer holds (GC, cancelled transfers). */
  abortIngest(ref: string): Promise<void>;
}
