import type { FieldError, KubeObject } from '../../types.js';
import { kindSchema, ref } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import { deepEqual, forbidden, invalid, notSupported, required } from '../../validation/errors.js';
import { isValidQuantity } from '../../quantity/quantity.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';
import './storage-schema.js';

export const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const ABBREV: Record<string, string> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};
const PV_SOURCES = ['hostPath', 'local', 'nfs', 'csi'];

/** kubectl's ACCESS MODES cell, e.g. `RWO,ROX`. */
export function accessModesString(modes: unknown): string {
  const m = asArr(modes);
  return ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']
    .filter((x) => m.includes(x))
    .map((x) => ABBREV[x])
    .join(',');
}

function validateAccessModes(modes: unknown, path: string): FieldError[] {
  const m = asArr(modes);
  const errs: FieldError[] = [];
  if (!m.length) errs.push(required(path, 'at least 1 access mode is required'));
  for (const x of m) if (!ACCESS_MODES.includes(x)) errs.push(notSupported(path, x, ACCESS_MODES));
  if (m.includes('ReadWriteOncePod') && m.length > 1)
    errs.push(forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
  return errs;
}
export { validateAccessModes };

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'PersistentVolume' },
  'PersistentVolume (PV) is a storage resource provisioned by an administrator, analogous to a node.',
  {
    spec: ref(CORE('PersistentVolumeSpec'), 'The desired characteristics of the volume.'),
    status: ref(CORE('PersistentVolumeStatus'), 'The current status of the volume. Read-only.'),
  },
);

function validate(o: Obj): FieldError[] {
  // (spec is a struct upstream: a missing one is validated as empty, every missing field reported)
  const s = asObj(o.spec) ?? {};
  const errs = validateAccessModes(s.accessModes, 'spec.accessModes');
  const storage = asObj(s.capacity)?.storage;
  if (storage === undefined) errs.push(required('spec.capacity', 'storage'));
  else if (!isValidQuantity(storage)) errs.push(invalid('spec.capacity[storage]', storage, 'must be a valid quantity'));
  const sources = PV_SOURCES.filter((k) => s[k] !== undefined);
  if (sources.length === 0) errs.push(required('spec', 'must specify a volume type'));
  else if (sources.length > 1) errs.push(forbidden(`spec.${sources[1]}`, 'may not specify more than 1 volume type'));
  if (s.hostPath && !s.hostPath.path) errs.push(required('spec.hostPath.path'));
  if (s.local && !s.local.path) errs.push(required('spec.local.path'));
  if (s.local && !s.nodeAffinity) errs.push(required('spec.nodeAffinity', 'Local volume requires node affinity'));
  if (s.persistentVolumeReclaimPolicy && !['Delete', 'Recycle', 'Retain'].includes(s.persistentVolumeReclaimPolicy)) {
    errs.push(
      notSupported('spec.persistentVolumeReclaimPolicy', s.persistentVolumeReclaimPolicy, [
        'Delete',
        'Recycle',
        'Retain',
      ]),
    );
  }
  if (s.volumeMode && !['Block', 'Filesystem'].includes(s.volumeMode))
    errs.push(notSupported('spec.volumeMode', s.volumeMode, ['Block', 'Filesystem']));
  return errs;
}

export const persistentVolume = resource({
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  singular: 'persistentvolume',
  namespaced: false,
  shortNames: ['pv'],
  subresources: { status: true },
  schema,
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.spec = asObj(o.spec) ?? {};
    o.spec.persistentVolumeReclaimPolicy ??= 'Retain';
    o.spec.volumeMode ??= 'Filesystem';
    const hp = asObj(o.spec.hostPath);
    if (hp && hp.type === undefined) hp.type = '';
    o.status = asObj(o.status) ?? {};
    o.status.phase ??= 'Pending';
  },
  validate: (o: KubeObject) => validate(o as Obj),
  validateUpdate(o: KubeObject, old: KubeObject) {
    const s = asObj((o as Obj).spec) ?? {},
      p = asObj((old as Obj).spec) ?? {};
    const errs: FieldError[] = [];
    for (const k of PV_SOURCES)
      if (p[k] !== undefined && !deepEqual(s[k], p[k]))
        errs.push(forbidden('spec.persistentvolumesource', 'spec.persistentvolumesource is immutable after creation'));
    if (p.volumeMode && s.volumeMode !== p.volumeMode)
      errs.push(invalid('spec.volumeMode', s.volumeMode, 'field is immutable'));
    return errs;
  },
  columns: [
    nameColumn,
    col('Capacity', 'string', 'The capacity of the volume.'),
    col('Access Modes', 'string', 'How the volume can be mounted.'),
    col('Reclaim Policy', 'string', 'What happens to the volume when released from its claim.'),
    col('Status', 'string', 'The phase of the volume.'),
    col('Claim', 'string', 'The claim bound to the volume.'),
    col('StorageClass', 'string', 'The storage class of the volume.'),
    col('VolumeAttributesClass', 'string', 'The volume attributes class of the volume.'),
    col('Reason', 'string', 'Why the volume is in its phase.'),
    ageColumn,
    col('VolumeMode', 'string', 'Filesystem or Block.', 1),
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {},
      st = asObj(o.status) ?? {};
    const claim = s.claimRef ? `${s.claimRef.namespace}/${s.claimRef.name}` : '';
    const phase = obj.metadata.deletionTimestamp ? 'Terminating' : (st.phase ?? '');
    return [
      obj.metadata.name,
      asObj(s.capacity)?.storage ?? '',
      accessModesString(s.accessModes),
      s.persistentVolumeReclaimPolicy ?? '',
      phase,
      claim,
      s.storageClassName ?? '',
      s.volumeAttributesClassName || '<unset>',
      st.reason ?? '',
      age(obj.metadata.creationTimestamp, now),
      s.volumeMode || '<unset>',
    ];
  },
});
