// The synchronous revision log under the memory and SQLite stores (kine's model): every write
// appends one row; the row's revision is the cluster-wide revision. A row is a put (a value) or
// a tombstone (deleted; it keeps the last value so a DELETE event can carry the final object).
// One process owns a log (a single writer), so a check-then-append inside `transaction` is atomic
// and events can be fanned out in-process right after commit, with no polling.

export interface Row {
  rev: number;
  key: string;
  value: Uint8Array;
  /** Revision that created this generation of the key (equals rev for a create). */
  createRev: number;
  /** Revision of the previous row of the same generation (0 for a create). */
  prevRev: number;
  deleted: boolean;
}

/** A row as a watch event needs it: with the previous row of the key, when there is one. */
export interface EventRow extends Row {
  prev?: Row;
}

export interface NewRow {
  key: string;
  value: Uint8Array;
  createRev: number; // 0 = this row creates the key (its own revision)
  prevRev: number;
  deleted: boolean;
}

export interface LogBackend {
  currentRevision(): number;
  compactRevision(): number;
  /** The newest row of key (possibly a tombstone), or undefined. */
  latest(key: string): Row | undefined;
  /** Live rows under prefix as of `rev`, keys ascending, keys >= startKey, at most `limit` (0 = all). */
  listAt(prefix: string, startKey: string, rev: number, limit: number): Row[];
  /** Number of live keys under prefix as of `rev` with key >= startKey. */
  countAt(prefix: string, startKey: string, rev: number): number;
  /** Rows under prefix with revision > afterRev, ascending, at most `limit`. */
  eventsAfter(prefix: string, afterRev: number, limit: number): EventRow[];
  /** Appends a row and returns it with its revision. Only inside `transaction`. */
  append(row: NewRow): Row;
  /** Runs fn atomically: all appends in it commit together or not at all. */
  transaction<T>(fn: () => T): T;
  /** Durable backends: resolves once every committed transaction is on stable storage (an fsync,
   *  off the event loop). The store acknowledges writes only after it. Absent: commit is enough. */
  sync?(): Promise<void>;
  /** Drops history superseded at or before rev; records rev as the compact revision. Returns rows removed. */
  compact(rev: number): number;
  close(): void | Promise<void>;
}
