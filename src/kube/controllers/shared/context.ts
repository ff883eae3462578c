// What every controller is given (client, shared informers, events, clock, logger) and the loop
// they all run: a work queue of keys, workers that call sync(key) once the caches have synced,
// failures retried with per-key backoff. A controller only enqueues keys from events; sync reads
// the caches and the API, never an event's payload.
import { isSkiffError, type Logger } from '../../../common/index.js';
import { WorkQueue, type KubeClient } from '../../client/index.js';
import { errorText, isConflict } from './control.js';
import type { EventRecorder } from './events.js';
import type { SharedInformers } from './informers.js';

export interface ControllerContext {
  client: KubeClient;
  informers: SharedInformers;
  events: EventRecorder;
  log: Logger;
  /** Milliseconds since the epoch (tests may move time). */
  now(): number;
}

export interface Controller {
  name: string;
  /** Begins processing; called after the shared informers started. */
  run(): void;
  stop(): void;
  /** Re-examines every object (after a clock jump in tests; periodic resync). */
  resync?(): void;
}

export interface LoopOptions {
  name: string;
  workers?: number;
  sync(key: string): Promise<void>;
}

/** A queue and its workers, started once every informer listed. */
export class Loop {
  readonly queue = new WorkQueue<string>();
  private ac = new AbortController();

  constructor(
    private ctx: ControllerContext,
    private opts: LoopOptions,
  ) {}

  add = (key: string) => this.queue.add(key);

  run(): void {
    const log = this.ctx.log;
    void this.ctx.informers.waitForSync(this.ac.signal).then(() => {
      if (this.ac.signal.aborted) return;
      this.queue.run(
        async (k) => {
          // An informer relisting after an outage is unsynced: act on complete caches only.
          if (!this.ctx.informers.hasSynced) {
            this.queue.addAfter(k, 200);
            return;
          }
          try {
            await this.opts.sync(k);
          } catch (e) {
            // The API server refused a write as invalid: the same write fails until the object
            // changes, and a change brings the key back. Retrying would only load the server.
            if (isSkiffError(e, 'InvalidArgument')) {
              log.info('write refused as invalid; waiting for the object to change', {
                controller: this.opts.name,
                key: k,
                error: errorText(e),
              });
              return;
            }
            throw e;
          }
        },
        this.opts.workers ?? 2,
        (k, e) => {
          const fields = { controller: this.opts.name, key: k, error: errorText(e) };
          if (isConflict(e)) log.debug('sync conflicted; retrying', fields);
          else log.info('sync failed; retrying', fields);
        },
      );
    });
  }

  stop(): void {
    this.ac.abort();
    this.queue.stop();
  }
}

/** `namespace/name` of an object (the queue key). */
export const keyOf = (o: { metadata: { namespace?: string; name?: string } }) =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata.name ?? '');
