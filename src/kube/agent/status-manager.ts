// Writes pod statuses to the API server (kubelet's status manager): the newest status of each pod is
// kept and sent by a background writer (PATCH pods/NAME/status), so syncs never wait on the API; a
// status equal to what was last sent (or what the server already holds) is not sent. Also deletes
// a finished pod's object with grace 0 once the agent has cleaned up after it.
import { type Logger, traceMark, traceNow } from '../../common/index.js';
import { WorkQueue, type KubeClient } from '../client/index.js';
import type { Pod, PodStatus } from './types.js';
import { sleep, isSkiffError } from '../../common/index.js';

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Whether the server's status already says what `want` says (fields `want` does not set are ignored). */
export function statusEqual(have: PodStatus | undefined, want: PodStatus): boolean {
  if (!have) return false;
  const picked: Record<string, unknown> = {};
  for (const k of Object.keys(want)) picked[k] = (have as Record<string, unknown>)[k];
  return stable(picked) === stable(want);
}

interface Entry {
  namespace: string;
  name: string;
  status: PodStatus;
  /** stable(status), computed once per set. */
  text: string;
  sent?: string;
}

export class StatusManager {
  private entries = new Map<string, Entry>();
  private queue = new WorkQueue<string>();
  /** Statuses sent, for tests and metrics. */
  writes = 0;

  constructor(
    private client: KubeClient,
    private log: Logger,
    workers = 8,
  ) {
    this.queue.run((uid) => this.write(uid), workers);
  }

  /** The status last set for a pod (the agent's view, possibly not yet on the server). */
  get(uid: string): PodStatus | undefined {
    return this.entries.get(uid)?.status;
  }

  set(pod: Pod, status: PodStatus): void {
    const uid = pod.metadata.uid;
    const text = stable(status);
    const e = this.entries.get(uid);
    if (e) {
      if (e.text === text) return;
      e.status = status;
      e.text = text;
      if (e.sent !== text) {
        traceMark(uid, 'status.set', traceNow());
        this.queue.add(uid);
      }
      return;
    }
    const sent = statusEqual(pod.status, status) ? text : undefined;
    this.entries.set(uid, { namespace: pod.metadata.namespace, name: pod.metadata.name, status, text, sent });
    if (!sent) {
      traceMark(uid, 'status.set', traceNow());
      this.queue.add(uid);
    }
  }

  forget(uid: string): void {
    this.entries.delete(uid);
  }

  private async write(uid: string): Promise<void> {
    const e = this.entries.get(uid);
    if (!e) return;
    const text = e.text;
    if (e.sent === text) return;
    const t0 = traceNow();
    try {
      await this.client.request(
        'PATCH',
        `/api/v1/namespaces/${encodeURIComponent(e.namespace)}/pods/${encodeURIComponent(e.name)}/status`,
        { body: { metadata: { uid }, status: e.status }, contentType: 'application/merge-patch+json' },
      );
      this.writes++;
      e.sent = text;
      traceMark(
        uid,
        `status.patch${e.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? '.ready' : ''}`,
        t0,
      );
      // A newer status arrived while this one was on its way.
      if (e.text !== text) this.queue.add(uid);
    } catch (err) {
      if (isSkiffError(err, 'NotFound')) {
        this.entries.delete(uid);
        return;
      }
      this.log.debug('pod status not written', { pod: `${e.namespace}/${e.name}`, error: String(err) });
      throw err;
    }
  }

  /** Deletes the pod object (grace 0, only this uid), as kubelet does once a deleted pod is cleaned up. */
  async deletePod(pod: Pod): Promise<void> {
    try {
      await this.client.request(
        'DELETE',
        `/api/v1/namespaces/${encodeURIComponent(pod.metadata.namespace)}/pods/${encodeURIComponent(pod.metadata.name)}`,
        {
          body: {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            gracePeriodSeconds: 0,
            preconditions: { uid: pod.metadata.uid },
          },
        },
      );
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'NotFound' && code !== 'Conflict') throw err;
    }
    this.entries.delete(pod.metadata.uid);
  }

  /** Waits until every queued status (or only pod `uid`'s) is written (tests, shutdown, a deleted
   *  pod's final status). Each status's text is computed once when set: this polls every 20 ms, and
   *  re-serialising every pod's status on each poll of each terminating pod made deleting 600 pods
   *  quadratic (the agent's main thread was busy with it). */
  async flush(timeoutMs = 5000, uid?: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const one = uid === undefined ? undefined : this.entries.get(uid);
      const pending =
        uid === undefined ? [...this.entries.values()].some((e) => e.sent !== e.text) : !!one && one.sent !== one.text;
      if (!pending) return;
      await sleep(20);
    }
  }

  stop(): void {
    this.queue.stop();
  }
}
