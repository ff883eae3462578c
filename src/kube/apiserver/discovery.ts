// Discovery: legacy (/api, /apis, /api/v1, /apis/<g>, /apis/<g>/<v>) and aggregated v2
// (APIGroupDiscoveryList, chosen by Accept), both generated from the registry.
import type { IncomingMessage } from 'node:http';
import type { ResourceDefinition } from '../api/index.js';
import { acceptEntries } from './http.js';
import { gvString, type Registry } from './registry.js';

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function wantsAggregated(req: IncomingMessage): 'v2' | 'v2beta1' | undefined {
  for (const e of acceptEntries(req)) {
    if (e.params.g === 'apidiscovery.k8s.io' && e.params.as === 'APIGroupDiscoveryList') {
      if (e.params.v === 'v2' || e.params.v === 'v2beta1') return e.params.v;
    }
    if (!e.params.as && (e.type === 'application/json' || e.type === '*/*')) return undefined;
  }
  return undefined;
}

function subresourcesOf(
  d: ResourceDefinition,
): { name: string; group: string; version: string; kind: string; verbs: string[] }[] {
  const out = [];
  if (d.subresources?.status)
    out.push({ name: 'status', group: d.group, version: d.version, kind: d.kind, verbs: ['get', 'patch', 'update'] });
  if (d.subresources?.scale)
    out.push({ name: 'scale', group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  for (const x of d.subresources?.extra ?? [])
    out.push({
      name: x.name,
      group: x.group ?? d.group,
      version: x.version ?? d.version,
      kind: x.kind,
      verbs: x.verbs,
    });
  // By name, as upstream lists a resource's subresources (deployments/scale before deployments/status).
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

const DISCOVERY_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const verbsOf = (d: ResourceDefinition) => [...(d.verbs?.length ? d.verbs : DISCOVERY_VERBS)].sort();

function aggregatedResource(d: ResourceDefinition) {
  const r: Record<string, unknown> = {
    resource: d.plural,
    responseKind: { group: d.group, version: d.version, kind: d.kind },
    scope: d.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: d.singular,
    verbs: verbsOf(d),
  };
  if (d.shortNames?.length) r.shortNames = d.shortNames;
  if (d.categories?.length) r.categories = d.categories;
  const subs = subresourcesOf(d);
  if (subs.length)
    r.subresources = subs.map((s) => ({
      subresource: s.name,
      responseKind: { group: s.group, version: s.version, kind: s.kind },
      verbs: s.verbs,
    }));
  return r;
}

export function aggregatedDiscovery(reg: Registry, legacy: boolean, version: 'v2' | 'v2beta1'): unknown {
  const items = reg
    .groupVersions()
    .filter((g) => (g.group === '') === legacy)
    .map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v,
        freshness: 'Current',
        resources: reg
          .all()
          .filter((d) => d.group === g.group && d.version === v)
          .sort((a, b) => a.plural.localeCompare(b.plural))
          .map(aggregatedResource),
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

export function legacyApiVersions(host: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }],
  };
}

function apiGroup(reg: Registry, group: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: gvString(group, v), version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

export function legacyApiGroupList(reg: Registry): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: reg
      .groupVersions()
      .filter((g) => g.group !== '')
      .map((g) => apiGroup(reg, g.group, g.versions)),
  };
}

export function legacyApiGroup(reg: Registry, group: string): unknown | undefined {
  const g = reg.groupVersions().find((x) => x.group === group);
  return g && group !== '' ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(reg, g.group, g.versions) } : undefined;
}

export function legacyResourceList(reg: Registry, group: string, version: string): unknown | undefined {
  const defs = reg
    .all()
    .filter((d) => d.group === group && d.version === version)
    .sort((a, b) => a.plural.localeCompare(b.plural));
  if (defs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const d of defs) {
    const r: Record<string, unknown> = {
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: verbsOf(d),
    };
    if (d.shortNames?.length) r.shortNames = d.shortNames;
    if (d.categories?.length) r.categories = d.categories;
    resources.push(r);
    for (const s of subresourcesOf(d)) {
      const sr: Record<string, unknown> = {
        name: `${d.plural}/${s.name}`,
        singularName: '',
        namespaced: d.namespaced,
        kind: s.kind,
        verbs: s.verbs,
      };
      if (s.group !== group || s.version !== version) {
        sr.group = s.group;
        sr.version = s.version;
      }
      resources.push(sr);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gvString(group, version), resources };
}
