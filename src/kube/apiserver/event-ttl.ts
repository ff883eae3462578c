// Events expire `ttl` after their last write (kube-apiserver's --event-ttl, default one hour).
// Upstream attaches an etcd lease to every Event write; Skiff's stores have no leases (SQLite and
// memory least of all), so each API server runs this reaper instead: it follows the Event prefixes
// of the store and deletes an Event `ttl` after the last write it saw, guarded by that write's
// revision. A newer write keeps the Event (its own expiry is queued); another server's reaper
// deleting it first makes the delete a no-op. Deletions are store deletes, as a lease's expiry is
// (no finalizers, no admission), and watchers see them as DELETED events.
//
// Events already stored when the reaper starts expire `ttl` after the last write time they record
// (managedFields, lastTimestamp, eventTime, series.lastObservedTime, creationTimestamp), so a server
// that was down for hours reaps at start what expired meanwhile.
import { isSkiffError, type Logger } from '../../common/index.js';
import { isCompacted, type KeyValue, type Store } from '../storage/index.js';
import type { Registry } from './registry.js';

/** kube-apiserver's default --event-ttl. */
export const DEFAULT_EVENT_TTL_MS = 60 * 60 * 1000;

/** A started reaper of the served Event kinds (core/v1, events.k8s.io/v1); none when ttlMs is 0. */
export async function startEventReaper(
  registry: Registry,
  store: Store,
  ttlMs: number,
  log?: Logger,
): Promise<EventReaper | undefined> {
  if (ttlMs <= 0) return undefined;
  const prefixes = new Set<string>();
  for (const group of ['', 'events.k8s.io']) {
    const def = registry.preferred(group, 'events');
    if (def) prefixes.add(registry.prefix(def));
  }
  // (servers before events.k8s.io Events were stored as core ones kept them apart: those expire too)
  if (prefixes.size) prefixes.add('/registry/events.k8s.io/events/');
  if (!prefixes.size) return undefined;
  const reaper = new EventReaper({ store, prefixes: [...prefixes], ttlMs, log });
  await reaper.start();
  return reaper;
}

interface Due {
  /** performance.now() at which the write `rev` of `key` expires */
  at: number;
  key: string;
  rev: number;
}

export interface EventReaperOptions {
  store: Store;
  /** The store prefixes Events live under (core/v1 and events.k8s.io/v1 may share one). */
  prefixes: string[];
  ttlMs: number;
  log?: Logger;
  /** How often expired entries are looked for (default: min(ttl, 5 s)). */
  sweepMs?: number;
  /** Clocks (tests): a monotonic one in ms (default performance.now) and the wall clock (Date.now). */
  now?: () => number;
  wall?: () => number;
}

export class EventReaper {
  /** Expiries in the order they fall due: every write seen gets now + ttl, so appending keeps it
   *  sorted; `head` is the first not yet handled. */
  private due: Due[] = [];
  private head = 0;
  /** The last revision seen per Event key: an expiry of an older revision is stale. */
  private latest = new Map<string, number>();
  private readonly ac = new AbortController();
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private following: Promise<void>[] = [];

  private readonly now: () => number;
  private readonly wall: () => number;

  constructor(private readonly opts: EventReaperOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.wall = opts.wall ?? Date.now;
  }

  /** Lists what is stored (expiries from the recorded write times), then follows the prefixes. */
  async start(): Promise<void> {
    const listed: Due[] = [];
    const from: number[] = [];
    for (const prefix of this.opts.prefixes) from.push(await this.list(prefix, listed));
    listed.sort((a, b) => a.at - b.at);
    this.due = listed;
    this.following = this.opts.prefixes.map((p, i) => this.follow(p, from[i]));
    const every = this.opts.sweepMs ?? Math.min(this.opts.ttlMs, 5000);
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
    await this.sweep();
  }

  async stop(): Promise<void> {
    this.ac.abort();
    clearInterval(this.timer);
    await this.sweeping;
    await Promise.allSettled(this.following);
  }

