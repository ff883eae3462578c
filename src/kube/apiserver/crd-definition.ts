// The apiextensions.k8s.io/v1 CustomResourceDefinition kind itself, used when the resource set
// (src/kube/api) does not define it: upstream's main validation rules and printing.
import type { FieldError, JSONSchemaProps, KubeObject, ResourceDefinition } from '../api/index.js';
import { humanAge } from './table.js';

const free: JSONSchemaProps = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

function validate(o: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = (o.spec ?? {}) as {
    group?: string;
    scope?: string;
    names?: { plural?: string; kind?: string; singular?: string };
    versions?: { name?: string; served?: boolean; storage?: boolean; schema?: { openAPIV3Schema?: unknown } }[];
  };
  const req = (field: string) => errs.push({ type: 'FieldValueRequired', field, message: 'Required value' });
  if (!spec.group) req('spec.group');
  else if (!spec.group.includes('.'))
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec.group',
      message: `Invalid value: "${spec.group}": should be a domain with at least one dot`,
    });
  if (!spec.names?.plural) req('spec.names.plural');
  if (!spec.names?.kind) req('spec.names.kind');
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    errs.push({
      type: 'FieldValueNotSupported',
      field: 'spec.scope',
      message: `Unsupported value: "${spec.scope ?? ''}": supported values: "Cluster", "Namespaced"`,
    });
  if (!Array.isArray(spec.versions) || spec.versions.length === 0) req('spec.versions');
  else {
    if (spec.versions.filter((v) => v.storage).length !== 1)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'spec.versions',
        message: `Invalid value: ${JSON.stringify(spec.versions.map((v) => v.name))}: must have exactly one version marked as storage version`,
      });
    spec.versions.forEach((v, i) => {
      if (!v.name) req(`spec.versions[${i}].name`);
    });
  }
  if (spec.group && spec.names?.plural && o.metadata.name !== `${spec.names.plural}.${spec.group}`) {
    errs.push({
      type: 'FieldValueInvalid',
      field: 'metadata.name',
      message: `Invalid value: "${o.metadata.name}": must be spec.names.plural+"."+spec.group`,
    });
  }
  return errs;
}

export const customResourceDefinition: ResourceDefinition = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  listKind: 'CustomResourceDefinitionList',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: { status: true },
  schema: {
    type: 'object',
    description: 'CustomResourceDefinition represents a resource that should be exposed on the API server.',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: free,
      spec: { ...free, description: 'spec describes how the user wants the resources to appear' },
      status: free,
    },
  },
  hasGeneration: true,
  validate,
  columns: [
    {
      name: 'Name',
      type: 'string',
      format: 'name',
      description: 'Name must be unique within a namespace.',
      priority: 0,
    },
    {
      name: 'Created At',
      type: 'date',
      description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
      priority: 0,
    },
  ],
  row: (o) => [o.metadata.name, o.metadata.creationTimestamp],
};
void humanAge;
