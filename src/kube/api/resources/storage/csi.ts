// The CSI kinds of storage.k8s.io/v1: CSIDriver, CSINode, VolumeAttachment and
// CSIStorageCapacity. Skiff has no CSI drivers; these are served because schedulers watch them
// (volume limits, storage capacity, attachments) and kube-scheduler does not start without them.
import type { FieldError, KubeObject } from '../../types.js';
import { arr, bool, define, int32, int64, kindSchema, obj, ref, str, strList, strMap } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn, orNone } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, oneOf, type Obj } from '../../validation/fields.js';
import { immutable, invalid, required } from '../../validation/errors.js';
import { isDNS1123Subdomain } from '../../validation/names.js';
import { resource } from '../shared/define.js';

const S = (n: string) => `io.k8s.api.storage.v1.${n}`;
const meta = { group: 'storage.k8s.io', version: 'v1' };

define(
  S('TokenRequest'),
  obj(
    'A service account token the driver asks for.',
    { audience: str('Intended audience of the token.'), expirationSeconds: int64('Token lifetime.') },
    ['audience'],
  ),
);
define(
  S('CSIDriverSpec'),
  obj('The specification of a CSI driver.', {
    attachRequired: bool('Whether the driver needs an attach operation (default true). Immutable.'),
    podInfoOnMount: bool('Whether pod information is passed on mount (default false). Immutable.'),
    volumeLifecycleModes: strList('Persistent and/or Ephemeral (default Persistent). Immutable.', {
      listType: 'set',
    }),
    storageCapacity: bool('Whether the scheduler considers the capacity the driver reports (default false).'),
    fsGroupPolicy: str('How fsGroup is applied: ReadWriteOnceWithFSType (default), File or None. Immutable.'),
    tokenRequests: arr('Service account tokens passed to NodePublishVolume.', ref(S('TokenRequest')), {
      listType: 'atomic',
    }),
    requiresRepublish: bool('Whether NodePublishVolume is called periodically (default false).'),
    seLinuxMount: bool('Whether the driver supports the -o context mount option.'),
    nodeAllocatableUpdatePeriodSeconds: int64(
      'How often the kubelet refreshes the CSINode allocatable count (seconds).',
    ),
  }),
);
define(
  S('VolumeNodeResources'),
  obj('Volume limits of a node.', { count: int32('Maximum number of unique volumes the driver can attach.') }),
);
define(
  S('CSINodeDriver'),
  obj(
    'A CSI driver installed on a node.',
    {
      name: str('The driver name.'),
      nodeID: str('The node as the driver knows it.'),
      topologyKeys: strList('Topology keys the driver supports.'),
      allocatable: ref(S('VolumeNodeResources'), 'Volume limits of the node for this driver.'),
    },
    ['name', 'nodeID'],
  ),
);
define(
  S('CSINodeSpec'),
  obj(
    'The CSI drivers of a node.',
    {
      drivers: arr('Drivers on the node.', ref(S('CSINodeDriver')), {
        mergeKey: 'name',
        listType: 'map',
        mapKeys: ['name'],
      }),
    },
    ['drivers'],
  ),
);
define(
  S('VolumeAttachmentSource'),
  obj('The volume to attach.', {
    persistentVolumeName: str('The PersistentVolume to attach.'),
    inlineVolumeSpec: {
      type: 'object',
      description: 'An inline volume (migrated in-tree plugins).',
      'x-kubernetes-preserve-unknown-fields': true,
    },
  }),
);
define(
  S('VolumeAttachmentSpec'),
  obj(
    'The desired attachment.',
    {
      attacher: str('The volume driver that must handle the request.'),
      source: ref(S('VolumeAttachmentSource'), 'The volume to attach.'),
      nodeName: str('The node to attach the volume to.'),
    },
    ['attacher', 'source', 'nodeName'],
  ),
);
define(
  S('VolumeError'),
  obj('An error of an attach or detach operation.', {
    time: ref(N.Time, 'When the error happened.'),
    message: str('The error.'),
    errorCode: int32('A numeric gRPC code of the error, when the driver gave one.'),
  }),
);
define(
  S('VolumeAttachmentStatus'),
  obj(
    'The attachment as it is.',
    {
      attached: bool('Whether the volume is attached.'),
      attachmentMetadata: strMap('Information the attacher returned.'),
      attachError: ref(S('VolumeError'), 'The last attach error.'),
      detachError: ref(S('VolumeError'), 'The last detach error.'),
    },
    ['attached'],
  ),
);

