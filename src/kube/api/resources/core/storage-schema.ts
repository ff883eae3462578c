// core/v1 storage schemas: PersistentVolumeClaimSpec/Status and PersistentVolumeSpec/Status.
import { arr, define, enumStr, mapOf, obj, ref, str, strList } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { CORE } from './container-schema.js';
import './podspec-schema.js';

const r = (n: string, d?: string) => ref(CORE(n), d);
const opaque = (d: string) => ({
  type: 'object' as const,
  description: d,
  'x-kubernetes-preserve-unknown-fields': true,
});
const ACCESS = 'ReadWriteOnce, ReadOnlyMany, ReadWriteMany or ReadWriteOncePod.';

define(CORE('TypedLocalObjectReference'), {
  ...obj(
    'A reference to a typed object in the same namespace.',
    {
      apiGroup: str('API group of the referenced kind; empty for the core group.'),
      kind: str('Kind of the referent.'),
      name: str('Name of the referent.'),
    },
    ['kind', 'name'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
define(
  CORE('TypedObjectReference'),
  obj(
    'A reference to a typed object, possibly in another namespace.',
    {
      apiGroup: str('API group of the referenced kind.'),
      kind: str('Kind of the referent.'),
      name: str('Name of the referent.'),
      namespace: str('Namespace of the referent.'),
    },
    ['kind', 'name'],
  ),
);
define(
  CORE('VolumeResourceRequirements'),
  obj('Storage resource requirements of a claim.', {
    limits: mapOf('Maximum amount of resources allowed.', ref(N.Quantity)),
    requests: mapOf('Minimum amount of resources required, e.g. storage: 1Gi.', ref(N.Quantity)),
  }),
);
define(
  CORE('PersistentVolumeClaimSpec'),
  obj('The desired characteristics of a volume requested by a pod author.', {
    accessModes: strList(`The desired access modes: ${ACCESS}`),
    selector: ref(N.LabelSelector, 'A label query over volumes to consider for binding.'),
    resources: r('VolumeResourceRequirements', 'The minimum resources the volume should have.'),
    volumeName: str('The binding reference to the PersistentVolume backing this claim.'),
    storageClassName: str('Name of the StorageClass required by the claim.'),
    volumeMode: enumStr('Filesystem (default) or Block.', ['Block', 'Filesystem']),
    dataSource: r(
      'TypedLocalObjectReference',
      'An existing VolumeSnapshot or PersistentVolumeClaim to populate the volume from.',
    ),
    dataSourceRef: r('TypedObjectReference', 'The object to populate the volume from.'),
    volumeAttributesClassName: str('The VolumeAttributesClass used by this claim.'),
  }),
);
define(
  CORE('PersistentVolumeClaimCondition'),
  obj(
    'A condition of a claim.',
    {
      type: str('Type of the condition.'),
      status: str('True, False or Unknown.'),
      lastProbeTime: ref(N.Time, 'Last time the condition was probed.'),
      lastTransitionTime: ref(N.Time, 'Last time the condition changed.'),
      reason: str('Machine-readable reason.'),
      message: str('Human-readable message.'),
    },
    ['type', 'status'],
  ),
);
define(
  CORE('PersistentVolumeClaimStatus'),
  obj('The current status of a claim.', {
    phase: enumStr('Pending, Bound or Lost.', ['Bound', 'Lost', 'Pending']),
    accessModes: strList(`The access modes the volume backing the claim has: ${ACCESS}`),
    capacity: mapOf('The actual resources of the underlying volume.', ref(N.Quantity)),
    conditions: arr('The current conditions of the claim.', r('PersistentVolumeClaimCondition'), {
      mergeKey: 'type',
      listType: 'map',
      mapKeys: ['type'],
    }),
    allocatedResources: mapOf('Resources allocated to the claim (expansion).', ref(N.Quantity)),
    allocatedResourceStatuses: mapOf('Status of resize operations per resource.', { type: 'string', default: '' }),
    currentVolumeAttributesClassName: str('The VolumeAttributesClass currently applied.'),
    modifyVolumeStatus: opaque('Status of an ongoing volume modification.'),
  }),
);

define(CORE('ObjectReference'), {
  ...obj('A reference to an object.', {
    kind: str('Kind of the referent.'),
    namespace: str('Namespace of the referent.'),
    name: str('Name of the referent.'),
    uid: str('UID of the referent.'),
    apiVersion: str('API version of the referent.'),
    resourceVersion: str('Specific resourceVersion this reference is made to.'),
    fieldPath: str('A piece of an object instead of the whole, e.g. spec.containers{name}.'),
  }),
  'x-kubernetes-map-type': 'atomic',
});
define(
  CORE('LocalVolumeSource'),
  obj(
    'A directly-attached local storage device.',
    {
      path: str('Full path to the volume on the node.'),
      fsType: str('Filesystem type to mount.'),
    },
    ['path'],
  ),
);
define(
  CORE('PersistentVolumeSpec'),
  obj('The specification of a persistent volume.', {
    capacity: mapOf("The volume's capacity, e.g. storage: 10Gi.", ref(N.Quantity)),
    accessModes: strList(`All ways the volume can be mounted: ${ACCESS}`),
    claimRef: r(
      'ObjectReference',
      'Part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
    ),
    persistentVolumeReclaimPolicy: enumStr(
      'What happens to the volume when released from its claim: Retain (default for manually created), Delete or Recycle (deprecated).',
      ['Delete', 'Recycle', 'Retain'],
    ),
    storageClassName: str('Name of the StorageClass this volume belongs to.'),
    mountOptions: strList('Mount options, e.g. ["ro", "soft"].'),
    volumeMode: enumStr('Filesystem (default) or Block.', ['Block', 'Filesystem']),
    nodeAffinity: obj('Constraints on the nodes this volume can be accessed from.', {
      required: r('NodeSelector', 'Required node selector.'),
    }),
    hostPath: r('HostPathVolumeSource', 'A directory on the host (single-node testing only).'),
    local: r('LocalVolumeSource', 'Directly-attached storage with node affinity.'),
    nfs: r('NFSVolumeSource', 'An NFS mount.'),
    csi: opaque('Storage handled by an external CSI driver.'),
    ...Object.fromEntries(
      [
        'gcePersistentDisk',
        'awsElasticBlockStore',
        'glusterfs',
        'rbd',
        'iscsi',
        'cinder',
        'cephfs',
        'fc',
        'flocker',
        'flexVolume',
        'azureFile',
        'azureDisk',
        'vsphereVolume',
        'quobyte',
        'photonPersistentDisk',
        'portworxVolume',
        'scaleIO',
        'storageos',
      ].map((k) => [k, opaque(`The ${k} volume source (accepted for compatibility; not provided by Skiff nodes).`)]),
    ),
    volumeAttributesClassName: str('Name of the VolumeAttributesClass.'),
  }),
);
define(
  CORE('PersistentVolumeStatus'),
  obj('The current status of a persistent volume.', {
    phase: enumStr('Pending, Available, Bound, Released or Failed.', [
      'Available',
      'Bound',
      'Failed',
      'Pending',
      'Released',
    ]),
    message: str('Human-readable message why the volume is in this state.'),
    reason: str('Brief CamelCase string describing any failure.'),
    lastPhaseTransitionTime: ref(N.Time, 'When the volume transitioned phases.'),
  }),
);
