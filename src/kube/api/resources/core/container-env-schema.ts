// core/v1 container schemas, part 1: ports, environment (values, sources, selectors), resources
// and claims, volume mounts and devices. Loaded by container-schema.ts (definitions register on load).
import { arr, bool, define, enumStr, int32, mapOf, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { CORE } from './schema-names.js';

const r = (n: string, d?: string) => ref(CORE(n), d);

define(
  CORE('ContainerPort'),
  obj(
    'A network port in a single container.',
    {
      name: str('An IANA_SVC_NAME, unique within the pod, that services can refer to.'),
      containerPort: int32("Port number to expose on the pod's IP address (1-65535)."),
      hostPort: int32('Port number to expose on the host (1-65535); most containers do not need this.'),
      hostIP: str('What host IP to bind the external port to.'),
      protocol: {
        ...enumStr('Protocol for the port: TCP (default), UDP or SCTP.', ['SCTP', 'TCP', 'UDP']),
        default: 'TCP',
      },
    },
    ['containerPort'],
  ),
);

define(CORE('ObjectFieldSelector'), {
  ...obj(
    'Selects a field of the pod.',
    {
      apiVersion: str('Version of the schema the fieldPath is written in, "v1" by default.'),
      fieldPath: str('Path of the field to select, e.g. metadata.name, status.podIP.'),
    },
    ['fieldPath'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
define(CORE('ResourceFieldSelector'), {
  ...obj(
    'Selects a container resource (limits.cpu, requests.memory, ...).',
    {
      containerName: str('Container name: required for volumes, optional for env vars.'),
      resource: str('Required: resource to select.'),
      divisor: ref(N.Quantity, 'Output format of the exposed resources, defaults to "1".'),
    },
    ['resource'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
define(CORE('ConfigMapKeySelector'), {
  ...obj(
    'Selects a key from a ConfigMap.',
    {
      name: str('Name of the referent.'),
      key: str('The key to select.'),
      optional: bool('Whether the ConfigMap or its key must be defined.'),
    },
    ['key'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
define(CORE('SecretKeySelector'), {
  ...obj(
    "Selects a key of a Secret in the pod's namespace.",
    {
      name: str('Name of the referent.'),
      key: str('The key of the secret to select from; must be a valid secret key.'),
      optional: bool('Whether the Secret or its key must be defined.'),
    },
    ['key'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
define(
  CORE('EnvVarSource'),
  obj('A source for the value of an EnvVar; exactly one field may be set.', {
    fieldRef: r(
      'ObjectFieldSelector',
      "Selects a field of the pod: metadata.name, metadata.namespace, metadata.labels['<KEY>'], metadata.annotations['<KEY>'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.podIP, status.podIPs.",
    ),
    resourceFieldRef: r(
      'ResourceFieldSelector',
      'Selects a resource of the container: limits.cpu, limits.memory, requests.cpu, requests.memory, ...',
    ),
    configMapKeyRef: r('ConfigMapKeySelector', 'Selects a key of a ConfigMap.'),
    secretKeyRef: r('SecretKeySelector', "Selects a key of a secret in the pod's namespace."),
    fileKeyRef: {
      type: 'object',
      description: 'Selects a key of an env file (newer API; accepted, not provided by Skiff nodes).',
      'x-kubernetes-preserve-unknown-fields': true,
    },
  }),
);
define(
  CORE('EnvVar'),
  obj(
    'An environment variable present in a container.',
    {
      name: str('Name of the environment variable.'),
      value: str(
        'Variable references $(VAR_NAME) are expanded using previously defined variables; $$ escapes. Defaults to "".',
      ),
      valueFrom: r('EnvVarSource', "Source for the variable's value; cannot be used if value is not empty."),
    },
    ['name'],
  ),
);
define(
  CORE('ConfigMapEnvSource'),
  obj('Selects a ConfigMap whose keys become environment variables.', {
    name: str('Name of the referent.'),
    optional: bool('Whether the ConfigMap must be defined.'),
  }),
);
define(
  CORE('SecretEnvSource'),
  obj('Selects a Secret whose keys become environment variables.', {
    name: str('Name of the referent.'),
    optional: bool('Whether the Secret must be defined.'),
  }),
);
define(
  CORE('EnvFromSource'),
  obj('A source of a set of environment variables.', {
    prefix: str('An optional identifier to prepend to each key.'),
    configMapRef: r('ConfigMapEnvSource', 'The ConfigMap to select from.'),
    secretRef: r('SecretEnvSource', 'The Secret to select from.'),
  }),
);

define(
  CORE('ResourceClaim'),
  obj(
    'A reference to one entry in PodSpec.resourceClaims.',
    {
      name: str('Name of the entry in pod.spec.resourceClaims.'),
      request: str('Name of a request in the claim.'),
    },
    ['name'],
  ),
);
define(
  CORE('ResourceRequirements'),
  obj('Compute resource requirements.', {
    limits: mapOf('Maximum amount of compute resources allowed.', ref(N.Quantity)),
    requests: mapOf(
      'Minimum amount of compute resources required; defaults to limits when omitted and limits are set.',
      ref(N.Quantity),
    ),
    claims: arr('Names of resources from spec.resourceClaims used by this container.', r('ResourceClaim'), {
      listType: 'map',
      mapKeys: ['name'],
    }),
  }),
);

define(
  CORE('VolumeMount'),
  obj(
    'A mounting of a Volume within a container.',
    {
      name: str('Must match the name of a volume.'),
      mountPath: str('Path within the container at which the volume is mounted; must not contain ":".'),
      subPath: str('Path within the volume to mount instead of its root.'),
      subPathExpr: str(
        "Like subPath, with $(VAR_NAME) expanded from the container's environment. Exclusive with subPath.",
      ),
      readOnly: bool('Mounted read-only if true, read-write otherwise (false or unspecified).'),
      recursiveReadOnly: str('Whether read-only mounts are recursively read-only: Disabled, IfPossible or Enabled.'),
      mountPropagation: str(
        'How mounts propagate between host and container: None (default), HostToContainer or Bidirectional.',
      ),
    },
    ['name', 'mountPath'],
  ),
);
define(
  CORE('VolumeDevice'),
  obj(
    'A mapping of a raw block device within a container.',
    {
      name: str('Must match the name of a persistentVolumeClaim in the pod.'),
      devicePath: str('Path inside the container the device is mapped to.'),
    },
    ['name', 'devicePath'],
  ),
);
