// Events (core/v1), as client-go's recorder writes them, so `kubectl describe` and `kubectl get
// events` show what a controller did: one Event per (object, type, reason, message), repeated
// occurrences within ten minutes raise its count and lastTimestamp instead of adding objects, and
// each (source, object) may send 25 events at once, then one per five minutes (client-go's spam
// filter), so an object that fails every sync cannot flood the API. As client-go's aggregator, the
// tenth distinct message of one (source, object, type, reason) within ten minutes and every one
// after it go into a single Event "(combined from similar events): <latest message>" whose count
// rises (a Deployment's eleventh ScalingReplicaSet does not add an Event). Writes are serialised and
// best-effort: a lost event never fails a sync. As client-go's sink, a write that failed without
// an answer from the API (a timeout, a reset connection, an unavailable store) is tried again a
// few times; each attempt has a deadline, so one request that is never answered cannot hold the
// writes queued behind it.
import { isSkiffError, sleep, type Logger } from '../../../common/index.js';
import type { KubeClient } from '../../client/index.js';
import type { ObjectRefLike } from './types.js';

const WINDOW_MS = 10 * 60_000;
/** client-go's defaultAggregateMaxEvents: distinct messages before similar events are combined. */
const AGGREGATE_MAX = 10;
const COMBINED = '(combined from similar events): ';
const SWEEP_MS = 10_000;
/** An entry still inside the dedupe window, else undefined (as if swept). */
const fresh = <T extends { at: number }>(e: T | undefined, now: number): T | undefined =>
  e && now - e.at <= WINDOW_MS ? e : undefined;
const MAX_PENDING = 1000;
const SPAM_BURST = 25;
const SPAM_REFILL_MS = 5 * 60_000;
/** Deadline of one write, and the pauses before the retries of a write that got no answer. */
const WRITE_TIMEOUT_MS = 10_000;
const RETRY_PAUSES_MS = [500, 1000, 2000, 4000];

/** Worth another try: no answer came (timeout, transport error) or the API said it is unavailable. */
const transient = (e: unknown) => !isSkiffError(e) || e.code === 'Unavailable' || e.code === 'Internal';

interface Seen {
  name: string;
  namespace: string;
  count: number;
  at: number;
  message: string;
}

