// Events expire `ttl` after their last write (kube-apiserver's --event-ttl, default one hour).
// Upstream attaches an etcd lease to every Event write; Skiff's stores have no leases (SQLite and
// memory least of all), so each API server reaps the Events it wrote: the store under the API
// server reports every Event write (observeEventWrites), and `ttl` later the reaper deletes that
// revision of the key. A newer write keeps the Event (its own expiry is queued); a delete of a
// revision that moved on, or of an Event already gone, is a no-op. Deletions are store deletes,
// as a lease's expiry is (no finalizers, no admission), and watchers see them as DELETED events.
//
// Events this server did not write (written before it started, or by another server of an HA
// pair that may have died since) are found by a list at start and again every `relist` period,
// and expire `ttl` after the last write time they record (managedFields, lastTimestamp, eventTime,
// series.lastObservedTime, creationTimestamp). No watch: following the Event prefix cost the
// scheduler benchmark on etcd a fifth of its throughput (every Event decoded once more by the API
// server, and sent once more by etcd).
import { isSkiffError, type Logger } from '../../common/index.js';
import type { KeyValue, Store } from '../storage/index.js';
import type { Registry } from './registry.js';

/** kube-apiserver's default --event-ttl. */
export const DEFAULT_EVENT_TTL_MS = 60 * 60 * 1000;

/** The store prefixes of the served Event kinds (core/v1; events.k8s.io/v1 shares its storage). */
export function eventPrefixes(registry: Registry): string[] {
  const prefixes = new Set<string>();
  for (const group of ['', 'events.k8s.io']) {
    const def = registry.preferred(group, 'events');
    if (def) prefixes.add(registry.prefix(def));
  }
  // (servers before events.k8s.io Events were stored as core ones kept them apart: those expire too)
  if (prefixes.size) prefixes.add('/registry/events.k8s.io/events/');
  return [...prefixes];
}

/** `store` with every create and update of a key under `prefixes` reported to `written`. */
export function observeEventWrites(store: Store, written: (kv: KeyValue) => void): Store {
  const report = (kv: KeyValue) => {
    if (kv.key.includes('/events/')) written(kv);
    return kv;
  };
  return {
    get: (k) => store.get(k),
    ...(store.getRecent ? { getRecent: (k: string) => store.getRecent!(k) } : {}),
    list: (p, o) => store.list(p, o),
    count: (p) => store.count(p),
    create: (k, v) => store.create(k, v).then(report),
    update: (k, v, r) => store.update(k, v, r).then(report),
    delete: (k, r) => store.delete(k, r),
    watch: (p, r, o) => store.watch(p, r, o),
    currentRevision: () => store.currentRevision(),
    compact: (r) => store.compact(r),
    close: () => store.close(),
  };
}

interface Due {
  /** now() at which the write `rev` of `key` expires */
  at: number;
  key: string;
  rev: number;
}

export interface EventReaperOptions {
  store: Store;
  /** The store prefixes Events live under. */
  prefixes: string[];
  ttlMs: number;
  log?: Logger;
  /** How often expired entries are looked for (default: min(ttl, 5 s)). */
  sweepMs?: number;
  /** How often the prefixes are listed for Events other servers wrote (default: ttl / 2, at
   *  least 1 s, at most 10 min). */
  relistMs?: number;
  /** Clocks (tests): a monotonic one in ms (default performance.now) and the wall clock (Date.now). */
  now?: () => number;
  wall?: () => number;
}

