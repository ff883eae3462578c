import type { FieldError, KubeObject } from '../../types.js';
import { kindSchema, ref } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, validateLabelSelector, type Obj } from '../../validation/fields.js';
import { deepEqual, forbidden, invalid, notSupported, required } from '../../validation/errors.js';
import { compareQuantity, isValidQuantity, parseQuantity } from '../../quantity/quantity.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';
import { accessModesString, validateAccessModes } from './persistentvolume.js';
import './storage-schema.js';

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
  "PersistentVolumeClaim is a user's request for and claim to a persistent volume.",
  {
    spec: ref(CORE('PersistentVolumeClaimSpec'), 'The desired characteristics of a volume requested by a pod author.'),
    status: ref(CORE('PersistentVolumeClaimStatus'), 'The current status of the claim. Read-only.'),
  },
);

function validate(o: Obj): FieldError[] {
  // (spec is a struct upstream: a missing one is validated as empty, every missing field reported)
  const s = asObj(o.spec) ?? {};
  const errs = validateAccessModes(s.accessModes, 'spec.accessModes');
  const storage = asObj(asObj(s.resources)?.requests)?.storage;
  if (storage === undefined) errs.push(required('spec.resources[storage]'));
  else if (!isValidQuantity(storage))
    errs.push(invalid('spec.resources.requests[storage]', storage, 'must be a valid quantity'));
  else if (parseQuantity(storage).mantissa <= 0n)
    errs.push(invalid('spec.resources.requests[storage]', storage, 'must be greater than zero'));
  errs.push(...validateLabelSelector(s.selector, 'spec.selector'));
  if (s.volumeMode && !['Block', 'Filesystem'].includes(s.volumeMode))
    errs.push(notSupported('spec.volumeMode', s.volumeMode, ['Block', 'Filesystem']));
  return errs;
}

function validateUpdate(o: Obj, old: Obj): FieldError[] {
  const s = structuredClone(asObj(o.spec) ?? {}),
    p = structuredClone(asObj(old.spec) ?? {});
  const errs: FieldError[] = [];
  // Storage requests may grow (expansion); a bound claim may not shrink below its capacity.
  const now = s.resources?.requests?.storage,
    before = p.resources?.requests?.storage;
  if (
    now !== undefined &&
    before !== undefined &&
    isValidQuantity(now) &&
    isValidQuantity(before) &&
    compareQuantity(parseQuantity(now), parseQuantity(before)) < 0 &&
    old.status?.phase === 'Bound'
  ) {
    errs.push(forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity'));
  }
  for (const x of [s, p]) {
    if (x.resources?.requests) delete x.resources.requests.storage;
    delete x.volumeAttributesClassName;
  }
  if (!p.volumeName) delete s.volumeName;
  if (!p.volumeName) delete p.volumeName;
  if (!deepEqual(s, p))
    errs.push(
      forbidden(
        'spec',
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
  return errs;
}

export const persistentVolumeClaim = resource({
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  namespaced: true,
  shortNames: ['pvc'],
  subresources: { status: true },
  schema,
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.spec = asObj(o.spec) ?? {};
    o.spec.volumeMode ??= 'Filesystem';
    o.status = asObj(o.status) ?? {};
    o.status.phase ??= 'Pending';
  },
  validate: (o: KubeObject) => validate(o as Obj),
  validateUpdate: (o: KubeObject, old: KubeObject) => validateUpdate(o as Obj, old as Obj),
  columns: [
    nameColumn,
    col('Status', 'string', 'The phase of the claim.'),
    col('Volume', 'string', 'The volume bound to the claim.'),
    col('Capacity', 'string', 'The capacity of the bound volume.'),
    col('Access Modes', 'string', 'How the volume can be mounted.'),
    col('StorageClass', 'string', 'The storage class of the claim.'),
    col('VolumeAttributesClass', 'string', 'The volume attributes class of the claim.'),
    ageColumn,
    col('VolumeMode', 'string', 'Filesystem or Block.', 1),
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {},
      st = asObj(o.status) ?? {};
    const phase = obj.metadata.deletionTimestamp ? 'Terminating' : (st.phase ?? '');
    const bound = !!s.volumeName;
    return [
      obj.metadata.name,
      phase,
      s.volumeName ?? '',
      bound ? (asObj(st.capacity)?.storage ?? '') : '',
      bound ? accessModesString(st.accessModes) : '',
      s.storageClassName ?? '',
      s.volumeAttributesClassName || '<unset>',
      age(obj.metadata.creationTimestamp, now),
      s.volumeMode || '<unset>',
    ];
  },
});
