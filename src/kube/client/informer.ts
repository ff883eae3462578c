// Informer: list, then watch from the list's resourceVersion; re-watch when a watch ends, relist
// on 410 Expired (and after errors, with backoff; it gives up once its client is closed). Keeps a
// cache by `namespace/name` and calls handlers with the cached (possibly transformed) objects.
// Consumers must not mutate them.
import type { Logger } from '../../common/index.js';
import type { KubeObject } from '../api/index.js';
import { resourcePath, type KubeClient, type ResourceRef } from './rest.js';
import { isExpired, watchEvents } from './watch.js';
import { sleep, isSkiffError } from '../../common/index.js';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(old: T, obj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Keep only what the consumer needs (e.g. metadata) of each object. */
  transform?(obj: KubeObject): T;
  log?: Logger;
  /** Watch timeout before a re-watch (seconds, default 300). */
  timeoutSeconds?: number;
}

/** A transform that drops `metadata.managedFields` (client-go's trim in kube-scheduler's pod
 *  informer and kube-controller-manager's shared informers): a cache then holds far less per
 *  object, which in this process means less for the young-generation GC to copy and promote.
 *  An update written back from such an object omits managedFields; the API server then keeps the
 *  stored ones, as kube-apiserver does. The property stays (as undefined) so the object keeps its
 *  shape. */
export function trimManagedFields<T extends { metadata: KubeObject['metadata'] }>(o: KubeObject): T {
  if (o.metadata?.managedFields !== undefined) o.metadata.managedFields = undefined;
  return o as unknown as T;
}

export const objectKey = (o: { metadata: { namespace?: string; name?: string } }) =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata.name ?? '');

export class Informer<T extends { metadata: KubeObject['metadata'] } = KubeObject> {
  private cache = new Map<string, T>();
  private ac = new AbortController();
  private synced = false;
  private rv = '';

  constructor(
    private client: KubeClient,
    readonly ref: ResourceRef,
    private handlers: InformerHandlers<T>,
    private opts: InformerOptions<T> = {},
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }
  list(): T[] {
    return [...this.cache.values()];
  }
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Resolves after the first list has been delivered to the handlers. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      let first = true;
      void (async () => {
        let delay = 200;
        while (!this.ac.signal.aborted) {
          try {
            if (!this.rv) await this.relist();
            if (first) {
              first = false;
              resolve();
            }
            delay = 200;
            await this.watch();
          } catch (e) {
            // A closed client fails every request for good: retrying would only keep timers (and
            // the process) alive for an informer its owner forgot to stop.
            if (this.ac.signal.aborted || this.client.isClosed) break;
            if (isExpired(e)) {
              this.rv = '';
              continue;
            }
            if (first && isSkiffError(e, 'NotFound')) {
              first = false;
              reject(e);
              return;
            }
            // start() does not wait through an outage: the informer keeps retrying unsynced.
            if (first) {
              first = false;
              resolve();
            }
            this.opts.log?.debug('informer: retrying', {
              resource: this.ref.resource,
              error: e instanceof Error ? e.message : String(e),
            });
            this.rv = '';
            await sleep(delay, this.ac.signal);
            delay = Math.min(delay * 2, 10_000);
          }
        }
        if (first) resolve();
      })();
    });
  }

  stop(): void {
    this.ac.abort();
  }

  private path(): string {
    return resourcePath(this.ref, this.opts.namespace);
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.request<{
        metadata: { resourceVersion: string; continue?: string };
        items: KubeObject[];
      }>('GET', this.path(), {
        query: {
          limit: 500,
          continue: cont,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        signal: this.ac.signal,
      });
      for (const o of page.items) {
        // List items carry no apiVersion/kind; the informer's resource says what they are.
        const full = o.kind
          ? o
          : {
              ...o,
              apiVersion: this.ref.group ? `${this.ref.group}/${this.ref.version}` : this.ref.version,
              kind: this.ref.kind,
            };
        const t = this.opts.transform ? this.opts.transform(full) : (full as unknown as T);
        fresh.set(objectKey(t), t);
      }
      rv = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    const old = this.cache;
    this.cache = fresh;
    this.rv = rv;
    this.synced = true;
    for (const [k, o] of fresh) {
      const prev = old.get(k);
      if (prev) this.handlers.update?.(prev, o);
      else this.handlers.add?.(o);
    }
    for (const [k, o] of old) if (!fresh.has(k)) this.handlers.delete?.(o);
  }

  private async watch(): Promise<void> {
    const events = watchEvents(
      this.client,
      this.path(),
      {
        resourceVersion: this.rv,
        allowWatchBookmarks: true,
        timeoutSeconds: this.opts.timeoutSeconds ?? 300,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
      },
      this.ac.signal,
    );
    for await (const ev of events) {
      const rv = ev.object.metadata?.resourceVersion;
      if (ev.type === 'BOOKMARK') {
        if (rv) this.rv = rv;
        continue;
      }
      const t = this.opts.transform ? this.opts.transform(ev.object) : (ev.object as unknown as T);
      const k = objectKey(t);
      const prev = this.cache.get(k);
      if (ev.type === 'DELETED') {
        this.cache.delete(k);
        if (rv) this.rv = rv;
        this.handlers.delete?.(prev ?? t);
        continue;
      }
      this.cache.set(k, t);
      if (rv) this.rv = rv;
      if (prev) this.handlers.update?.(prev, t);
      else this.handlers.add?.(t);
    }
  }
}
