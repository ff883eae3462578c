import type { KubeObject } from '../../types.js';
import { define, enumStr, kindSchema, obj, ref, strList } from '../../schema/builder.js';
import { conditionsList } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import { invalid } from '../../validation/errors.js';
import { isQualifiedName } from '../../validation/names.js';
import { resource } from '../shared/define.js';

define(
  'io.k8s.api.core.v1.NamespaceSpec',
  obj('The desired attributes of a namespace.', {
    finalizers: strList(
      'Opaque values that must be empty before the namespace is removed from storage; "kubernetes" is added on create and removed by the namespace controller.',
      { listType: 'atomic' },
    ),
  }),
);
define(
  'io.k8s.api.core.v1.NamespaceStatus',
  obj('The observed state of a namespace.', {
    phase: enumStr('Active while the namespace is usable, Terminating while its content is being removed.', [
      'Active',
      'Terminating',
    ]),
    conditions: conditionsList("The latest observations of the namespace's state."),
  }),
);

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'Namespace' },
  'Namespace provides a scope for names. Namespaced objects live in exactly one namespace.',
  {
    spec: ref('io.k8s.api.core.v1.NamespaceSpec', 'Spec defines the behavior of the Namespace.'),
    status: ref('io.k8s.api.core.v1.NamespaceStatus', 'Status describes the current status of a Namespace.'),
  },
);

function validateFinalizers(list: unknown, path: string) {
  return asArr(list).flatMap((f, i) => {
    if (typeof f !== 'string') return [invalid(`${path}[${i}]`, f, 'must be a string')];
    // Standard finalizer names without a slash are reserved: only "kubernetes" is known.
    if (!f.includes('/') && f !== 'kubernetes')
      return [invalid(`${path}[${i}]`, f, 'name is neither a standard finalizer name nor is it fully qualified')];
    return isQualifiedName(f).map((m) => invalid(`${path}[${i}]`, f, m));
  });
}

export const namespace = resource({
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  nameRule: 'label',
  // As upstream's: namespaces have no deletecollection.
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: { status: true, extra: [{ name: 'finalize', kind: 'Namespace', verbs: ['update'] }] },
  schema,
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.spec = asObj(o.spec) ?? {};
    if (o.spec.finalizers === undefined) o.spec.finalizers = ['kubernetes'];
    o.status = asObj(o.status) ?? {};
    if (!o.status.phase) o.status.phase = 'Active';
    // Upstream labels every namespace with its own name (NamespaceDefaultLabelName).
    o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name ?? '' };
    if (!o.metadata.name) delete o.metadata.labels['kubernetes.io/metadata.name'];
  },
  validate(obj: KubeObject) {
    const o = obj as Obj;
    return [
      ...validateFinalizers(o.spec?.finalizers, 'spec.finalizers'),
      ...(o.status?.phase && !['Active', 'Terminating'].includes(o.status.phase)
        ? [invalid('status.phase', o.status.phase, 'must be Active or Terminating')]
        : []),
    ];
  },
  columns: [nameColumn, col('Status', 'string', 'The status of the namespace'), ageColumn],
  row: (obj, now) => [obj.metadata.name, (obj as Obj).status?.phase ?? '', age(obj.metadata.creationTimestamp, now)],
  fieldSelectors: { 'status.phase': (o) => (o as Obj).status?.phase ?? '' },
});