  /** The revision of `key` the reaper last saw (tests, diagnostics). */
  seen(key: string): number | undefined {
    return this.latest.get(key);
  }

  private async list(prefix: string, out: Due[]): Promise<number> {
    const now = this.now();
    const wall = this.wall();
    let cont: string | undefined;
    let rev = 0;
    do {
      const page = await this.opts.store.list(prefix, { limit: 500, continue: cont, revision: rev || undefined });
      rev = page.revision;
      for (const kv of page.items) {
        this.latest.set(kv.key, kv.modRevision);
        // (a write time in the future, a client's clock, counts as now)
        const age = Math.max(0, wall - lastWriteTime(kv, wall));
        out.push({ at: now + this.opts.ttlMs - age, key: kv.key, rev: kv.modRevision });
      }
      cont = page.continue;
    } while (cont && !this.ac.signal.aborted);
    return rev;
  }

  /** Follows one prefix from `rev`; a watch that ends is resumed from the last revision seen, a
   *  compacted one starts over from a list. */
  private async follow(prefix: string, rev: number): Promise<void> {
    const signal = this.ac.signal;
    while (!signal.aborted) {
      try {
        for await (const ev of this.opts.store.watch(prefix, rev, { signal })) {
          if (ev.type === 'PROGRESS') continue;
          rev = ev.kv.modRevision;
          if (ev.type === 'DELETE') this.latest.delete(ev.kv.key);
          else {
            this.latest.set(ev.kv.key, rev);
            this.due.push({ at: this.now() + this.opts.ttlMs, key: ev.kv.key, rev });
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        if (isCompacted(e)) {
          const listed: Due[] = [];
          rev = await this.list(prefix, listed).catch(() => rev);
          this.due = [...listed, ...this.due.slice(this.head)].sort((a, b) => a.at - b.at);
          this.head = 0;
          continue;
        }
        this.opts.log?.warn('event expiry: watch failed, retrying', { prefix, error: String(e) });
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  /** Deletes what expired by now (the timer calls it; so may a test). */
  sweep(): Promise<void> {
    this.sweeping ??= this.expire().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async expire(): Promise<void> {
    const now = this.now();
    while (this.head < this.due.length && this.due[this.head].at <= now && !this.ac.signal.aborted) {
      const d = this.due[this.head++];
      if (this.latest.get(d.key) !== d.rev) continue; // rewritten since, or gone
      try {
        await this.opts.store.delete(d.key, d.rev);
      } catch (e) {
        // rewritten meanwhile (its new write is queued) or already deleted (another server)
        if (isSkiffError(e, 'Conflict') || isSkiffError(e, 'NotFound')) continue;
        if (this.ac.signal.aborted) return;
        this.opts.log?.warn('event expiry: delete failed; tried again at the next sweep', {
          key: d.key,
          error: String(e),
        });
        this.head--;
        break;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.due.length) {
      this.due = this.due.slice(this.head);
      this.head = 0;
    }
  }
}

/** The latest write time an Event records (ms since the epoch); `fallback` when none parses. */
export function lastWriteTime(kv: KeyValue, fallback: number): number {
  let o: Record<string, any>;
  try {
    o = JSON.parse(Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString('utf8'));
  } catch {
    return fallback;
  }
  const times: unknown[] = [
    o.metadata?.creationTimestamp,
    o.lastTimestamp,
    o.firstTimestamp,
    o.eventTime,
    o.series?.lastObservedTime,
    o.deprecatedLastTimestamp,
    ...(Array.isArray(o.metadata?.managedFields)
      ? o.metadata.managedFields.map((m: { time?: unknown }) => m?.time)
      : []),
  ];
  let best = Number.NaN;
  for (const t of times) {
    const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN;
    if (!Number.isNaN(ms) && !(ms <= best)) best = ms;
  }
  return Number.isNaN(best) ? fallback : best;
}