export interface EventSink {
  event(obj: ObjectRefLike, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class EventRecorder {
  private seen = new Map<string, Seen>();
  private spam = new Map<string, { tokens: number; at: number }>();
  /** Per (source, object, type, reason): the distinct messages seen lately (client-go's
   *  aggregateRecord). */
  private similar = new Map<string, { messages: Set<string>; at: number }>();
  private swept = Number.NEGATIVE_INFINITY;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private readonly stopped = new AbortController();

  private readonly writeTimeoutMs: number;
  private readonly retryPausesMs: readonly number[];

  constructor(
    private client: KubeClient,
    private log: Logger,
    private now: () => number = Date.now,
    /** Per-write deadline and pauses before retries (tests shorten them). */
    timing: { writeTimeoutMs?: number; retryPausesMs?: number[] } = {},
  ) {
    this.writeTimeoutMs = timing.writeTimeoutMs ?? WRITE_TIMEOUT_MS;
    this.retryPausesMs = timing.retryPausesMs ?? RETRY_PAUSES_MS;
  }

  /** A recorder that signs its events as `component` (e.g. `deployment-controller`). */
  for(component: string): EventSink {
    return { event: (obj, type, reason, message) => this.record(component, obj, type, reason, message) };
  }

  /** Refuses new events; those queued or in flight are dropped (a deposed controller set). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopped.abort();
    if (this.pending) this.log.warn('events dropped: recorder closed', { pending: this.pending });
  }

  /** Resolves when the writes queued so far are done (tests). */
  flush(): Promise<void> {
    return this.chain;
  }

  private record(
    component: string,
    obj: ObjectRefLike,
    type: 'Normal' | 'Warning',
    reason: string,
    text: string,
  ): void {
    if (this.closed || this.pending >= MAX_PENDING) return;
    const m = obj.metadata;
    const namespace = m.namespace || 'default';
    const now = this.now();
    // Expired entries are dropped by a sweep at most every SWEEP_MS (each lookup below checks the
    // age itself), not by two scans of both maps on every event.
    if (now - this.swept >= SWEEP_MS) {
      this.swept = now;
      for (const [k, s] of this.seen) if (now - s.at > WINDOW_MS) this.seen.delete(k);
      for (const [k, s] of this.similar) if (now - s.at > WINDOW_MS) this.similar.delete(k);
    }
    const { key, message } = this.aggregate(component, obj, type, reason, text, now);
    const sk = `${component}\u0000${m.uid ?? m.name}`;
    const b = this.spam.get(sk) ?? { tokens: SPAM_BURST, at: now };
    b.tokens = Math.min(SPAM_BURST, b.tokens + (now - b.at) / SPAM_REFILL_MS);
    b.at = now;
    if (b.tokens < 1) return;
    b.tokens -= 1;
    this.spam.set(sk, b);
    if (this.spam.size > 10_000) for (const [k, v] of this.spam) if (v.tokens >= SPAM_BURST - 1) this.spam.delete(k);
    // The Event this one updates (or the one it creates) is decided here, in call order, not when
    // the write runs: events recorded in one burst (a sync's creates) still find each other.
    const newName = () => `${m.name}.${(now * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`;
    let entry = fresh(this.seen.get(key), now);
    const update = entry !== undefined;
    let changed = false;
    if (entry) {
      entry.count++;
      entry.at = now;
      changed = entry.message !== message;
      entry.message = message;
    } else {
      entry = { name: newName(), namespace, count: 1, at: now, message };
      this.seen.set(key, entry);
    }
    const seen = entry;
    const count = seen.count;
    this.pending++;
    this.chain = this.chain
      .then(async () => {
        if (this.closed) return;
        const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
        if (update) {
          try {
            await this.write('PATCH', `${base}/${seen.name}`, {
              body: { count, lastTimestamp: rfc3339(now), ...(changed ? { message } : {}) },
              contentType: 'application/merge-patch+json',
            });
            return;
          } catch {
            // Gone (expired or deleted): a new Event, which later repeats update.
            seen.name = newName();
            seen.count = 1;
          }
        }
        const at = rfc3339(now);
        await this.write('POST', base, {
          body: {
            apiVersion: 'v1',
            kind: 'Event',
            metadata: { name: seen.name, namespace },
            involvedObject: {
              apiVersion: obj.apiVersion,
              kind: obj.kind,
              namespace: m.namespace,
              name: m.name,
              uid: m.uid,
              resourceVersion: m.resourceVersion,
            },
            reason,
            message,
            type,
            source: { component },
            reportingComponent: component,
            reportingInstance: '',
            firstTimestamp: at,
            lastTimestamp: at,
            count: 1,
          },
        });
      })
      .catch((e) => {
        if (!update) this.seen.delete(key); // never written: a repeat must create it
        this.log.warn('event not recorded', { reason, error: e instanceof Error ? e.message : String(e) });
      })
      .finally(() => {
        this.pending--;
      });
  }

  /** client-go's EventAggregator: the dedupe key and message of an event. Below AGGREGATE_MAX
   *  distinct messages of its kind an event is itself; from then on it is the combined one. */
  private aggregate(
    component: string,
    obj: ObjectRefLike,
    type: string,
    reason: string,
    message: string,
    now: number,
  ): { key: string; message: string } {
    const m = obj.metadata;
    const kind = [component, obj.apiVersion, obj.kind, m.namespace, m.name, m.uid, type, reason].join('\u0000');
    const rec = fresh(this.similar.get(kind), now) ?? { messages: new Set<string>(), at: now };
    rec.messages.add(message);
    rec.at = now;
    this.similar.set(kind, rec);
    if (this.similar.size > 10_000) this.similar.delete(this.similar.keys().next().value as string);
    if (rec.messages.size < AGGREGATE_MAX) return { key: `${kind}\u0000${message}`, message };
    // The set does not grow past the limit (client-go pops one; here the oldest).
    rec.messages.delete(rec.messages.values().next().value as string);
    return { key: `${kind}\u0000${COMBINED}`, message: `${COMBINED}${message}` };
  }

  /** One write with a deadline, tried again after a transient failure while the recorder is
   *  open. A POST is sent again with the same name, so AlreadyExists means an earlier attempt
   *  was applied after all. */
  private async write(method: 'POST' | 'PATCH', path: string, opts: { body: unknown; contentType?: string }) {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.request(method, path, {
          ...opts,
          timeoutMs: this.writeTimeoutMs,
          signal: this.stopped.signal,
        });
        return;
      } catch (e) {
        if (attempt > 0 && method === 'POST' && isSkiffError(e, 'AlreadyExists')) return;
        const pause = this.retryPausesMs[attempt];
        if (this.closed || pause === undefined || !transient(e)) throw e;
        this.log.debug('event write failed; retrying', { error: e instanceof Error ? e.message : String(e) });
        await sleep(pause, this.stopped.signal);
      }
    }
  }
}