export class EventReaper {
  /** Expiries in the order they fall due (every write reported gets now + ttl, so appending keeps
   *  it sorted; a relist merges its own in); `head` is the first not yet handled. */
  private due: Due[] = [];
  private head = 0;
  /** The last revision known per Event key: an expiry of an older revision is stale. */
  private latest = new Map<string, number>();
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];
  private sweeping?: Promise<void>;
  private relisting?: Promise<void>;
  private readonly now: () => number;
  private readonly wall: () => number;

  constructor(private readonly opts: EventReaperOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.wall = opts.wall ?? Date.now;
  }

  /** Sweeps and relists periodically from now on; resolves once what is stored was listed (and
   *  what expired already deleted). A failed first list is tried again at the next relist. */
  async start(): Promise<void> {
    const ttl = this.opts.ttlMs;
    const sweep = setInterval(() => void this.sweep(), this.opts.sweepMs ?? Math.min(ttl, 5000));
    const relist = setInterval(
      () => void this.relist().catch((e) => this.opts.log?.warn('event expiry: list failed', { error: String(e) })),
      this.opts.relistMs ?? Math.min(Math.max(ttl / 2, 1000), 600_000),
    );
    this.timers = [sweep, relist];
    for (const t of this.timers) t.unref();
    await this.relist();
    await this.sweep();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled([this.sweeping, this.relisting]);
  }

  /** This server wrote `kv` (an Event): it expires ttl from now. */
  written(kv: KeyValue): void {
    if (this.stopped || !this.opts.prefixes.some((p) => kv.key.startsWith(p))) return;
    if ((this.latest.get(kv.key) ?? 0) >= kv.modRevision) return;
    this.latest.set(kv.key, kv.modRevision);
    this.due.push({ at: this.now() + this.opts.ttlMs, key: kv.key, rev: kv.modRevision });
  }

  /** The revision of `key` the reaper knows (tests, diagnostics). */
  seen(key: string): number | undefined {
    return this.latest.get(key);
  }

  /** Lists the prefixes: Events not known at their revision (other servers' writes) expire ttl
   *  after the write time they record. */
  relist(): Promise<void> {
    this.relisting ??= this.listAll().finally(() => {
      this.relisting = undefined;
    });
    return this.relisting;
  }

  private async listAll(): Promise<void> {
    const found: Due[] = [];
    for (const prefix of this.opts.prefixes) {
      const now = this.now();
      const wall = this.wall();
      let cont: string | undefined;
      let rev = 0;
      do {
        const page = await this.opts.store.list(prefix, { limit: 500, continue: cont, revision: rev || undefined });
        rev = page.revision;
        for (const kv of page.items) {
          if ((this.latest.get(kv.key) ?? 0) >= kv.modRevision) continue;
          this.latest.set(kv.key, kv.modRevision);
          // (a write time in the future, a client's clock, counts as now)
          const age = Math.max(0, wall - lastWriteTime(kv, wall));
          found.push({ at: now + this.opts.ttlMs - age, key: kv.key, rev: kv.modRevision });
        }
        cont = page.continue;
      } while (cont && !this.stopped);
    }
    if (found.length) {
      this.due = [...found, ...this.due.slice(this.head)].sort((a, b) => a.at - b.at);
      this.head = 0;
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
    while (this.head < this.due.length && this.due[this.head].at <= now && !this.stopped) {
      const d = this.due[this.head++];
      if (this.latest.get(d.key) !== d.rev) continue; // rewritten since
      try {
        await this.opts.store.delete(d.key, d.rev);
        this.latest.delete(d.key);
      } catch (e) {
        if (isSkiffError(e, 'Conflict')) continue; // rewritten meanwhile by someone else: a relist finds it
        if (isSkiffError(e, 'NotFound')) {
          this.latest.delete(d.key); // already gone (another server, a user)
          continue;
        }
        if (this.stopped) return;
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

/** A started reaper of the served Event kinds; none when ttlMs is 0. */
export function startEventReaper(
  registry: Registry,
  store: Store,
  ttlMs: number,
  log?: Logger,
): EventReaper | undefined {
  const prefixes = eventPrefixes(registry);
  if (ttlMs <= 0 || !prefixes.length) return undefined;
  const reaper = new EventReaper({ store, prefixes, ttlMs, log });
  // (not awaited: a store with many Events does not hold the API server's start)
  reaper
    .start()
    .catch((e) => log?.warn('event expiry: the first list failed; tried again later', { error: String(e) }));
  return reaper;
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
