// Discovery for controllers that work over every served kind (garbage collector, namespace
// controller): the aggregated v2 documents of /api and /apis, preferred version per group.
import type { KubeClient, ResourceRef } from './rest.js';

export interface DiscoveredResource extends ResourceRef {
  kind: string;
  verbs: string[];
}

const AGGREGATED =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

interface AggregatedList {
  items: {
    metadata: { name?: string };
    versions: {
      version: string;
      resources: { resource: string; scope: string; verbs: string[]; responseKind?: { kind: string } }[];
    }[];
  }[];
}

/** Every top-level resource of each group's preferred (first) version. */
export async function discoverResources(client: KubeClient): Promise<DiscoveredResource[]> {
  const out: DiscoveredResource[] = [];
  for (const path of ['/api', '/apis']) {
    const list = await client.request<AggregatedList>('GET', path, { accept: AGGREGATED });
    for (const g of list.items ?? []) {
      const v = g.versions?.[0];
      if (!v) continue;
      for (const r of v.resources ?? []) {
        out.push({
          group: g.metadata.name ?? '',
          version: v.version,
          resource: r.resource,
          kind: r.responseKind?.kind ?? '',
          namespaced: r.scope === 'Namespaced',
          verbs: r.verbs ?? [],
        });
      }
    }
  }
  return out;
}

/** `apps/v1` + `Deployment` → its resource, or undefined when not served. */
export function resourceForKind(
  resources: DiscoveredResource[],
  apiVersion: string,
  kind: string,
): DiscoveredResource | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return (
    resources.find((r) => r.group === group && r.kind === kind && r.version === version) ??
    resources.find((r) => r.group === group && r.kind === kind)
  );
}
