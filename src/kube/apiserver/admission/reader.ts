// How admission plugins and strategies read other objects: from a kind's cache when the server
// keeps one, else (and on a cache miss, since a cache may lag a write made a moment ago, maybe
// through another server) from the store, as upstream's plugins do a live lookup when their
// informer has not seen an object yet. A live list that found nothing is remembered for 30 s (as
// upstream's LimitRanger and ResourceQuota remember their live lookups, liveTTL): every pod create
// lists its namespace's LimitRanges and ResourceQuotas, which mostly do not exist, and a store list
// for each (three per pod) was the largest single cost of creating pods in the scheduler benchmark.
// This server's own writes reach the cache at once (KindCache.note), so the 30 s only concern a
// write through another server that this one's watch has not delivered yet.
import type { KubeObject } from '../../api/index.js';
import type { Store } from '../../storage/index.js';
import type { Registry } from '../registry.js';
import type { KindCache } from './cache.js';

export interface ObjectReader {
  get(group: string, plural: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
  /** The objects of a kind in a namespace (all namespaces when undefined); read-only. */
  list(group: string, plural: string, namespace?: string): Promise<KubeObject[]>;
}

const EMPTY_TTL_MS = 30_000;
const EMPTY_MAX = 10_000;

export function createObjectReader(store: Store, registry: Registry, caches: Map<string, KindCache>): ObjectReader {
  const defOf = (group: string, plural: string) => registry.preferred(group, plural);
  /** `group/plural/namespace` → when a live list that found nothing stops being trusted. */
  const empty = new Map<string, number>();
  return {
    async get(group, plural, namespace, name) {
      const c = caches.get(`${group}/${plural}`);
      if (c?.synced) {
        const hit = c.get(namespace, name);
        if (hit) return hit;
      }
      const def = defOf(group, plural);
      if (!def) return undefined;
      const kv = await store.get(registry.key(def, def.namespaced ? namespace : undefined, name));
      return kv ? registry.decode(def, kv) : undefined;
    },
    async list(group, plural, namespace) {
      const c = caches.get(`${group}/${plural}`);
      const emptyKey = `${group}/${plural}/${namespace ?? ''}`;
      if (c?.synced) {
        const hit = c.list(namespace);
        if (hit.length) return hit;
        if ((empty.get(emptyKey) ?? 0) > Date.now()) return hit;
      }
      const def = defOf(group, plural);
      if (!def) return [];
      const out: KubeObject[] = [];
      let cont: string | undefined;
      do {
        const page = await store.list(registry.prefix(def, namespace), { limit: 1000, continue: cont });
        for (const kv of page.items) out.push(await registry.decode(def, kv));
        cont = page.continue;
      } while (cont);
      if (c?.synced && !out.length) {
        if (empty.size >= EMPTY_MAX) empty.clear();
        empty.set(emptyKey, Date.now() + EMPTY_TTL_MS);
      }
      return out;
    },
  };
}
