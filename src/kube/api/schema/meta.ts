// Shared apimachinery definitions (meta/v1, resource.Quantity, intstr.IntOrString) under
// upstream's definition names, so `$ref`s and `kubectl explain` read like upstream's.
import { arr, bool, define, int32, int64, obj, ref, str, strList, strMap } from './builder.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const N = {
  Time: `${META}.Time`,
  MicroTime: `${META}.MicroTime`,
  Duration: `${META}.Duration`,
  ObjectMeta: `${META}.ObjectMeta`,
  ListMeta: `${META}.ListMeta`,
  LabelSelector: `${META}.LabelSelector`,
  LabelSelectorRequirement: `${META}.LabelSelectorRequirement`,
  OwnerReference: `${META}.OwnerReference`,
  ManagedFieldsEntry: `${META}.ManagedFieldsEntry`,
  FieldsV1: `${META}.FieldsV1`,
  Status: `${META}.Status`,
  StatusDetails: `${META}.StatusDetails`,
  StatusCause: `${META}.StatusCause`,
  Condition: `${META}.Condition`,
  Quantity: 'io.k8s.apimachinery.pkg.api.resource.Quantity',
  IntOrString: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
} as const;

define(N.Time, {
  type: 'string',
  format: 'date-time',
  description: 'Time is a timestamp serialized as RFC 3339 (seconds precision), e.g. 2024-01-02T15:04:05Z.',
});
define(N.MicroTime, {
  type: 'string',
  format: 'date-time',
  description: 'MicroTime is a timestamp serialized as RFC 3339 with microsecond precision.',
});
define(N.Duration, {
  type: 'string',
  description: 'Duration is a Go-style duration string such as "1h30m" or "300ms".',
});
// Quantities are strings on the wire but decoders accept bare numbers, hence int-or-string.
define(N.Quantity, {
  type: 'string',
  format: 'quantity',
  'x-kubernetes-int-or-string': true,
  description:
    'A fixed-point number with an optional suffix: binary SI (Ki, Mi, Gi, Ti, Pi, Ei), decimal SI (n, u, m, "", k, M, G, T, P, E) or a decimal exponent (e3, E6). Examples: 100m, 1Gi, 1e3.',
});
define(N.IntOrString, {
  type: 'string',
  format: 'int-or-string',
  'x-kubernetes-int-or-string': true,
  description:
    'A value that is either an integer or a string (for example a port number or a port name, an absolute number or a percentage).',
});
define(N.FieldsV1, {
  type: 'object',
  description:
    'FieldsV1 is the JSON trie of the field set a manager owns: keys are "f:<name>", "k:<json key>", "v:<value>" or "i:<index>", "." marks the field itself.',
  'x-kubernetes-preserve-unknown-fields': true,
});

define(
  N.LabelSelectorRequirement,
  obj(
    'A selector requirement: a key, an operator and values.',
    {
      key: str('The label key the requirement applies to.'),
      operator: str('How the key relates to the values: In, NotIn, Exists or DoesNotExist.'),
      values: strList('Values for In and NotIn (non-empty); must be empty for Exists and DoesNotExist.'),
    },
    ['key', 'operator'],
  ),
);
define(N.LabelSelector, {
  ...obj(
    'A label query over a set of objects. matchLabels and matchExpressions are ANDed; an empty selector matches every object, a null one matches none.',
    {
      matchLabels: strMap(
        'A map of {key: value} pairs; each is equivalent to a matchExpressions element with operator In and the single value.',
      ),
      matchExpressions: arr('A list of label selector requirements, ANDed.', ref(N.LabelSelectorRequirement), {
        listType: 'atomic',
      }),
    },
  ),
  'x-kubernetes-map-type': 'atomic',
});

define(N.OwnerReference, {
  ...obj(
    'Identifies an owning object; the owned object is garbage collected when every owner is gone. Owners must be in the same namespace or cluster-scoped.',
    {
      apiVersion: str('API version of the referent.'),
      kind: str('Kind of the referent.'),
      name: str('Name of the referent.'),
      uid: str('UID of the referent.'),
      controller: bool('If true, this reference points to the managing controller.'),
      blockOwnerDeletion: bool(
        'If true, and the owner has the "foregroundDeletion" finalizer, the owner cannot be deleted from the key-value store until this reference is removed.',
      ),
    },
    ['apiVersion', 'kind', 'name', 'uid'],
  ),
  'x-kubernetes-map-type': 'atomic',
});

