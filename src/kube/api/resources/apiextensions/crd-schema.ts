// apiextensions.k8s.io/v1 schemas of CustomResourceDefinition.
import { arr, bool, define, enumStr, int32, obj, ref, str, strList } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';

export const X = (n: string) => `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.${n}`;

define(X('JSONSchemaProps'), {
  type: 'object',
  description:
    'A JSON-Schema following the OpenAPI v3 schema subset Kubernetes supports (type, properties, items, required, enum, format, minimum/maximum, pattern, default, nullable, allOf/anyOf/oneOf/not, x-kubernetes-* extensions). Structural: every node specifies its type.',
  'x-kubernetes-preserve-unknown-fields': true,
});
define(
  X('CustomResourceDefinitionNames'),
  obj(
    'Names to serve the custom resource under.',
    {
      plural: str(
        "Plural name of the resource, served at /apis/<group>/<version>/.../<plural>; must be lowercase and match the first part of the CRD's name.",
      ),
      singular: str('Singular name of the resource; must be lowercase. Defaults to the lowercased kind.'),
      shortNames: strList('Short names for the resource, shown in discovery (kubectl get <shortname>); lowercase.'),
      kind: str('The serialized kind of the resource, normally CamelCase and singular.'),
      listKind: str('The serialized kind of the list. Defaults to "<kind>List".'),
      categories: strList('Grouped resources this resource belongs to (e.g. "all").'),
    },
    ['plural', 'kind'],
  ),
);
define(
  X('CustomResourceValidation'),
  obj('Validation methods for custom resources.', {
    openAPIV3Schema: ref(X('JSONSchemaProps'), 'The OpenAPI v3 schema used for validation and pruning.'),
  }),
);
define(
  X('CustomResourceSubresourceScale'),
  obj(
    'How to serve the scale subresource.',
    {
      specReplicasPath: str('JSON path (e.g. .spec.replicas) of the desired replicas; must be under .spec.'),
      statusReplicasPath: str('JSON path (e.g. .status.replicas) of the observed replicas; must be under .status.'),
      labelSelectorPath: str(
        'JSON path (e.g. .status.selector) of the string-form label selector; under .spec or .status.',
      ),
    },
    ['specReplicasPath', 'statusReplicasPath'],
  ),
);
define(
  X('CustomResourceSubresources'),
  obj('Subresources served for the custom resource.', {
    status: {
      type: 'object',
      description: 'Enables the status subresource: /status writes only status; main-resource writes ignore status.',
      'x-kubernetes-preserve-unknown-fields': true,
    },
    scale: ref(X('CustomResourceSubresourceScale'), 'Enables the scale subresource.'),
  }),
);
define(
  X('CustomResourceColumnDefinition'),
  obj(
    'An additional column for server-side printing.',
    {
      name: str('Human-readable name of the column.'),
      type: str('OpenAPI type of the column: integer, number, string, boolean or date.'),
      format: str('Optional OpenAPI format of the column.'),
      description: str('Human-readable description of the column.'),
      priority: int32('0 for the standard view, > 0 for -o wide.'),
      jsonPath: str('Simple JSON path evaluated against each object to produce the value.'),
    },
    ['name', 'type', 'jsonPath'],
  ),
);
define(
  X('SelectableField'),
  obj(
    'A field usable as a field selector.',
    { jsonPath: str('Simple JSON path of a string, integer or boolean field.') },
    ['jsonPath'],
  ),
);
define(
  X('CustomResourceDefinitionVersion'),
  obj(
    'A version of the custom resource.',
    {
      name: str('Version name, e.g. v1, v2beta1; served under /apis/<group>/<version>.'),
      served: bool('Whether this version is served by the REST APIs.'),
      storage: bool('Whether this version is used for storage; exactly one version must be.'),
      deprecated: bool('Whether this version is deprecated; requests get a warning header.'),
      deprecationWarning: str('Overrides the default warning returned to clients.'),
      schema: ref(X('CustomResourceValidation'), 'Schema used for validation, pruning and defaulting of this version.'),
      subresources: ref(X('CustomResourceSubresources'), 'Subresources of this version.'),
      additionalPrinterColumns: arr(
        'Additional columns returned in Table output.',
        ref(X('CustomResourceColumnDefinition')),
        { listType: 'atomic' },
      ),
      selectableFields: arr('Fields usable as field selectors.', ref(X('SelectableField')), { listType: 'atomic' }),
    },
    ['name', 'served', 'storage'],
  ),
);
define(
  X('CustomResourceConversion'),
  obj(
    'How to convert between versions.',
    {
      strategy: enumStr('None (only apiVersion changes) or Webhook.', ['None', 'Webhook']),
      webhook: {
        type: 'object',
        description: 'Webhook configuration (strategy Webhook).',
        'x-kubernetes-preserve-unknown-fields': true,
      },
    },
    ['strategy'],
  ),
);
define(
  X('CustomResourceDefinitionSpec'),
  obj(
    'How a custom resource is served.',
    {
      group: str("The API group of the resource, served at /apis/<group>/...; must match the name's suffix."),
      names: ref(X('CustomResourceDefinitionNames'), 'Resource and kind names.'),
      scope: enumStr('Cluster or Namespaced.', ['Cluster', 'Namespaced']),
      versions: arr(
        'All versions of the resource; the first served one is preferred.',
        ref(X('CustomResourceDefinitionVersion')),
        { listType: 'atomic' },
      ),
      conversion: ref(X('CustomResourceConversion'), 'How to convert between versions.'),
      preserveUnknownFields: bool('Deprecated; must be false in apiextensions.k8s.io/v1.'),
    },
    ['group', 'names', 'scope', 'versions'],
  ),
);
define(
  X('CustomResourceDefinitionCondition'),
  obj(
    'A condition of a CRD.',
    {
      type: str('Established, NamesAccepted, Terminating, ...'),
      status: str('True, False or Unknown.'),
      lastTransitionTime: ref(N.Time, 'Last time the condition changed status.'),
      reason: str('Reason.'),
      message: str('Details.'),
    },
    ['type', 'status'],
  ),
);
define(
  X('CustomResourceDefinitionStatus'),
  obj('The state of a CRD.', {
    conditions: arr('Conditions of the CRD.', ref(X('CustomResourceDefinitionCondition')), {
      listType: 'map',
      mapKeys: ['type'],
    }),
    acceptedNames: ref(X('CustomResourceDefinitionNames'), 'The names actually being used to serve discovery.'),
    storedVersions: strList('Versions of the resource that were ever persisted.'),
  }),
);
