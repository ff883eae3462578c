// OpenAPI v3, generated from the definitions: `/openapi/v3` lists one document per group version;
// each document has the kinds' schemas in components.schemas (tagged with
// x-kubernetes-group-version-kind, which `kubectl explain` looks for) and their paths, whose PATCH
// operations carry the `fieldValidation` query parameter (kubectl then validates server-side).
import { createHash } from 'node:crypto';
import type { JSONSchemaProps, ResourceDefinition } from '../api/index.js';
import type { Registry } from './registry.js';

export function schemaName(d: ResourceDefinition): string {
  if (d.schema.$ref) return d.schema.$ref.replace(/^#\/(components\/schemas|definitions)\//, '');
  const g =
    d.group === ''
      ? 'io.k8s.api.core'
      : d.group.includes('.')
        ? d.group.split('.').reverse().join('.')
        : `io.k8s.api.${d.group}`;
  return `${g}.${d.version}.${d.kind}`;
}

function fixRefs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fixRefs);
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] =
      k === '$ref' && typeof x === 'string' ? x.replace(/^#\/definitions\//, '#/components/schemas/') : fixRefs(x);
  }
  return out;
}

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

const param = (name: string, inWhere: 'query' | 'path', description = '') => ({
  name,
  in: inWhere,
  description,
  required: inWhere === 'path' ? true : undefined,
  schema: {
    type:
      name === 'limit' || name === 'timeoutSeconds'
        ? 'integer'
        : name === 'force' || name === 'watch' || name === 'allowWatchBookmarks'
          ? 'boolean'
          : 'string',
    uniqueItems: true,
  },
});

function ref(name: string) {
  return { $ref: `#/components/schemas/${name}` };
}

function operation(
  d: ResourceDefinition,
  action: string,
  verb: string,
  bodyRef: string | undefined,
  respRef: string,
  extraParams: string[],
  sub?: string,
): Record<string, unknown> {
  const gvk = { group: d.group, version: d.version, kind: d.kind };
  const op: Record<string, unknown> = {
    description: `${action} the specified ${d.kind}`,
    operationId: `${verb}${d.kind}${sub ? sub[0].toUpperCase() + sub.slice(1) : ''}`,
    parameters: extraParams.map((p) => param(p, 'query')),
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref(respRef) } } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  };
  if (bodyRef) {
    const types =
      action === 'patch'
        ? [
            'application/apply-patch+yaml',
            'application/json-patch+json',
            'application/merge-patch+json',
            'application/strategic-merge-patch+json',
          ]
        : ['application/json', 'application/yaml'];
    op.requestBody = {
      required: true,
      content: Object.fromEntries(
        types.map((t) => [t, { schema: action === 'patch' ? { type: 'object' } : ref(bodyRef) }]),
      ),
    };
  }
  return op;
}

/** Quantity and IntOrString as upstream publishes them: no `type`, a `oneOf` of the scalars (so
 *  `kubectl explain` names them `<Quantity>`, `<IntOrString>`, as it does against kube-apiserver).
 *  The server's own schema keeps `type: string` with x-kubernetes-int-or-string for validation. */
function published(name: string, s: JSONSchemaProps): JSONSchemaProps {
  if (
    name === 'io.k8s.apimachinery.pkg.api.resource.Quantity' ||
    name === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString'
  ) {
    const { type: _t, format: _f, 'x-kubernetes-int-or-string': _x, ...rest } = s;
    const quantity = name.endsWith('Quantity');
    return {
      ...rest,
      ...(quantity ? {} : { format: 'int-or-string' }),
      oneOf: quantity ? [{ type: 'string' }, { type: 'number' }] : [{ type: 'integer' }, { type: 'string' }],
    };
  }
  return s;
}

