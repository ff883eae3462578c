// core/v1 volume schemas: the Volume union and the sources Skiff's agent understands, plus a
// few common remote sources kept for manifests that carry them.
import { arr, bool, define, int32, int64, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { CORE } from './container-schema.js';

const r = (n: string, d?: string) => ref(CORE(n), d);

define(
  CORE('KeyToPath'),
  obj(
    'Maps a key to a path within a volume.',
    {
      key: str('The key to project.'),
      path: str('Relative path of the file to map the key to; may not contain ".." and may not start with "..".'),
      mode: int32('Mode bits for this file, 0000 to 0777 (octal) or 0 to 511 (decimal).'),
    },
    ['key', 'path'],
  ),
);
define(
  CORE('EmptyDirVolumeSource'),
  obj("A temporary directory that shares a pod's lifetime.", {
    medium: str('Storage medium: "" (node default) or "Memory".'),
    sizeLimit: ref(N.Quantity, 'Total amount of local storage required for this volume.'),
  }),
);
define(
  CORE('HostPathVolumeSource'),
  obj(
    'A host path mapped into a pod.',
    {
      path: str('Path of the directory on the host; a symlink is followed.'),
      type: str(
        'Type for the path: "", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice.',
      ),
    },
    ['path'],
  ),
);
define(
  CORE('ConfigMapVolumeSource'),
  obj("Populates a volume with a ConfigMap's keys as files.", {
    name: str('Name of the ConfigMap.'),
    items: arr('Keys to project; if unspecified every key becomes a file named after it.', r('KeyToPath'), {
      listType: 'atomic',
    }),
    defaultMode: int32('Mode bits used for created files by default, 0644 if unset.'),
    optional: bool('Whether the ConfigMap or its keys must be defined.'),
  }),
);
define(
  CORE('SecretVolumeSource'),
  obj("Populates a volume with a Secret's keys as files.", {
    secretName: str("Name of the secret in the pod's namespace."),
    items: arr('Keys to project; if unspecified every key becomes a file named after it.', r('KeyToPath'), {
      listType: 'atomic',
    }),
    defaultMode: int32('Mode bits used for created files by default, 0644 if unset.'),
    optional: bool('Whether the Secret or its keys must be defined.'),
  }),
);
define(
  CORE('PersistentVolumeClaimVolumeSource'),
  obj(
    'References a PersistentVolumeClaim in the same namespace.',
    {
      claimName: str('Name of the PersistentVolumeClaim.'),
      readOnly: bool('Force the ReadOnly setting in VolumeMounts.'),
    },
    ['claimName'],
  ),
);
define(
  CORE('DownwardAPIVolumeFile'),
  obj(
    'A file with information about the pod.',
    {
      path: str('Relative path name of the file to be created.'),
      fieldRef: r(
        'ObjectFieldSelector',
        'A field of the pod: only annotations, labels, name, namespace and uid are supported.',
      ),
      resourceFieldRef: r(
        'ResourceFieldSelector',
        'A resource of the container: limits and requests of cpu and memory.',
      ),
      mode: int32('Mode bits for this file.'),
    },
    ['path'],
  ),
);
define(
  CORE('DownwardAPIVolumeSource'),
  obj('Information about the pod as files.', {
    items: arr('Downward API files.', r('DownwardAPIVolumeFile'), { listType: 'atomic' }),
    defaultMode: int32('Mode bits used for created files by default, 0644 if unset.'),
  }),
);
define(
  CORE('ServiceAccountTokenProjection'),
  obj(
    'A projected service account token.',
    {
      audience: str("Intended audience of the token; defaults to the API server's identifier."),
      expirationSeconds: int64('Requested validity of the token, at least 600 seconds; defaults to 1 hour.'),
      path: str('Path relative to the mount point of the file to project the token into.'),
    },
    ['path'],
  ),
);
define(
  CORE('ConfigMapProjection'),
  obj('Projects a ConfigMap into a projected volume.', {
    name: str('Name of the ConfigMap.'),
    items: arr('Keys to project.', r('KeyToPath'), { listType: 'atomic' }),
    optional: bool('Whether the ConfigMap must be defined.'),
  }),
);
define(
  CORE('SecretProjection'),
  obj('Projects a Secret into a projected volume.', {
    name: str('Name of the Secret.'),
    items: arr('Keys to project.', r('KeyToPath'), { listType: 'atomic' }),
    optional: bool('Whether the Secret must be defined.'),
  }),
);
define(
  CORE('DownwardAPIProjection'),
  obj('Projects downward API information.', {
    items: arr('DownwardAPIVolume files.', r('DownwardAPIVolumeFile'), { listType: 'atomic' }),
  }),
);
define(
  CORE('VolumeProjection'),
  obj('One projection; exactly one field may be set.', {
    secret: r('SecretProjection', 'Secret to project.'),
    configMap: r('ConfigMapProjection', 'ConfigMap to project.'),
    downwardAPI: r('DownwardAPIProjection', 'Downward API information to project.'),
    serviceAccountToken: r('ServiceAccountTokenProjection', 'A service account token to project.'),
    podCertificate: {
      type: 'object',
      description: 'A pod certificate to project (newer API; accepted, not provided by Skiff nodes).',
      'x-kubernetes-preserve-unknown-fields': true,
    },
    clusterTrustBundle: {
      type: 'object',
      description: 'ClusterTrustBundle objects to project (accepted, not provided by Skiff nodes).',
      'x-kubernetes-preserve-unknown-fields': true,
    },
  }),
);
define(
  CORE('ProjectedVolumeSource'),
  obj('Several sources projected into one directory.', {
    sources: arr('The volume projections.', r('VolumeProjection'), { listType: 'atomic' }),
    defaultMode: int32('Mode bits used for created files by default.'),
  }),
);
define(
  CORE('NFSVolumeSource'),
  obj(
    'An NFS mount.',
    {
      server: str('Hostname or IP address of the NFS server.'),
      path: str('Path exported by the NFS server.'),
      readOnly: bool('Mount read-only.'),
    },
    ['server', 'path'],
  ),
);
define(
  CORE('ImageVolumeSource'),
  obj('An OCI image or artifact mounted as a volume.', {
    reference: str('Image or artifact reference.'),
    pullPolicy: str('Always, Never or IfNotPresent.'),
  }),
);
define(
  CORE('PersistentVolumeClaimTemplate'),
  obj(
    'A template for an ephemeral PersistentVolumeClaim.',
    {
      metadata: ref(N.ObjectMeta, 'Labels and annotations copied into the claim.'),
      spec: r('PersistentVolumeClaimSpec', "The claim's specification."),
    },
    ['spec'],
  ),
);
define(
  CORE('EphemeralVolumeSource'),
  obj('A volume backed by a PVC that lives and dies with the pod.', {
    volumeClaimTemplate: r('PersistentVolumeClaimTemplate', 'Template for the PVC created for this volume.'),
  }),
);

/** Volume source fields; exactly one may be set on a Volume. */
export const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'secret',
  'configMap',
  'persistentVolumeClaim',
  'downwardAPI',
  'projected',
  'nfs',
  'ephemeral',
  'image',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'azureDisk',
  'vsphereVolume',
  'quobyte',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
];