define(
  N.ManagedFieldsEntry,
  obj('Records which workflow (manager) owns which fields, for server-side apply.', {
    apiVersion: str('The version of the resource the field set applies to.'),
    fieldsType: str('The format of the fields; only "FieldsV1" is known.'),
    fieldsV1: ref(N.FieldsV1, 'The field set, in the FieldsV1 format.'),
    manager: str('The identifier of the workflow managing these fields.'),
    operation: str('The kind of operation that produced this entry: Apply or Update.'),
    subresource: str('The subresource used to update the object, empty for the main resource.'),
    time: ref(N.Time, 'When the operation that added this entry happened.'),
  }),
);

define(
  N.ObjectMeta,
  obj('Metadata every persisted resource has: identity, labels, annotations, ownership and lifecycle.', {
    name: str(
      'Unique name within a namespace (or cluster for cluster-scoped kinds). Required on create unless generateName is set; cannot be updated.',
    ),
    generateName: str(
      'Optional prefix from which the server generates a unique name when name is empty: a random suffix is appended.',
    ),
    namespace: str(
      'The namespace the object lives in; empty means "default" for namespaced kinds. Cluster-scoped objects have none. Cannot be updated.',
    ),
    uid: str('Unique identifier for this object over its whole lifetime, set by the server on create. Read-only.'),
    resourceVersion: str(
      'Opaque value that changes with every write; used for optimistic concurrency, change detection and watch. Read-only.',
    ),
    generation: int64('A sequence number for the desired state, bumped by the server on spec changes. Read-only.'),
    creationTimestamp: ref(N.Time, 'When the object was created, set by the server. Read-only.'),
    deletionTimestamp: ref(
      N.Time,
      'When the object will be deleted, set by the server when a graceful deletion is requested. Read-only.',
    ),
    deletionGracePeriodSeconds: int64(
      'Seconds allowed for the object to terminate gracefully before it is removed. Read-only.',
    ),
    labels: strMap('Key/value pairs for organizing and selecting objects (label selectors match on them).'),
    annotations: strMap('Unstructured key/value metadata for tools and libraries; not queryable.'),
    ownerReferences: arr(
      'Objects this object depends on; when all are deleted, this object is garbage collected.',
      ref(N.OwnerReference),
      { mergeKey: 'uid', listType: 'map', mapKeys: ['uid'] },
    ),
    finalizers: strList('Entries that must be removed before the object is deleted from storage.', {
      strategy: 'merge',
      listType: 'set',
    }),
    managedFields: arr('Which managers own which fields (server-side apply bookkeeping).', ref(N.ManagedFieldsEntry), {
      listType: 'atomic',
    }),
    selfLink: str('Deprecated: not set by the server.'),
  }),
);

define(
  N.ListMeta,
  obj('Metadata of list responses.', {
    resourceVersion: str('The resource version the list was read at; watch from it to see later changes.'),
    continue: str('Set when more results are available; pass it as the continue parameter to read the next page.'),
    remainingItemCount: int64('How many items follow this page, when the server can tell.'),
    selfLink: str('Deprecated; not set.'),
  }),
);

define(
  N.StatusCause,
  obj('One cause of an error, usually a field failing validation.', {
    reason: str('Machine-readable cause, e.g. FieldValueRequired.'),
    message: str('Human-readable description of the cause.'),
    field: str('The field that caused the error, as a path such as spec.containers[0].image.'),
  }),
);
define(
  N.StatusDetails,
  obj('Extra data about an error.', {
    name: str('The name of the object the error is about.'),
    group: str('The API group of the object.'),
    kind: str('The kind (or resource) of the object.'),
    uid: str('The UID of the object.'),
    causes: arr('Individual causes, e.g. field errors.', ref(N.StatusCause), { listType: 'atomic' }),
    retryAfterSeconds: int32('Seconds to wait before retrying, if applicable.'),
  }),
);
define(
  N.Status,
  obj('The result of an operation that returns no object, typically an error.', {
    apiVersion: str('APIVersion of this representation.'),
    kind: str('Always Status.'),
    metadata: ref(N.ListMeta, 'Standard list metadata.', { default: {} }),
    status: str('Success or Failure.'),
    message: str('Human-readable description of the status.'),
    reason: str('Machine-readable reason, e.g. NotFound, AlreadyExists, Invalid.'),
    details: ref(N.StatusDetails, 'Extended data for the reason.'),
    code: int32('The HTTP status code.'),
  }),
);

define(
  N.Condition,
  obj(
    "One aspect of an object's current state.",
    {
      type: str('Type of the condition in CamelCase.'),
      status: str('True, False or Unknown.'),
      observedGeneration: int64('The metadata.generation the condition was computed from.'),
      lastTransitionTime: ref(N.Time, 'When the condition last changed status.'),
      reason: str('CamelCase machine-readable reason for the last transition.'),
      message: str('Human-readable details of the last transition.'),
    },
    ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  ),
);

export const conditionsList = (description: string) =>
  arr(description, ref(N.Condition), { mergeKey: 'type', listType: 'map', mapKeys: ['type'] });
