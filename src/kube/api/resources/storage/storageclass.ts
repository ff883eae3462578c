import type { FieldError, KubeObject } from '../../types.js';
import { arr, bool, define, enumStr, kindSchema, obj, str, strList, strMap } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, oneOf, type Obj } from '../../validation/fields.js';
import { forbidden, immutable, required } from '../../validation/errors.js';
import { resource } from '../shared/define.js';

define(
  'io.k8s.api.core.v1.TopologySelectorLabelRequirement',
  obj(
    'A topology label requirement.',
    {
      key: str('The label key.'),
      values: strList('Label values; one must match.'),
    },
    ['key', 'values'],
  ),
);
define('io.k8s.api.core.v1.TopologySelectorTerm', {
  ...obj('A topology selector term (requirements ANDed).', {
    matchLabelExpressions: arr(
      'Label requirements.',
      { $ref: '#/components/schemas/io.k8s.api.core.v1.TopologySelectorLabelRequirement' },
      { listType: 'atomic' },
    ),
  }),
  'x-kubernetes-map-type': 'atomic',
});

const DEFAULT_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

export const storageClass = resource({
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  plural: 'storageclasses',
  singular: 'storageclass',
  namespaced: false,
  shortNames: ['sc'],
  schema: kindSchema(
    { group: 'storage.k8s.io', version: 'v1', kind: 'StorageClass' },
    'StorageClass describes the parameters for a class of storage for which PersistentVolumes can be dynamically provisioned.',
    {
      provisioner: str('The name of the volume provisioner, e.g. rancher.io/local-path. Immutable.'),
      parameters: strMap('Parameters for the provisioner. Immutable.'),
      reclaimPolicy: enumStr('Reclaim policy of dynamically provisioned volumes: Delete (default) or Retain.', [
        'Delete',
        'Recycle',
        'Retain',
      ]),
      mountOptions: strList('Mount options of dynamically provisioned volumes, e.g. ["ro", "soft"].'),
      allowVolumeExpansion: bool('Whether claims of this class may be expanded.'),
      volumeBindingMode: enumStr(
        'When volumes are provisioned and bound: Immediate (default) or WaitForFirstConsumer.',
        ['Immediate', 'WaitForFirstConsumer'],
      ),
      allowedTopologies: arr(
        'Topologies where volumes may be provisioned.',
        { $ref: '#/components/schemas/io.k8s.api.core.v1.TopologySelectorTerm' },
        { listType: 'atomic' },
      ),
    },
    ['provisioner'],
  ),
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.reclaimPolicy ??= 'Delete';
    o.volumeBindingMode ??= 'Immediate';
  },
  validate(obj: KubeObject) {
    const o = obj as Obj;
    const errs: FieldError[] = [];
    if (!o.provisioner) errs.push(required('provisioner'));
    errs.push(...oneOf(o.reclaimPolicy, 'reclaimPolicy', ['Delete', 'Retain']));
    errs.push(...oneOf(o.volumeBindingMode, 'volumeBindingMode', ['Immediate', 'WaitForFirstConsumer']));
    if (Object.keys(asObj(o.parameters) ?? {}).length > 512)
      errs.push(forbidden('parameters', 'can have at most 512 parameters'));
    return errs;
  },
  validateUpdate(obj: KubeObject, old: KubeObject) {
    const o = obj as Obj,
      p = old as Obj;
    const errs: FieldError[] = [];
    if (JSON.stringify(o.parameters ?? {}) !== JSON.stringify(p.parameters ?? {}))
      errs.push(forbidden('parameters', 'updates to parameters are forbidden.'));
    if (o.provisioner !== p.provisioner) errs.push(forbidden('provisioner', 'updates to provisioner are forbidden.'));
    if (o.reclaimPolicy !== p.reclaimPolicy)
      errs.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
    errs.push(...immutable('volumeBindingMode', o.volumeBindingMode, p.volumeBindingMode));
    return errs;
  },
  columns: [
    nameColumn,
    col('Provisioner', 'string', 'The volume provisioner.'),
    col('ReclaimPolicy', 'string', 'Reclaim policy of provisioned volumes.'),
    col('VolumeBindingMode', 'string', 'When volumes are bound.'),
    col('AllowVolumeExpansion', 'string', 'Whether claims may be expanded.'),
    ageColumn,
  ],
  row(obj, now) {
    const o = obj as Obj;
    const ann = obj.metadata.annotations ?? {};
    const isDefault =
      ann[DEFAULT_ANNOTATION] === 'true' || ann['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
    return [
      `${obj.metadata.name}${isDefault ? ' (default)' : ''}`,
      o.provisioner ?? '',
      o.reclaimPolicy ?? 'Delete',
      o.volumeBindingMode ?? 'Immediate',
      String(o.allowVolumeExpansion === true),
      age(obj.metadata.creationTimestamp, now),
    ];
  },
});
