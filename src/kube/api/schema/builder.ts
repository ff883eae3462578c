// Small constructors for the OpenAPI v3 schemas of built-in kinds. Upstream publishes its schemas
// generated from Go structs; we write ours by hand, so these helpers keep each kind's file short
// and make the list/patch semantics (merge keys, list types) explicit at every list.
import type { JSONSchemaProps } from '../types.js';
import { DEFINITIONS } from './registry.js';

export type S = JSONSchemaProps;

export const str = (description: string, extra: Partial<S> = {}): S => ({ type: 'string', description, ...extra });
export const enumStr = (description: string, values: string[]): S => ({ type: 'string', description, enum: values });
export const int32 = (description: string, extra: Partial<S> = {}): S => ({
  type: 'integer',
  format: 'int32',
  description,
  ...extra,
});
export const int64 = (description: string, extra: Partial<S> = {}): S => ({
  type: 'integer',
  format: 'int64',
  description,
  ...extra,
});
export const num = (description: string): S => ({ type: 'number', format: 'double', description });
export const bool = (description: string): S => ({ type: 'boolean', description });
export const bytes = (description: string): S => ({ type: 'string', format: 'byte', description });
export const strMap = (description: string): S => ({
  type: 'object',
  description,
  additionalProperties: { type: 'string', default: '' },
});
export const mapOf = (description: string, value: S): S => ({
  type: 'object',
  description,
  additionalProperties: value,
});
export const free = (description: string): S => ({
  type: 'object',
  description,
  'x-kubernetes-preserve-unknown-fields': true,
});

export function obj(description: string, properties: Record<string, S>, required?: string[]): S {
  const s: S = { type: 'object', description, properties };
  if (required?.length) s.required = required;
  return s;
}

export interface ListOpts {
  /** Strategic-merge key, also the SSA map key unless `mapKeys` says otherwise. */
  mergeKey?: string;
  /** Strategic-merge strategy; defaults to `merge` when a merge key is given. */
  strategy?: string;
  listType?: 'atomic' | 'set' | 'map';
  mapKeys?: string[];
}

export function arr(description: string, items: S, o: ListOpts = {}): S {
  const s: S = { type: 'array', description, items };
  if (o.mergeKey) {
    s['x-kubernetes-patch-merge-key'] = o.mergeKey;
    s['x-kubernetes-patch-strategy'] = o.strategy ?? 'merge';
  } else if (o.strategy) s['x-kubernetes-patch-strategy'] = o.strategy;
  if (o.listType) s['x-kubernetes-list-type'] = o.listType;
  if (o.listType === 'map') s['x-kubernetes-list-map-keys'] = o.mapKeys ?? (o.mergeKey ? [o.mergeKey] : []);
  return s;
}

/** Atomic list of strings (upstream marks most string lists `atomic`). */
export const strList = (description: string, o: ListOpts = { listType: 'atomic' }): S =>
  arr(description, { type: 'string', default: '' }, o);

/** A reference to a named definition. With a description it is wrapped as upstream does in v3
 *  (`allOf: [{$ref}]` beside the field's own description) so `kubectl explain` prints it.
 *  Targets may be defined later (a unit test checks every reference resolves). */
export function ref(name: string, description?: string, extra: Partial<S> = {}): S {
  const r: S = { $ref: `#/components/schemas/${name}` };
  if (!description && !Object.keys(extra).length) return r;
  return { allOf: [r], ...(description ? { description } : {}), ...extra };
}

/** Registers a named definition and returns a `$ref` to it. */
export function define(name: string, schema: S): S {
  DEFINITIONS[name] = schema;
  return { $ref: `#/components/schemas/${name}` };
}

/** Top-level object schema for a kind: apiVersion, kind, metadata plus the kind's own fields. */
export function kindSchema(
  gvk: { group: string; version: string; kind: string },
  description: string,
  properties: Record<string, S>,
  required?: string[],
): S {
  const s = obj(
    description,
    {
      apiVersion: str(
        'APIVersion defines the versioned schema of this representation of an object. Servers convert recognized schemas to the latest internal value and may reject unrecognized values.',
      ),
      kind: str(
        'Kind is a string value representing the REST resource this object represents, inferred from the endpoint the client submits requests to. CamelCase; cannot be updated.',
      ),
      metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', "Standard object's metadata.", { default: {} }),
      ...properties,
    },
    required,
  );
  s['x-kubernetes-group-version-kind'] = [gvk];
  // Also registered under upstream's definition name, so other kinds can embed it (StatefulSet's
  // volumeClaimTemplates embed PersistentVolumeClaim) and OpenAPI documents can name it.
  DEFINITIONS[definitionNameFor(gvk.group, gvk.version, gvk.kind)] = s;
  return s;
}

const GROUP_PACKAGES: Record<string, string> = {
  '': 'io.k8s.api.core',
  'apiextensions.k8s.io': 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions',
  'apiregistration.k8s.io': 'io.k8s.kube-aggregator.pkg.apis.apiregistration',
};

/** Upstream's OpenAPI definition name for a kind, e.g. `io.k8s.api.core.v1.Pod`,
 *  `io.k8s.api.rbac.v1.Role`, `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition`. */
export function definitionNameFor(group: string, version: string, kind: string): string {
  const pkg = GROUP_PACKAGES[group] ?? `io.k8s.api.${group.split('.')[0]}`;
  return `${pkg}.${version}.${kind}`;
}

export function listSchema(gvk: { group: string; version: string; kind: string }, itemDef: string): S {
  const s = obj(
    `${gvk.kind} is a list of ${gvk.kind.replace(/List$/, '')} objects.`,
    {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      items: arr('List of objects.', { $ref: `#/components/schemas/${itemDef}` }),
      metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta', 'Standard list metadata.', { default: {} }),
    },
    ['items'],
  );
  s['x-kubernetes-group-version-kind'] = [gvk];
  return s;
}