const opaque = (d: string) => ({
  type: 'object' as const,
  description: d,
  'x-kubernetes-preserve-unknown-fields': true,
});

define(
  CORE('Volume'),
  obj(
    'A named volume in a pod that any container in the pod may mount.',
    {
      name: str('Name of the volume; a DNS_LABEL unique within the pod.'),
      hostPath: r('HostPathVolumeSource', 'A pre-existing file or directory on the host machine.'),
      emptyDir: r('EmptyDirVolumeSource', "A temporary directory that shares a pod's lifetime."),
      secret: r('SecretVolumeSource', 'A secret that populates this volume.'),
      configMap: r('ConfigMapVolumeSource', 'A ConfigMap that populates this volume.'),
      persistentVolumeClaim: r(
        'PersistentVolumeClaimVolumeSource',
        'A reference to a PersistentVolumeClaim in the same namespace.',
      ),
      downwardAPI: r('DownwardAPIVolumeSource', 'Downward API information about the pod.'),
      projected: r(
        'ProjectedVolumeSource',
        'Items for all-in-one resources: secrets, configmaps, downward API and tokens.',
      ),
      nfs: r('NFSVolumeSource', "An NFS mount on the host that shares a pod's lifetime."),
      ephemeral: r(
        'EphemeralVolumeSource',
        "A volume handled by a cluster storage driver, tied to the pod's lifetime.",
      ),
      image: r('ImageVolumeSource', 'An OCI object pulled and mounted on the host.'),
      ...Object.fromEntries(
        VOLUME_SOURCES.slice(10).map((k) => [
          k,
          opaque(`The ${k} volume source (accepted for compatibility; not provided by Skiff nodes).`),
        ]),
      ),
    },
    ['name'],
  ),
);
