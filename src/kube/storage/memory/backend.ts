// The revision log in memory, for tests: the same semantics as SQLite (history, list at a past
// revision, watch from a revision, compaction), with plain arrays and maps.
import type { EventRow, LogBackend, NewRow, Row } from '../log/backend.js';

export class MemoryBackend implements LogBackend {
  private rows: Row[] = []; // ascending revision
  private byKey = new Map<string, Row[]>(); // each ascending revision
  private rev = 0;
  private compactRev = 0;

  currentRevision(): number {
    return this.rev;
  }
  compactRevision(): number {
    return this.compactRev;
  }

  latest(key: string): Row | undefined {
    const h = this.byKey.get(key);
    return h ? h[h.length - 1] : undefined;
  }

  private at(h: Row[], rev: number): Row | undefined {
    for (let i = h.length - 1; i >= 0; i--) if (h[i].rev <= rev) return h[i];
    return undefined;
  }

  private liveKeys(prefix: string, startKey: string, rev: number): Row[] {
    const out: Row[] = [];
    for (const [key, h] of this.byKey) {
      if (!key.startsWith(prefix) || key < startKey) continue;
      const r = this.at(h, rev);
      if (r && !r.deleted) out.push(r);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  listAt(prefix: string, startKey: string, rev: number, limit: number): Row[] {
    const rows = this.liveKeys(prefix, startKey, rev);
    return limit ? rows.slice(0, limit) : rows;
  }

  countAt(prefix: string, startKey: string, rev: number): number {
    return this.liveKeys(prefix, startKey, rev).length;
  }

  private indexAfter(rev: number): number {
    let lo = 0,
      hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid].rev <= rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private byRev(rev: number): Row | undefined {
    const i = this.indexAfter(rev) - 1;
    return i >= 0 && this.rows[i].rev === rev ? this.rows[i] : undefined;
  }

  eventsAfter(prefix: string, afterRev: number, limit: number): EventRow[] {
    const out: EventRow[] = [];
    for (let i = this.indexAfter(afterRev); i < this.rows.length && out.length < limit; i++) {
      const r = this.rows[i];
      if (!r.key.startsWith(prefix)) continue;
      out.push(r.prevRev ? { ...r, prev: this.byRev(r.prevRev) } : r);
    }
    return out;
  }

  append(n: NewRow): Row {
    const rev = ++this.rev;
    const row: Row = {
      rev,
      key: n.key,
      value: n.value,
      createRev: n.createRev || rev,
      prevRev: n.prevRev,
      deleted: n.deleted,
    };
    this.rows.push(row);
    let h = this.byKey.get(n.key);
    if (!h) this.byKey.set(n.key, (h = []));
    h.push(row);
    return row;
  }

  transaction<T>(fn: () => T): T {
    const mark = this.rev;
    try {
      return fn();
    } catch (e) {
      // Roll back whatever the failed transaction appended.
      while (this.rows.length && this.rows[this.rows.length - 1].rev > mark) {
        const r = this.rows.pop()!;
        const h = this.byKey.get(r.key)!;
        h.pop();
        if (h.length === 0) this.byKey.delete(r.key);
      }
      this.rev = mark;
      throw e;
    }
  }

  compact(rev: number): number {
    const drop = new Set<number>();
    for (const [key, h] of this.byKey) {
      let i = h.length - 1;
      while (i >= 0 && h[i].rev > rev) i--;
      if (i < 0) continue;
      // h[i] is the key's state at `rev`: drop everything older, and h[i] itself if a tombstone.
      const cut = h[i].deleted ? i + 1 : i;
      for (let j = 0; j < cut; j++) drop.add(h[j].rev);
      if (cut === h.length) this.byKey.delete(key);
      else if (cut > 0) this.byKey.set(key, h.slice(cut));
    }
    if (drop.size) this.rows = this.rows.filter((r) => !drop.has(r.rev));
    this.compactRev = rev;
    return drop.size;
  }

  close(): void {
    /* nothing held */
  }
}
