// Shared informers (client-go's SharedInformerFactory, reduced): one list+watch per resource for
// every controller in the process, fanned out to each controller's handlers, with indexes
// (namespace always; others such as pods by node or by owner) kept in step with the cache.
// Handlers and listers hand out the cached objects: callers must not mutate them.
import type { Logger } from '../../../common/index.js';
import {
  Informer,
  objectKey,
  trimManagedFields,
  type InformerHandlers,
  type KubeClient,
  type ResourceRef,
} from '../../client/index.js';
import type { KubeObject } from './types.js';
import { sleep } from '../../../common/index.js';

type IndexFn<T> = (o: T) => string[];

/** A server-side filter: informers of one resource with different filters are different informers. */
export interface InformerFilter {
  fieldSelector?: string;
  labelSelector?: string;
}

export class SharedInformer<T extends KubeObject = KubeObject> {
  readonly informer: Informer<T>;
  private handlers: InformerHandlers<T>[] = [];
  private indexers = new Map<string, IndexFn<T>>();
  private indexes = new Map<string, Map<string, Set<string>>>();
  started = false;

  constructor(
    client: KubeClient,
    readonly ref: ResourceRef,
    private log: Logger,
    filter: InformerFilter = {},
  ) {
    this.addIndexer('namespace', (o) => [o.metadata.namespace ?? '']);
    this.informer = new Informer<T>(
      client,
      ref,
      {
        add: (o) => {
          this.index(undefined, o);
          this.fan((h) => h.add?.(o));
        },
        update: (old, o) => {
          this.index(old, o);
          this.fan((h) => h.update?.(old, o));
        },
        delete: (o) => {
          this.index(o, undefined);
          this.fan((h) => h.delete?.(o));
        },
      },
      // As kube-controller-manager's shared informers: objects cached without managedFields.
      { log, ...filter, transform: trimManagedFields },
    );
  }

  get hasSynced(): boolean {
    return this.informer.hasSynced;
  }

  /** Stops calling `h` (a subscriber that goes away while the informer stays). */
  removeHandlers(h: InformerHandlers<T>): void {
    this.handlers = this.handlers.filter((x) => x !== h);
  }

  addHandlers(h: InformerHandlers<T>): void {
    this.handlers.push(h);
    // A late subscriber sees what is already cached, as client-go's AddEventHandler does.
    if (this.informer.hasSynced) for (const o of this.informer.list()) this.call(() => h.add?.(o));
  }

  /** Adds an index; must be called before the informer starts. */
  addIndexer(name: string, fn: IndexFn<T>): void {
    if (this.indexers.has(name)) return;
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const o of this.informer?.list() ?? []) this.put(idx, fn, o);
  }

  list(namespace?: string): T[] {
    return namespace === undefined ? this.informer.list() : this.byIndex('namespace', namespace);
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.indexes.get(name)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.informer.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.informer.get(namespace ? `${namespace}/${name}` : name);
  }

  getKey(key: string): T | undefined {
    return this.informer.get(key);
  }

  private fan(f: (h: InformerHandlers<T>) => void): void {
    for (const h of this.handlers) this.call(() => f(h));
  }

  private call(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.log.error('informer handler failed', {
        resource: this.ref.resource,
        error: e instanceof Error ? e.stack : String(e),
      });
    }
  }

  private put(idx: Map<string, Set<string>>, fn: IndexFn<T>, o: T): void {
    const k = objectKey(o);
    let values: string[] = [];
    try {
      values = fn(o);
    } catch {
      /* a malformed object is simply not indexed */
    }
    for (const v of values) {
      let s = idx.get(v);
      if (!s) idx.set(v, (s = new Set()));
      s.add(k);
    }
  }

  private index(old: T | undefined, o: T | undefined): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indexes.get(name)!;
      if (old) {
        const k = objectKey(old);
        let values: string[] = [];
        try {
          values = fn(old);
        } catch {
          /* not indexed */
        }
        for (const v of values) {
          const s = idx.get(v);
          s?.delete(k);
          if (s && s.size === 0) idx.delete(v);
        }
      }
      if (o) this.put(idx, fn, o);
    }
  }
}

export class SharedInformers {
  // One informer per resource, each of its own object type: the map cannot name them all.
  // biome-ignore lint/suspicious/noExplicitAny: heterogeneous registry keyed by resource
  private informers = new Map<string, SharedInformer<any>>();
  private stopped = false;

  constructor(
    private client: KubeClient,
    private log: Logger,
  ) {}

  for<T extends KubeObject = KubeObject>(ref: ResourceRef, filter: InformerFilter = {}): SharedInformer<T> {
    const k = `${ref.group}/${ref.version}/${ref.resource}?${filter.fieldSelector ?? ''}&${filter.labelSelector ?? ''}`;
    let inf: SharedInformer<T> | undefined = this.informers.get(k);
    if (!inf) {
      inf = new SharedInformer<T>(this.client, ref, this.log, filter);
      this.informers.set(k, inf);
    }
    return inf;
  }

  /** The unfiltered informer of `ref` when some controller already asked for it, else undefined. */
  existing<T extends KubeObject = KubeObject>(ref: ResourceRef): SharedInformer<T> | undefined {
    return this.informers.get(`${ref.group}/${ref.version}/${ref.resource}?&`);
  }

  /** Starts the informers not started yet; resolves when each has made its first list attempt. */
  async start(): Promise<void> {
    const starting: Promise<void>[] = [];
    for (const inf of this.informers.values()) {
      if (inf.started || this.stopped) continue;
      inf.started = true;
      starting.push(
        inf.informer.start().catch((e) => {
          this.log.warn('informer failed to start', { resource: inf.ref.resource, error: String(e) });
        }),
      );
    }
    await Promise.all(starting);
  }

  /** Whether every informer has a complete list (controllers act only on synced caches). */
  get hasSynced(): boolean {
    for (const inf of this.informers.values()) if (!inf.hasSynced) return false;
    return true;
  }

  /** Resolves once every informer has listed (polls; an outage at start only delays this). */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    while (!this.hasSynced && !signal?.aborted && !this.stopped) await sleep(50);
  }

  stop(): void {
    this.stopped = true;
    for (const inf of this.informers.values()) inf.informer.stop();
  }
}