const subdomainName = (v: unknown, path: string): FieldError[] =>
  typeof v === 'string' && v ? isDNS1123Subdomain(v).map((m) => invalid(path, v, m)) : [required(path)];

export const csiDriver = resource({
  ...meta,
  kind: 'CSIDriver',
  plural: 'csidrivers',
  singular: 'csidriver',
  namespaced: false,
  hasGeneration: true,
  schema: kindSchema(
    { ...meta, kind: 'CSIDriver' },
    'CSIDriver describes a CSI volume driver deployed on the cluster.',
    {
      spec: ref(S('CSIDriverSpec'), 'The specification of the driver.'),
    },
    ['spec'],
  ),
  defaults(o: KubeObject) {
    const spec = (asObj((o as Obj).spec) ?? ((o as Obj).spec = {})) as Obj;
    spec.attachRequired ??= true;
    spec.podInfoOnMount ??= false;
    spec.storageCapacity ??= false;
    spec.fsGroupPolicy ??= 'ReadWriteOnceWithFSType';
    spec.requiresRepublish ??= false;
    spec.seLinuxMount ??= false;
    if (!asArr(spec.volumeLifecycleModes).length) spec.volumeLifecycleModes = ['Persistent'];
  },
  validate(o: KubeObject) {
    const spec = asObj((o as Obj).spec) ?? {};
    const errs = [...oneOf(spec.fsGroupPolicy, 'spec.fsGroupPolicy', ['ReadWriteOnceWithFSType', 'File', 'None'])];
    asArr(spec.volumeLifecycleModes).forEach((m, i) =>
      errs.push(...oneOf(m, `spec.volumeLifecycleModes[${i}]`, ['Persistent', 'Ephemeral'])),
    );
    return errs;
  },
  validateUpdate(o: KubeObject, old: KubeObject) {
    const a = asObj((o as Obj).spec) ?? {},
      b = asObj((old as Obj).spec) ?? {};
    return [
      ...immutable('spec.attachRequired', a.attachRequired, b.attachRequired),
      ...immutable('spec.podInfoOnMount', a.podInfoOnMount, b.podInfoOnMount),
      ...immutable('spec.volumeLifecycleModes', a.volumeLifecycleModes, b.volumeLifecycleModes),
      ...immutable('spec.fsGroupPolicy', a.fsGroupPolicy, b.fsGroupPolicy),
    ];
  },
  columns: [
    nameColumn,
    col('AttachRequired', 'boolean', 'Whether the driver needs an attach operation.'),
    col('PodInfoOnMount', 'boolean', 'Whether pod information is passed on mount.'),
    col('StorageCapacity', 'boolean', 'Whether capacity is tracked.'),
    col('TokenRequests', 'string', 'Audiences of the requested tokens.'),
    col('RequiresRepublish', 'boolean', 'Whether volumes are republished.'),
    col('Modes', 'string', 'Volume lifecycle modes.'),
    ageColumn,
  ],
  row(o, now) {
    const s = asObj((o as Obj).spec) ?? {};
    const tokens = asArr(s.tokenRequests)
      .map((t) => asObj(t)?.audience)
      .filter(Boolean)
      .join(',');
    return [
      o.metadata.name,
      s.attachRequired === true,
      s.podInfoOnMount === true,
      s.storageCapacity === true,
      orNone(tokens),
      s.requiresRepublish === true,
      asArr(s.volumeLifecycleModes).join(','),
      age(o.metadata.creationTimestamp, now),
    ];
  },
});

