// The last value the etcd store saw for each key (its own writes, its reads, its shared watches),
// bounded by count and bytes, least recently touched first out. It answers Store.getRecent: the
// base of an update without a quorum read before it (a PUT that names the resourceVersion it read
// finds exactly that revision here). A value here may be stale (another server wrote since): the
// write guarded by its modRevision then fails with Conflict, so staleness costs a retry, never a
// wrong write. A value only replaces an older one (replies and events may arrive out of order).
import type { KeyValue } from '../types.js';

export class RecentValues {
  private readonly map = new Map<string, KeyValue>();
  private bytes = 0;

  constructor(
    private readonly maxEntries = 20_000,
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  get(key: string): KeyValue | undefined {
    return this.map.get(key);
  }

  /** Remembers kv unless a newer revision of the key is already known. */
  put(kv: KeyValue): void {
    const old = this.map.get(kv.key);
    if (old) {
      if (old.modRevision > kv.modRevision) return;
      this.map.delete(kv.key);
      this.bytes -= old.value.byteLength;
    }
    this.map.set(kv.key, kv);
    this.bytes += kv.value.byteLength;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const first = this.map.keys().next();
      if (first.done) break;
      this.drop(first.value);
    }
  }

  /** The key was deleted (or found absent) at `revision`: forgets every older value. */
  forget(key: string, revision = Number.MAX_SAFE_INTEGER): void {
    const old = this.map.get(key);
    if (old && old.modRevision <= revision) this.drop(key);
  }

  get size(): number {
    return this.map.size;
  }

  private drop(key: string): void {
    const old = this.map.get(key);
    if (!old) return;
    this.map.delete(key);
    this.bytes -= old.value.byteLength;
  }
}
