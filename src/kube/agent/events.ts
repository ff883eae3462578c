// The agent's event recorder (client-go's, as kubelet uses it): core/v1 Events named
// `<object>.<unix-nanos hex>`, source `kubelet` on this node; an identical event (same object,
// field path, type, reason and message) within 10 minutes bumps the stored one's count and
// lastTimestamp instead of creating another. Sent in the background: recording never blocks
// the caller, and a full queue drops events rather than memory.
import type { Logger } from '../../common/index.js';
import type { KubeClient } from '../client/index.js';
import type { Pod } from './types.js';
import { sleep } from '../../common/index.js';

export interface ObjectRef {
  kind: string;
  apiVersion: string;
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EventRecorder {
  event(ref: ObjectRef, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export function podRef(pod: Pod, containerName?: string, init = false): ObjectRef {
  const isInit = init || (pod.spec.initContainers ?? []).some((c) => c.name === containerName);
  const list = isInit
    ? 'initContainers'
    : (pod.spec.ephemeralContainers ?? []).some((c) => c.name === containerName)
      ? 'ephemeralContainers'
      : 'containers';
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    name: pod.metadata.name,
    namespace: pod.metadata.namespace,
    uid: pod.metadata.uid,
    resourceVersion: pod.metadata.resourceVersion,
    ...(containerName ? { fieldPath: `spec.${list}{${containerName}}` } : {}),
  };
}

const MAX_QUEUE = 1000;
const WINDOW_MS = 10 * 60_000;
/** How long one event write may take: a write the API server never answers (a connection gone
 *  quiet) would otherwise hold one of the `concurrency` slots for good, and four of them every
 *  later event (the controllers' recorder has the same deadline). */
const WRITE_TIMEOUT_MS = 10_000;

interface Pending {
  ref: ObjectRef;
  type: string;
  reason: string;
  message: string;
  at: Date;
}

export class ApiEventRecorder implements EventRecorder {
  private queue: Pending[] = [];
  private seen = new Map<string, { name: string; namespace: string; count: number; first: string; last: number }>();
  private active = 0;
  private stopped = false;
  /** The last name suffix given (nanoseconds): names only grow, so a list (ordered by name) shows
   *  events in the order they were recorded, also within one millisecond. */
  private lastNs = 0n;

  constructor(
    private client: KubeClient,
    private host: string,
    private log: Logger,
    private concurrency = 4,
    private writeTimeoutMs = WRITE_TIMEOUT_MS,
  ) {}

  event(ref: ObjectRef, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (this.stopped || this.queue.length >= MAX_QUEUE) return;
    this.queue.push({ ref, type, reason, message, at: new Date() });
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  /** Resolves once everything queued so far is sent (tests, shutdown). */
  async flush(timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while ((this.queue.length || this.active) && Date.now() < end) await sleep(20);
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length) {
      const e = this.queue.shift()!;
      this.active++;
      this.send(e)
        .catch((err) => this.log.debug('event not recorded', { reason: e.reason, error: String(err) }))
        .finally(() => {
          this.active--;
          this.pump();
        });
    }
  }

  private async send(e: Pending): Promise<void> {
    const r = e.ref;
    const ns = r.namespace || 'default';
    const key = [r.kind, ns, r.name, r.uid, r.fieldPath, e.type, e.reason, e.message].join('\u0000');
    const ts = e.at.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const prev = this.seen.get(key);
    if (prev && e.at.getTime() - prev.last < WINDOW_MS) {
      prev.count++;
      prev.last = e.at.getTime();
      try {
        await this.client.request(
          'PATCH',
          `/api/v1/namespaces/${encodeURIComponent(prev.namespace)}/events/${prev.name}`,
          {
            body: { count: prev.count, lastTimestamp: ts, message: e.message },
            contentType: 'application/merge-patch+json',
            timeoutMs: this.writeTimeoutMs,
          },
        );
        return;
      } catch {
        this.seen.delete(key);
      }
    }
    if (this.seen.size > 4096) {
      const cutoff = Date.now() - WINDOW_MS;
      for (const [k, v] of this.seen) if (v.last < cutoff) this.seen.delete(k);
    }
    // upstream's `<object>.<UnixNano hex>`; the sub-millisecond part is random (names stay unique
    // across restarts) but never below the previous name's, which a random part alone allowed:
    // two events of one millisecond (Created, Started) then listed in either order
    const at = BigInt(e.at.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6));
    this.lastNs = at > this.lastNs ? at : this.lastNs + 1n;
    const name = `${r.name}.${this.lastNs.toString(16)}`;
    await this.client.request('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/events`, {
      timeoutMs: this.writeTimeoutMs,
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject: {
          kind: r.kind,
          namespace: r.namespace,
          name: r.name,
          uid: r.uid,
          apiVersion: r.apiVersion,
          resourceVersion: r.resourceVersion,
          fieldPath: r.fieldPath,
        },
        reason: e.reason,
        message: e.message,
        source: { component: 'kubelet', host: this.host },
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
        type: e.type,
        reportingComponent: 'kubelet',
        reportingInstance: this.host,
      },
    });
    this.seen.set(key, { name, namespace: ns, count: 1, first: ts, last: e.at.getTime() });
  }
}