export function groupVersionDocument(
  reg: Registry,
  group: string,
  version: string,
  k8sVersion: string,
): Record<string, unknown> | undefined {
  const defs = reg.all().filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  const schemas: Record<string, JSONSchemaProps> = {};
  const paths: Record<string, unknown> = {};
  for (const d of defs) {
    for (const [n, s] of Object.entries(d.definitions ?? {})) schemas[n] = published(n, fixRefs(s) as JSONSchemaProps);
    const name = schemaName(d);
    const base = ((d.schema.$ref ? schemas[name] : fixRefs(d.schema)) as JSONSchemaProps) ?? {};
    schemas[name] = {
      ...base,
      'x-kubernetes-group-version-kind': [{ group: d.group, version: d.version, kind: d.kind }],
    };
    const listName = `${name}List`;
    schemas[listName] = {
      type: 'object',
      required: ['items'],
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        items: { type: 'array', items: ref(name) },
        metadata: { type: 'object' },
      },
      'x-kubernetes-group-version-kind': [{ group: d.group, version: d.version, kind: d.listKind }],
    };
    const prefix = `/${gvPath(group, version)}${d.namespaced ? '/namespaces/{namespace}' : ''}/${d.plural}`;
    const writeParams = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'];
    paths[prefix] = {
      get: operation(d, 'list', 'list', undefined, listName, [
        'labelSelector',
        'fieldSelector',
        'limit',
        'continue',
        'resourceVersion',
        'resourceVersionMatch',
        'watch',
        'allowWatchBookmarks',
        'timeoutSeconds',
      ]),
      post: operation(d, 'post', 'create', name, name, writeParams),
      delete: operation(d, 'deletecollection', 'deleteCollection', undefined, listName, [
        'labelSelector',
        'fieldSelector',
        'dryRun',
        'propagationPolicy',
        'gracePeriodSeconds',
      ]),
      parameters: d.namespaced ? [param('namespace', 'path')] : [],
    };
    const named = { parameters: [param('name', 'path'), ...(d.namespaced ? [param('namespace', 'path')] : [])] };
    paths[`${prefix}/{name}`] = {
      get: operation(d, 'get', 'read', undefined, name, ['pretty']),
      put: operation(d, 'put', 'replace', name, name, writeParams),
      patch: operation(d, 'patch', 'patch', name, name, [...writeParams, 'force']),
      delete: operation(d, 'delete', 'delete', undefined, name, ['dryRun', 'propagationPolicy', 'gracePeriodSeconds']),
      ...named,
    };
    if (d.subresources?.status) {
      paths[`${prefix}/{name}/status`] = {
        get: operation(d, 'get', 'read', undefined, name, ['pretty'], 'status'),
        put: operation(d, 'put', 'replace', name, name, writeParams, 'status'),
        patch: operation(d, 'patch', 'patch', name, name, [...writeParams, 'force'], 'status'),
        ...named,
      };
    }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: k8sVersion }, paths, components: { schemas } };
}

/** Cached documents with content hashes; rebuilt when the registry changes (CRDs). */
export class OpenApiCache {
  private docs = new Map<string, { body: string; hash: string }>();
  constructor(
    private reg: Registry,
    private k8sVersion: string,
  ) {
    reg.onChange(() => this.docs.clear());
  }

  private doc(group: string, version: string) {
    const k = `${group}/${version}`;
    let d = this.docs.get(k);
    if (!d) {
      const doc = groupVersionDocument(this.reg, group, version, this.k8sVersion);
      if (!doc) return undefined;
      const body = JSON.stringify(doc);
      d = { body, hash: createHash('sha512').update(body).digest('hex').slice(0, 128).toUpperCase() };
      this.docs.set(k, d);
    }
    return d;
  }

  index(): unknown {
    const paths: Record<string, unknown> = {};
    for (const g of this.reg.groupVersions())
      for (const v of g.versions) {
        const d = this.doc(g.group, v);
        if (d) paths[gvPath(g.group, v)] = { serverRelativeURL: `/openapi/v3/${gvPath(g.group, v)}?hash=${d.hash}` };
      }
    return { paths };
  }

  /** `api/v1` or `apis/<g>/<v>` → the document's JSON text. */
  document(path: string): string | undefined {
    const p = path.split('/').filter(Boolean);
    if (p[0] === 'api' && p.length === 2) return this.doc('', p[1])?.body;
    if (p[0] === 'apis' && p.length === 3) return this.doc(p[1], p[2])?.body;
    return undefined;
  }
}
