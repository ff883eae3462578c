// A store-backed cache of one kind's objects, kept by a list and a watch (as upstream's admission
// plugins keep informers): admission reads namespaces, service accounts, limit ranges, quotas,
// priority classes and storage classes on every pod or claim it admits, and a store read each
// would cost an etcd round trip per object. Objects are decoded once and shared: read-only.
import type { KubeObject, ResourceDefinition } from '../../api/index.js';
import type { ApiContext } from '../context.js';
import { sleep } from '../../../common/index.js';

export class KindCache {
  private objs = new Map<string, KubeObject>();
  private ac = new AbortController();
  private listeners = new Set<(namespace: string | undefined) => void>();
  private prefix: string;
  /** Whether the initial list is loaded (before that, readers go to the store). */
  synced = false;

  constructor(
    private ctx: ApiContext,
    readonly def: ResourceDefinition,
  ) {
    this.prefix = ctx.registry.prefix(def);
  }

  private key(namespace: string | undefined, name: string): string {
    return this.ctx.registry.key(this.def, namespace, name);
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objs.get(this.key(namespace, name));
  }

  list(namespace?: string): KubeObject[] {
    const p = this.ctx.registry.prefix(this.def, namespace);
    const out: KubeObject[] = [];
    for (const [k, o] of this.objs) if (k.startsWith(p)) out.push(o);
    return out;
  }

  /** This server's own write takes effect at once, not when its watch event arrives. */
  note(obj: KubeObject, deleted = false): void {
    const k = this.key(obj.metadata.namespace, obj.metadata.name ?? '');
    if (deleted) this.objs.delete(k);
    else this.objs.set(k, obj);
    this.changed(obj.metadata.namespace);
  }

  /** Called with the namespace of every change (undefined: anything may have changed). */
  onChange(fn: (namespace: string | undefined) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(namespace: string | undefined): void {
    for (const fn of this.listeners) fn(namespace);
  }

  private namespaceOf(key: string): string | undefined {
    if (!this.def.namespaced) return undefined;
    return key.slice(this.prefix.length).split('/')[0];
  }

  private async load(): Promise<number> {
    const fresh = new Map<string, KubeObject>();
    let cont: string | undefined;
    let rev = 0;
    do {
      const page = await this.ctx.store.list(this.prefix, { limit: 1000, continue: cont });
      for (const kv of page.items) {
        try {
          fresh.set(kv.key, await this.ctx.registry.decode(this.def, kv));
        } catch {
          /* undecodable (e.g. a Secret under another key): readers fall back to the store */
        }
      }
      rev = page.revision;
      cont = page.continue;
    } while (cont);
    this.objs = fresh;
    this.synced = true;
    this.changed(undefined);
    return rev;
  }

  async start(): Promise<void> {
    let rev = await this.load();
    const signal = this.ac.signal;
    void (async () => {
      while (!signal.aborted) {
        try {
          const w = this.ctx.store.watch(this.prefix, rev, { signal });
          signal.addEventListener('abort', () => w.close(), { once: true });
          for await (const ev of w) {
            if (ev.type === 'PROGRESS') continue;
            rev = ev.kv.modRevision;
            if (ev.type === 'DELETE') this.objs.delete(ev.kv.key);
            else {
              try {
                this.objs.set(ev.kv.key, await this.ctx.registry.decodeShared(this.def, ev.kv));
              } catch {
                this.objs.delete(ev.kv.key);
              }
            }
            this.changed(this.namespaceOf(ev.kv.key));
          }
        } catch {
          if (signal.aborted) break;
          this.synced = false;
          await sleep(200);
          try {
            rev = await this.load();
          } catch {
            /* store unavailable: readers go to the store meanwhile */
          }
        }
      }
    })();
  }

  stop(): void {
    this.ac.abort();
    this.objs.clear();
    this.synced = false;
  }
}
