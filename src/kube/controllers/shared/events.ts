// Events (core/v1), as client-go's recorder writes them, so `kubectl describe` and `kubectl get
// events` show what a controller did: one Event per (object, type, reason, message), repeated
// occurrences within ten minutes raise its count and lastTimestamp instead of adding objects, and
// each (source, object) may send 25 events at once, then one per five minutes (client-go's spam
// filter), so an object that fails every sync cannot flood the API. Writes are serialised and
// best-effort: a lost event never fails a sync. As client-go's sink, a write that failed without
// an answer from the API (a timeout, a reset connection, an unavailable store) is tried again a
// few times; each attempt has a deadline, so one request that is never answered cannot hold the
// writes queued behind it.
import { isSkiffError, sleep, type Logger } from '../../../common/index.js';
import type { KubeClient } from '../../client/index.js';
import type { ObjectRefLike } from './types.js';

const WINDOW_MS = 10 * 60_000;
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
}

export interface EventSink {
  event(obj: ObjectRefLike, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class EventRecorder {
  private seen = new Map<string, Seen>();
  private spam = new Map<string, { tokens: number; at: number }>();
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
    message: string,
  ): void {
    if (this.closed || this.pending >= MAX_PENDING) return;
    const m = obj.metadata;
    const namespace = m.namespace || 'default';
    const key = `${m.uid}\u0000${component}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = this.now();
    for (const [k, s] of this.seen) if (now - s.at > WINDOW_MS) this.seen.delete(k);
    const prior = this.seen.get(key);
    const sk = `${component}\u0000${m.uid ?? m.name}`;
    const b = this.spam.get(sk) ?? { tokens: SPAM_BURST, at: now };
    b.tokens = Math.min(SPAM_BURST, b.tokens + (now - b.at) / SPAM_REFILL_MS);
    b.at = now;
    if (b.tokens < 1) return;
    b.tokens -= 1;
    this.spam.set(sk, b);
    if (this.spam.size > 10_000) for (const [k, v] of this.spam) if (v.tokens >= SPAM_BURST - 1) this.spam.delete(k);
    this.pending++;
    this.chain = this.chain
      .then(async () => {
        if (this.closed) return;
        const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
        if (prior) {
          prior.count++;
          prior.at = now;
          try {
            await this.write('PATCH', `${base}/${prior.name}`, {
              body: { count: prior.count, lastTimestamp: rfc3339(now) },
              contentType: 'application/merge-patch+json',
            });
            return;
          } catch {
            this.seen.delete(key); // gone (expired or deleted): write a new one
          }
        }
        const name = `${m.name}.${(now * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`;
        const at = rfc3339(now);
        await this.write('POST', base, {
          body: {
            apiVersion: 'v1',
            kind: 'Event',
            metadata: { name, namespace },
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
        this.seen.set(key, { name, namespace, count: 1, at: now });
      })
      .catch((e) => this.log.warn('event not recorded', { reason, error: e instanceof Error ? e.message : String(e) }))
      .finally(() => {
        this.pending--;
      });
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
