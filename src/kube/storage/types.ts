// Store: the revisioned key-value store under the API server (etcd's data model). Keys are
// strings such as `/registry/pods/default/nginx`; values are opaque bytes (JSON of the object
// without resourceVersion, which the API server sets from `revision`). Every write bumps one
// cluster-wide revision; a watch replays events after a given revision.

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the last write to this key (the object's resourceVersion). */
  modRevision: number;
  createRevision: number;
}

export interface ListOptions {
  /** Max items; the result carries a continue token when more remain. */
  limit?: number;
  /** Opaque token from a previous page. */
  continue?: string;
  /** Read at this revision (0/undefined = latest). Compacted → Compacted error. */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** Revision the list was read at. */
  revision: number;
  continue?: string;
  /** Items remaining after this page, when known. */
  remaining?: number;
}

export type WatchEvent =
  | { type: 'PUT'; kv: KeyValue; prev?: KeyValue }
  | { type: 'DELETE'; kv: KeyValue; prev?: KeyValue } // kv.modRevision = the delete's revision; kv.value = the last value
  | { type: 'PROGRESS'; revision: number }; // bookmark: nothing up to `revision` was missed

export interface Watch extends AsyncIterable<WatchEvent> {
  close(): void;
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  /** A value of key that may be stale, cheaper than get (etcd: the last value this store wrote, read
   *  or watched for it, else a serializable read, never a quorum read), as the base of a write
   *  guarded by its modRevision: when it is stale that write fails with Conflict, so it never
   *  succeeds on the wrong base. undefined: absent as far as the store knows. Stores whose get is
   *  already local (SQLite, memory) leave it out. */
  getRecent?(key: string): Promise<KeyValue | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  count(prefix: string): Promise<number>;
  /** Fails with AlreadyExists (KeyExists) when the key is present. Returns the new revision. */
  create(key: string, value: Uint8Array): Promise<KeyValue>;
  /** Fails with Conflict unless the key's modRevision equals expectedRevision (0 = any). */
  update(key: string, value: Uint8Array, expectedRevision: number): Promise<KeyValue>;
  /** Fails with Conflict on a revision mismatch (0 = any), NotFound when absent. Returns the deleted kv
   *  (its last value and createRevision, modRevision = the delete's revision, as in the DELETE event). */
  delete(key: string, expectedRevision: number): Promise<KeyValue>;
  /** Events for keys under prefix with revision > fromRevision (0 = from now). Compacted → Compacted error.
   *  Errors (Compacted, bad arguments, a lost backend) are delivered through iteration: `next()` rejects,
   *  never `watch()` itself. Iteration ends (done) after close(), abort, or store close — and, on etcd,
   *  when the consumer falls more than watchBufferLimit events behind (re-watch from the last
   *  revision seen, as after a timeout; SQLite/memory re-read their log instead). Events in
   *  revision order, no gaps, no duplicates; PROGRESS events only with progressNotify.
   *  One event object is shared by all watchers that receive it: read-only (memoize per event). */
  watch(prefix: string, fromRevision: number, opts?: { signal?: AbortSignal; progressNotify?: boolean }): Watch;
  currentRevision(): Promise<number>;
  /** Drops history before revision; later list/watch at older revisions fail with Compacted.
   *  A revision at or below the current compact revision is a no-op; above the current revision → FutureRevision. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