export const csiNode = resource({
  ...meta,
  kind: 'CSINode',
  plural: 'csinodes',
  singular: 'csinode',
  namespaced: false,
  schema: kindSchema(
    { ...meta, kind: 'CSINode' },
    'CSINode holds the CSI drivers installed on a node.',
    {
      spec: ref(S('CSINodeSpec'), 'The drivers of the node.'),
    },
    ['spec'],
  ),
  validate(o: KubeObject) {
    const errs: FieldError[] = [];
    asArr(asObj((o as Obj).spec)?.drivers).forEach((d, i) => {
      const x = asObj(d) ?? {};
      if (!x.name) errs.push(required(`spec.drivers[${i}].name`));
      if (!x.nodeID) errs.push(required(`spec.drivers[${i}].nodeID`));
    });
    return errs;
  },
  columns: [nameColumn, col('Drivers', 'integer', 'Number of CSI drivers on the node.'), ageColumn],
  row: (o, now) => [
    o.metadata.name,
    asArr(asObj((o as Obj).spec)?.drivers).length,
    age(o.metadata.creationTimestamp, now),
  ],
});

export const volumeAttachment = resource({
  ...meta,
  kind: 'VolumeAttachment',
  plural: 'volumeattachments',
  singular: 'volumeattachment',
  namespaced: false,
  subresources: { status: true },
  schema: kindSchema(
    { ...meta, kind: 'VolumeAttachment' },
    'VolumeAttachment captures the intent to attach or detach a volume to or from a node.',
    {
      spec: ref(S('VolumeAttachmentSpec'), 'The desired attachment.'),
      status: ref(S('VolumeAttachmentStatus'), 'The attachment as it is.'),
    },
    ['spec'],
  ),
  validate(o: KubeObject) {
    const s = asObj((o as Obj).spec) ?? {};
    const src = asObj(s.source) ?? {};
    const errs = [...subdomainName(s.attacher, 'spec.attacher'), ...subdomainName(s.nodeName, 'spec.nodeName')];
    const n = Number(!!src.persistentVolumeName) + Number(!!src.inlineVolumeSpec);
    if (n !== 1) errs.push(required('spec.source', 'exactly one of persistentVolumeName or inlineVolumeSpec'));
    return errs;
  },
  validateUpdate: (o: KubeObject, old: KubeObject) => immutable('spec', (o as Obj).spec, (old as Obj).spec),
  columns: [
    nameColumn,
    col('Attacher', 'string', 'The volume driver.'),
    col('PV', 'string', 'The PersistentVolume.'),
    col('Node', 'string', 'The node.'),
    col('Attached', 'boolean', 'Whether it is attached.'),
    ageColumn,
  ],
  row(o, now) {
    const x = o as Obj;
    const s = asObj(x.spec) ?? {};
    return [
      o.metadata.name,
      s.attacher ?? '',
      asObj(s.source)?.persistentVolumeName ?? '',
      s.nodeName ?? '',
      asObj(x.status)?.attached === true,
      age(o.metadata.creationTimestamp, now),
    ];
  },
});

export const csiStorageCapacity = resource({
  ...meta,
  kind: 'CSIStorageCapacity',
  plural: 'csistoragecapacities',
  singular: 'csistoragecapacity',
  namespaced: true,
  schema: kindSchema(
    { ...meta, kind: 'CSIStorageCapacity' },
    'CSIStorageCapacity stores the result of one CSI GetCapacity call for a storage class and topology.',
    {
      storageClassName: str('The StorageClass the capacity applies to.'),
      nodeTopology: ref(N.LabelSelector, 'The nodes that can reach the storage.'),
      capacity: ref(N.Quantity, 'The capacity the driver reported.'),
      maximumVolumeSize: ref(N.Quantity, 'The largest volume that can be created.'),
    },
    ['storageClassName'],
  ),
  validate(o: KubeObject) {
    return subdomainName((o as Obj).storageClassName, 'storageClassName');
  },
  validateUpdate: (o: KubeObject, old: KubeObject) =>
    immutable('storageClassName', (o as Obj).storageClassName, (old as Obj).storageClassName),
  columns: [
    nameColumn,
    col('StorageClassName', 'string', 'The storage class.'),
    col('Capacity', 'string', 'The reported capacity.'),
    ageColumn,
  ],
  row: (o, now) => [
    o.metadata.name,
    (o as Obj).storageClassName ?? '',
    orNone((o as Obj).capacity),
    age(o.metadata.creationTimestamp, now),
  ],
});
