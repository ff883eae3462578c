// CustomResourceDefinitions: a small in-process controller lists and watches the stored CRDs,
// (re)registers a ResourceDefinition per served version of each (schema validation and pruning
// from openAPIV3Schema, defaults, status/scale subresources, additionalPrinterColumns), marks the
// CRD NamesAccepted/Established, and on CRD deletion removes the definitions and the stored custom
// resources. Watching the store (rather than hooking writes) keeps several servers on one etcd
// consistent.
import type { JSONSchemaProps, KubeObject, ResourceDefinition, TableColumn } from '../api/index.js';
import type { ApiContext } from './context.js';
import { getPath } from './jsonpath.js';
import { nowRFC3339 } from './meta.js';
import { applyDefaults, type SchemaContext } from './schema.js';
import { humanAge } from './table.js';
import { sleep } from '../../common/index.js';

export interface CrdController {
  stop(): void;
}

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: {
    status?: object;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: {
    name: string;
    type: string;
    format?: string;
    description?: string;
    priority?: number;
    jsonPath: string;
  }[];
}
interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: {
    plural: string;
    singular?: string;
    kind: string;
    listKind?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions: CrdVersion[];
}

const META_SCHEMA: JSONSchemaProps = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

export function crdDefinitions(crd: KubeObject): ResourceDefinition[] {
  const spec = crd.spec as CrdSpec | undefined;
  if (!spec?.group || !spec.names?.plural || !spec.names.kind || !Array.isArray(spec.versions)) return [];
  return spec.versions
    .filter((v) => v.served)
    .map((v) => {
      const user = v.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      const schema: JSONSchemaProps = {
        ...user,
        type: 'object',
        properties: {
          ...(user.properties ?? {}),
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: META_SCHEMA,
        },
      };
      const ctx: SchemaContext = { defs: {}, structural: true };
      const cols = (v.additionalPrinterColumns ?? []).filter((c) => c.jsonPath);
      const columns: TableColumn[] = [
        {
          name: 'Name',
          type: 'string',
          format: 'name',
          description: 'Name must be unique within a namespace.',
          priority: 0,
        },
        ...cols.map((c) => ({
          name: c.name,
          type: (['integer', 'number', 'boolean', 'date'].includes(c.type) ? c.type : 'string') as TableColumn['type'],
          format: c.format ?? '',
          description: c.description ?? '',
          priority: c.priority ?? 0,
        })),
      ];
      const hasAge = cols.some((c) => c.jsonPath === '.metadata.creationTimestamp');
      if (!hasAge)
        columns.push({
          name: 'Age',
          type: 'date',
          description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
          priority: 0,
        });
      const def: ResourceDefinition = {
        custom: true,
        group: spec.group,
        version: v.name,
        kind: spec.names.kind,
        listKind: spec.names.listKind ?? `${spec.names.kind}List`,
        plural: spec.names.plural,
        singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
        namespaced: spec.scope !== 'Cluster',
        shortNames: spec.names.shortNames,
        categories: spec.names.categories,
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
        subresources: { status: Boolean(v.subresources?.status), scale: v.subresources?.scale },
        schema,
        hasGeneration: true,
        nameRule: 'subdomain',
        defaults: (o) => {
          const { metadata: _m, ...rest } = o;
          applyDefaults(rest, schema, ctx);
          Object.assign(o, rest);
        },
        columns,
        row: (o, now) => [
          o.metadata.name,
          ...cols.map((c) => {
            const x = getPath(o, c.jsonPath);
            return c.type === 'date' && typeof x === 'string'
              ? humanAge(x, now)
              : (x ?? (c.type === 'string' ? '' : null));
          }),
          ...(hasAge ? [] : [humanAge(o.metadata.creationTimestamp, now)]),
        ],
      };
      return def;
    });
}

export async function startCrdController(ctx: ApiContext): Promise<CrdController | undefined> {
  const crdDef = ctx.registry.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
  if (!crdDef) return undefined;
  const prefix = ctx.registry.prefix(crdDef);
  const ac = new AbortController();
  const known = new Map<string, { group: string; plural: string }>();

  const register = async (key: string, crd: KubeObject, rev: number) => {
    const old = known.get(key);
    if (old) ctx.registry.removeResource(old.group, old.plural);
    const defs = crdDefinitions(crd);
    if (defs.length === 0) {
      known.delete(key);
      return;
    }
    ctx.registry.add(defs);
    known.set(key, { group: defs[0].group, plural: defs[0].plural });
    await markEstablished(key, crd, rev);
  };
  const markEstablished = async (key: string, crd: KubeObject, rev: number) => {
    const status = (crd.status ?? {}) as { conditions?: { type: string; status: string }[] };
    if (status.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    const now = nowRFC3339();
    const spec = crd.spec as CrdSpec;
    const next = {
      ...crd,
      status: {
        ...status,
        acceptedNames: {
          ...spec.names,
          singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
          listKind: spec.names.listKind ?? `${spec.names.kind}List`,
        },
        storedVersions: spec.versions.filter((v) => v.storage).map((v) => v.name),
        conditions: [
          {
            type: 'NamesAccepted',
            status: 'True',
            lastTransitionTime: now,
            reason: 'NoConflicts',
            message: 'no conflicts found',
          },
          {
            type: 'Established',
            status: 'True',
            lastTransitionTime: now,
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
          },
        ],
      },
    };
    try {
      await ctx.store.update(key, await ctx.registry.encode(crdDef, key, next), rev);
    } catch {
      /* a concurrent write; its watch event brings us back here */
    }
  };
  const unregister = async (key: string) => {
    const old = known.get(key);
    if (!old) return;
    known.delete(key);
    ctx.registry.removeResource(old.group, old.plural);
    const crPrefix = `/registry/${old.group}/${old.plural}/`;
    for (;;) {
      const page = await ctx.store.list(crPrefix, { limit: 500 });
      for (const kv of page.items) {
        try {
          await ctx.store.delete(kv.key, 0);
        } catch {
          /* already gone */
        }
      }
      if (!page.continue) break;
    }
  };

  const sync = async (): Promise<number> => {
    const page = await ctx.store.list(prefix);
    const seen = new Set<string>();
    for (const kv of page.items) {
      seen.add(kv.key);
      await register(kv.key, await ctx.registry.decode(crdDef, kv), kv.modRevision);
    }
    for (const k of [...known.keys()]) if (!seen.has(k)) await unregister(k);
    return page.revision;
  };
  let rev = await sync();
  void (async () => {
    while (!ac.signal.aborted) {
      try {
        const w = ctx.store.watch(prefix, rev, { signal: ac.signal });
        ac.signal.addEventListener('abort', () => w.close(), { once: true });
        for await (const ev of w) {
          if (ev.type === 'PROGRESS') continue;
          rev = ev.kv.modRevision;
          if (ev.type === 'DELETE') await unregister(ev.kv.key);
          else await register(ev.kv.key, await ctx.registry.decode(crdDef, ev.kv), ev.kv.modRevision);
        }
      } catch (e) {
        if (ac.signal.aborted) break;
        ctx.log.warn('crd watch ended; relisting', { error: e instanceof Error ? e.message : String(e) });
        await sleep(200);
        try {
          rev = await sync();
        } catch {
          /* store unavailable; retry */
        }
      }
    }
  })();
  return { stop: () => ac.abort() };
}
