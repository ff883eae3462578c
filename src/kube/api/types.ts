// What the API server needs to serve one kind. Each resource module in src/kube/api/resources/
// exports a ResourceDefinition; the API server's machinery (src/kube/apiserver) is generic over
// them: CRUD, watch, patch, apply, discovery, OpenAPI, tables and field selectors all read these.

/** A field error; becomes a `StatusCause` {reason: type, field, message} in a 422 Invalid Status. */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueTypeInvalid'
    | 'FieldValueNotFound';
  /** JSON-path-like field as upstream prints it, e.g. `spec.containers[0].image`, `metadata.labels`. */
  field: string;
  message: string;
  /** A value of the wrong JSON type: what Go's decoder would have said (built-in kinds fail such
   *  a body while decoding, a 400). */
  decode?: { got: string; want: string; struct?: string; goPath?: string };
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

/** OpenAPI v3 schema (the subset Kubernetes uses, with its x-kubernetes-* extensions). */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  oneOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  /** Reference to a named schema in components.schemas (e.g. `#/components/schemas/io.k8s.api.core.v1.PodSpec`). */
  $ref?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  /** Strategic merge patch: `merge` lists merge by `x-kubernetes-patch-merge-key`; `retainKeys`, `replace`. */
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  /** Server-side apply list semantics. */
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  [k: `x-${string}`]: unknown;
}

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string; // e.g. 'name' for the NAME column
  description: string;
  priority: number; // 0 = default columns; 1 = only with -o wide
}

export interface ScaleSubresource {
  specReplicasPath: string; // e.g. '.spec.replicas'
  statusReplicasPath: string; // e.g. '.status.replicas'
  labelSelectorPath?: string; // e.g. '.status.selector' (string form)
}

export interface ResourceDefinition {
  group: string; // '' for core
  version: string;
  /** Served from a CustomResourceDefinition: a structural schema (null refused unless nullable,
   *  unknown fields pruned), no strategic merge patch, none of the built-in kinds' strategies. */
  custom?: boolean;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Verbs served, as in discovery (`create delete deletecollection get list patch update watch`). */
  verbs: string[];
  subresources?: {
    status?: boolean;
    scale?: ScaleSubresource;
    /** Other subresources the server serves (e.g. pods/log, pods/exec, pods/binding). */
    extra?: { name: string; kind: string; group?: string; version?: string; verbs: string[] }[];
  };
  /** Schema of the whole object (apiVersion, kind, metadata, spec, status); `$ref`s point into `definitions`. */
  schema: JSONSchemaProps;
  /** Named sub-schemas referenced by `$ref` (OpenAPI components.schemas), shared across kinds is fine. */
  definitions?: Record<string, JSONSchemaProps>;
  /** Upstream defaulting, applied in place on create and update (after decoding, before validation). */
  defaults?(obj: KubeObject): void;
  /** Kind-specific validation (metadata name/labels/annotations are checked by the machinery). */
  validate?(obj: KubeObject): FieldError[];
  /** Extra checks on update (immutable fields etc.). */
  validateUpdate?(obj: KubeObject, old: KubeObject): FieldError[];
  /** Optional, on update before `defaults`: carries over values the server assigned that a client
   *  may omit on a full replace (Service clusterIP/clusterIPs and nodePorts, Pod nodeName, ...). */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /** Report validateUpdate's errors before validate's (upstream's ValidateSecretUpdate and
   *  ValidateConfigMapUpdate check immutability first). */
  updateErrorsFirst?: boolean;
  /** A version served over another version's stored objects (autoscaling/v1 HPAs over v2):
   *  `toStored` converts what a client wrote into the stored version before encoding, `fromStored`
   *  converts every object read (get, list, watch) into this version. Both are pure and keep what
   *  this version cannot express in annotations, as upstream's conversions do. */
  conversion?: { toStored(obj: KubeObject): KubeObject; fromStored(obj: KubeObject): KubeObject };
  /** Objects are stored with another group's (same plural), converted by `conversion`: one
   *  object both APIs serve (events.k8s.io/v1 Events are core/v1 Events, as upstream stores them). */
  storageGroup?: string;
  /** Name rule for metadata.name: 'subdomain' (DNS-1123 subdomain, the default), 'label' (DNS-1123 label), 'path' (path segment). */
  nameRule?: 'subdomain' | 'label' | 'path';
  /** Whether spec changes bump metadata.generation (true for most kinds with a spec). */
  hasGeneration?: boolean;
  /** Table columns (server-side printing, upstream's columns) and the row for one object. */
  columns: TableColumn[];
  row(obj: KubeObject, now: Date): unknown[];
  /** Field selectors beyond metadata.name / metadata.namespace, e.g. `status.phase`, `spec.nodeName`. */
  fieldSelectors?: Record<string, (obj: KubeObject) => string | undefined>;
}
