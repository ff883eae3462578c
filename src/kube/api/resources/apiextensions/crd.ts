import type { FieldError, JSONSchemaProps, KubeObject } from '../../types.js';
import { kindSchema, ref } from '../../schema/builder.js';
import { nameColumn } from '../../printing/columns.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import {
  duplicate,
  forbidden,
  immutable,
  invalid,
  invalidRaw,
  notSupported,
  required,
} from '../../validation/errors.js';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain } from '../../validation/names.js';
import { resource } from '../shared/define.js';
import { X } from './crd-schema.js';

const COLUMN_TYPES = ['integer', 'number', 'string', 'boolean', 'date'];
const SCHEMA_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];

/** Basic structural-schema checks (upstream's structural schema rules, main ones). */
export function validateStructural(s: unknown, path: string, root = true): FieldError[] {
  const n = asObj(s) as JSONSchemaProps | undefined;
  if (!n) return [];
  const errs: FieldError[] = [];
  if (n.$ref !== undefined) errs.push(forbidden(`${path}.$ref`, '$ref is not supported'));
  const intOrString = n['x-kubernetes-int-or-string'] === true;
  const preserve = n['x-kubernetes-preserve-unknown-fields'] === true;
  if (n.type !== undefined && !SCHEMA_TYPES.includes(n.type))
    errs.push(notSupported(`${path}.type`, n.type, SCHEMA_TYPES));
  if (root && n.type !== 'object') errs.push(invalid(`${path}.type`, n.type ?? '', 'must be object at the root'));
  if (!n.type && !intOrString && !preserve) {
    if (n.properties) errs.push(required(`${path}.type`, 'must not be empty for specified object fields'));
    else if (n.items) errs.push(required(`${path}.type`, 'must not be empty for specified array fields'));
    else if (!root) errs.push(required(`${path}.type`, 'must not be empty for specified fields'));
  }
  if (n.type === 'array' && !n.items) errs.push(required(`${path}.items`, 'must be specified'));
  if (n.properties && n.additionalProperties !== undefined && n.additionalProperties !== false) {
    errs.push(forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
  }
  if (n['x-kubernetes-list-map-keys'] !== undefined && n['x-kubernetes-list-type'] !== 'map') {
    errs.push(
      invalid(
        `${path}.x-kubernetes-list-map-keys`,
        n['x-kubernetes-list-map-keys'],
        'must be empty if x-kubernetes-list-type is not map',
      ),
    );
  }
  if (n['x-kubernetes-list-type'] === 'map' && !asArr(n['x-kubernetes-list-map-keys']).length) {
    errs.push(required(`${path}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map'));
  }
  if (root && n.properties?.metadata) {
    const md = asObj(n.properties.metadata) as JSONSchemaProps;
    const extra = Object.keys(md.properties ?? {}).filter((k) => k !== 'name' && k !== 'generateName');
    if (extra.length)
      errs.push(
        forbidden(
          `${path}.properties[metadata]`,
          'must not specify anything other than name and generateName, but metadata is implicitly specified',
        ),
      );
  }
  for (const [k, v] of Object.entries(n.properties ?? {}))
    errs.push(...validateStructural(v, `${path}.properties[${k}]`, false));
  if (n.items) errs.push(...validateStructural(n.items, `${path}.items`, false));
  if (typeof n.additionalProperties === 'object')
    errs.push(...validateStructural(n.additionalProperties, `${path}.additionalProperties`, false));
  return errs;
}

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  // (spec is a struct upstream: a missing one is validated as empty, every missing field reported)
  const s = asObj(o.spec) ?? {};
  const names = asObj(s.names) ?? {};
  const name = o.metadata?.name;
  if (name && names.plural && s.group && name !== `${names.plural}.${s.group}`)
    errs.push(invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  if (!s.group) errs.push(required('spec.group'));
  else {
    errs.push(...isDNS1123Subdomain(s.group).map((m) => invalid('spec.group', s.group, m)));
    if (String(s.group).split('.').length < 2)
      errs.push(invalid('spec.group', s.group, 'should be a domain with at least one dot'));
  }
  if (!s.scope) errs.push(required('spec.scope'));
  else if (!['Cluster', 'Namespaced'].includes(s.scope))
    errs.push(notSupported('spec.scope', s.scope, ['Cluster', 'Namespaced']));
  if (!names.plural) errs.push(required('spec.names.plural'));
  else errs.push(...isDNS1123Label(names.plural).map((m) => invalid('spec.names.plural', names.plural, m)));
  if (names.singular)
    errs.push(...isDNS1123Label(names.singular).map((m) => invalid('spec.names.singular', names.singular, m)));
  if (!names.kind) errs.push(required('spec.names.kind', 'must not be empty'));
  else if (!/^[A-Za-z][A-Za-z0-9]*$/.test(names.kind))
    errs.push(
      invalid(
        'spec.names.kind',
        names.kind,
        'may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?',
      ),
    );
  if (names.listKind && names.listKind === names.kind)
    errs.push(invalid('spec.names.listKind', names.listKind, 'kind and listKind may not be the same'));
  asArr(names.shortNames).forEach((n: unknown, i: number) =>
    errs.push(...isDNS1123Label(String(n)).map((m) => invalid(`spec.names.shortNames[${i}]`, n, m))),
  );
  const versions = asArr(s.versions);
  if (!versions.length) errs.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  else {
    const storage = versions.filter((v) => v?.storage === true).length;
    if (storage !== 1)
      errs.push(
        invalidRaw(
          'spec.versions',
          '[]apiextensions.CustomResourceDefinitionVersion{...}',
          'must have exactly one version marked as storage version',
        ),
      );
    if (!versions.some((v) => v?.served === true))
      errs.push(
        invalidRaw(
          'spec.versions',
          '[]apiextensions.CustomResourceDefinitionVersion{...}',
          'must have at least one version marked as served',
        ),
      );
  }
  const seen = new Set<string>();
  versions.forEach((v: Obj, i: number) => {
    const p = `spec.versions[${i}]`;
    if (!v?.name) errs.push(required(`${p}.name`));
    else {
      errs.push(...isDNS1035Label(v.name).map((m) => invalid(`${p}.name`, v.name, m)));
      if (seen.has(v.name)) errs.push(duplicate(`${p}.name`, v.name));
      seen.add(v.name);
    }
    const sch = asObj(asObj(v?.schema)?.openAPIV3Schema);
    if (!sch) errs.push(required(`${p}.schema.openAPIV3Schema`, 'schemas are required'));
    else errs.push(...validateStructural(sch, `${p}.schema.openAPIV3Schema`));
    const sc = asObj(asObj(v?.subresources)?.scale);
    if (sc) {
      if (!String(sc.specReplicasPath ?? '').startsWith('.spec.'))
        errs.push(
          invalid(
            `${p}.subresources.scale.specReplicasPath`,
            sc.specReplicasPath ?? '',
            'should be a json path under .spec',
          ),
        );
      if (!String(sc.statusReplicasPath ?? '').startsWith('.status.'))
        errs.push(
          invalid(
            `${p}.subresources.scale.statusReplicasPath`,
            sc.statusReplicasPath ?? '',
            'should be a json path under .status',
          ),
        );
      if (sc.labelSelectorPath && !/^\.(spec|status)\./.test(sc.labelSelectorPath))
        errs.push(
          invalid(
            `${p}.subresources.scale.labelSelectorPath`,
            sc.labelSelectorPath,
            'should be a json path under either .spec or .status',
          ),
        );
    }
    asArr(v?.additionalPrinterColumns).forEach((c: Obj, j: number) => {
      const cp = `${p}.additionalPrinterColumns[${j}]`;
      if (!c?.name) errs.push(required(`${cp}.name`));
      if (!c?.type) errs.push(required(`${cp}.type`));
      else if (!COLUMN_TYPES.includes(c.type)) errs.push(notSupported(`${cp}.type`, c.type, COLUMN_TYPES));
      if (!c?.jsonPath) errs.push(required(`${cp}.JSONPath`));
      if (c?.priority !== undefined && c.priority < 0)
        errs.push(invalid(`${cp}.priority`, c.priority, 'must be greater than or equal to 0'));
    });
  });
  const conv = asObj(s.conversion);
  if (conv && !['None', 'Webhook'].includes(conv.strategy))
    errs.push(notSupported('spec.conversion.strategy', conv.strategy ?? '', ['None', 'Webhook']));
  if (conv?.strategy === 'Webhook' && !conv.webhook)
    errs.push(required('spec.conversion.webhook', 'required when strategy is set to Webhook'));
  if (s.preserveUnknownFields === true)
    errs.push(invalid('spec.preserveUnknownFields', true, 'must be false in order to use defaults in the schema'));
  return errs;
}

export const customResourceDefinition = resource({
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  hasGeneration: true,
  subresources: { status: true },
  schema: kindSchema(
    { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition' },
    'CustomResourceDefinition represents a resource that should be exposed on the API server. Its name must be in the format <.spec.name>.<.spec.group>.',
    {
      spec: ref(X('CustomResourceDefinitionSpec'), 'How the custom resource is served.'),
      status: ref(X('CustomResourceDefinitionStatus'), 'The state of the definition. Read-only.'),
    },
    ['spec'],
  ),
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    const s = asObj(o.spec);
    if (!s) return;
    const names = asObj(s.names);
    if (names?.kind) {
      names.singular ||= String(names.kind).toLowerCase();
      names.listKind ||= `${names.kind}List`;
    }
    s.conversion = asObj(s.conversion) ?? {};
    s.conversion.strategy ??= 'None';
    const wh = asObj(s.conversion.webhook);
    if (wh && !asArr(wh.conversionReviewVersions).length) wh.conversionReviewVersions = ['v1beta1'];
    for (const v of asArr(s.versions))
      for (const c of asArr(v?.additionalPrinterColumns)) if (asObj(c)) c.priority ??= 0;
    o.status = asObj(o.status) ?? {};
    o.status.acceptedNames ??= { plural: '', kind: '' };
    o.status.storedVersions ??= [];
  },
  validate: (o: KubeObject) => validate(o as Obj),
  validateUpdate(o: KubeObject, old: KubeObject) {
    const s = asObj((o as Obj).spec) ?? {},
      p = asObj((old as Obj).spec) ?? {};
    return [...immutable('spec.group', s.group, p.group), ...immutable('spec.scope', s.scope, p.scope)];
  },
  columns: [nameColumn, { name: 'Created At', type: 'date', description: 'When the object was created.', priority: 0 }],
  row: (obj) => [obj.metadata.name, obj.metadata.creationTimestamp ?? ''],
});
