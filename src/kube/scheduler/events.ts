// The scheduler's event recorder: core/v1 Events (what `kubectl describe` lists) written in the
// background, never blocking a scheduling cycle. As client-go's recorder: a repeat of the same
// event (object, reason, message) within 10 minutes bumps the count and last timestamp of the one
// already written; beyond 1000 queued events new ones are dropped (and counted). The events
// written are remembered in an LRU of 4096 entries (client-go's correlator cache size): a Map in
// use order, the least recently used dropped first, so a write costs O(1) however many pods were
// scheduled (pruning the whole map on each write above 4096 entries took 5 % of the server's CPU
// when 10 000 pods were bound).
import type { Logger } from '../../common/index.js';
import type { KubeClient } from '../client/index.js';
import type { ObjectMeta } from '../api/index.js';

export interface EventTarget {
  metadata: ObjectMeta;
  kind?: string;
  apiVersion?: string;
}

const MAX_QUEUED = 1000;
// In flight: with the scheduler in its own thread it binds as fast as the API server answers, and
// at 8 in flight (a round trip of ~0.25 s on a busy API server: 32 events/s) the queue filled and
// Scheduled events were dropped; 32 keep up with the bindings (at most 64 in flight).
const CONCURRENCY = 32;
const AGGREGATE_MS = 10 * 60_000;
const NOTE_LIMIT = 1024;
const MAX_REMEMBERED = 4096;

interface Written {
  namespace: string;
  name: string;
  count: number;
  first: string;
  at: number;
}

const time = (d = new Date()) => d.toISOString().replace(/\.\d+Z$/, 'Z');

export function truncateMessage(m: string): string {
  return m.length <= NOTE_LIMIT ? m : `${m.slice(0, NOTE_LIMIT - 4)} ...`;
}

export class EventRecorder {
  private queue: (() => Promise<void>)[] = [];
  private running = 0;
  private written = new Map<string, Written>();
  /** Makes the names of events written in the same millisecond for the same object differ. */
  private seq = 0;
  dropped = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private client: KubeClient | undefined,
    private component: string,
    private instance: string,
    private log?: Logger,
  ) {}

  event(obj: EventTarget, type: 'Normal' | 'Warning', reason: string, action: string, message: string): void {
    if (!this.client) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0)
        this.log?.warn('event queue full: events dropped', { dropped: this.dropped });
      return;
    }
    const note = truncateMessage(message);
    this.queue.push(() => this.write(obj, type, reason, action, note));
    this.pump();
  }

  /** Resolves once every queued event has been written (tests, shutdown). */
  flush(): Promise<void> {
    if (!this.running && !this.queue.length) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.running < CONCURRENCY && this.queue.length) {
      const job = this.queue.shift()!;
      this.running++;
      void job()
        .catch((e) => this.log?.debug('event not written', { error: e instanceof Error ? e.message : String(e) }))
        .finally(() => {
          this.running--;
          this.pump();
          if (!this.running && !this.queue.length) for (const w of this.idleWaiters.splice(0)) w();
        });
    }
  }

  private async write(obj: EventTarget, type: string, reason: string, action: string, message: string): Promise<void> {
    const client = this.client!;
    const m = obj.metadata;
    const ns = m.namespace || 'default';
    const key = `${m.uid}\u0000${reason}\u0000${message}`;
    const now = new Date();
    const prev = this.written.get(key);
    if (prev && now.getTime() - prev.at < AGGREGATE_MS) {
      prev.count++;
      prev.at = now.getTime();
      this.written.delete(key); // most recently used: to the end of the map's order
      this.written.set(key, prev);
      try {
        await client.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(ns)}/events/${prev.name}`, {
          body: { count: prev.count, lastTimestamp: time(now) },
          contentType: 'application/merge-patch+json',
        });
        return;
      } catch {
        this.written.delete(key); // gone (expired or deleted): write a new one
      }
    }
    this.seq = (this.seq + 1) % 1_000_000;
    const stamp = time(now);
    const name = `${m.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(this.seq)).toString(16)}`;
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: {
        kind: obj.kind ?? 'Pod',
        apiVersion: obj.apiVersion ?? 'v1',
        namespace: m.namespace,
        name: m.name,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
      },
      reason,
      message,
      type,
      action,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.instance,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
    };
    await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, { body });
    this.written.delete(key);
    this.written.set(key, { namespace: ns, name, count: 1, first: body.firstTimestamp, at: now.getTime() });
    for (const k of this.written.keys()) {
      if (this.written.size <= MAX_REMEMBERED) break;
      this.written.delete(k);
    }
  }
}
