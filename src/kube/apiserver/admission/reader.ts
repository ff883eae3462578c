// How admission plugins and strategies read other objects: from a kind's cache when the server
// keeps one, else (and on a cache miss, since a cache may lag a write made a moment ago, maybe
// through another server) from the store, as upstream's plugins do a live lookup when their
// informer has not seen an object yet.
import type { KubeObject } from '../../api/index.js';
import type { Store } from '../../storage/index.js';
import type { Registry } from '../registry.js';
import type { KindCache } from './cache.js';

export interface ObjectReader {
  get(group: string, plural: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
  /** The objects of a kind in a namespace (all namespaces when undefined); read-only. */
  list(group: string, plural: string, namespace?: string): Promise<KubeObject[]>;
}

export function createObjectReader(store: Store, registry: Registry, caches: Map<string, KindCache>): ObjectReader {
  const defOf = (group: string, plural: string) => registry.preferred(group, plural);
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
      if (c?.synced) {
        const hit = c.list(namespace);
        if (hit.length) return hit;
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
      return out;
    },
  };
}
