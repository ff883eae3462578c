// core/v1 container-level schemas: Container, ports, env, resources, probes, lifecycle,
// security context, and the container status types.
import { arr, bool, define, enumStr, int32, int64, mapOf, obj, ref, str, strList } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';

const C = 'io.k8s.api.core.v1';
export const CORE = (n: string) => `${C}.${n}`;
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

define(
  CORE('ExecAction'),
  obj('Runs a command in the container.', {
    command: strList('Command line to execute inside the container; not run in a shell. Exit status 0 is success.'),
  }),
);
define(
  CORE('HTTPHeader'),
  obj('A custom header for HTTP probes.', { name: str('Header field name.'), value: str('Header field value.') }, [
    'name',
    'value',
  ]),
);
define(
  CORE('HTTPGetAction'),
  obj(
    'An HTTP GET request.',
    {
      path: str('Path to access on the HTTP server.'),
      port: ref(N.IntOrString, 'Number or IANA_SVC_NAME of the port to access on the container.'),
      host: str('Host name to connect to, defaults to the pod IP.'),
      scheme: enumStr('Scheme for connecting: HTTP (default) or HTTPS.', ['HTTP', 'HTTPS']),
      httpHeaders: arr('Custom headers to set in the request.', r('HTTPHeader'), { listType: 'atomic' }),
    },
    ['port'],
  ),
);
define(
  CORE('TCPSocketAction'),
  obj(
    'Opens a TCP connection.',
    {
      port: ref(N.IntOrString, 'Number or name of the port to access on the container.'),
      host: str('Host name to connect to, defaults to the pod IP.'),
    },
    ['port'],
  ),
);
define(
  CORE('GRPCAction'),
  obj(
    'A gRPC health check.',
    {
      port: int32('Port number of the gRPC service (1-65535).'),
      service: str('Service name placed in the gRPC HealthCheckRequest.'),
    },
    ['port'],
  ),
);
define(
  CORE('Probe'),
  obj('A health check performed against a container.', {
    exec: r('ExecAction', 'Exec specifies a command to execute in the container.'),
    httpGet: r('HTTPGetAction', 'HTTPGet specifies an HTTP GET request to perform.'),
    tcpSocket: r('TCPSocketAction', 'TCPSocket specifies a connection to a TCP port.'),
    grpc: r('GRPCAction', 'GRPC specifies a gRPC HealthCheckRequest.'),
    initialDelaySeconds: int32('Seconds after the container starts before probes begin.'),
    timeoutSeconds: int32('Seconds after which the probe times out. Defaults to 1.'),
    periodSeconds: int32('How often (in seconds) to probe. Defaults to 10.'),
    successThreshold: int32(
      'Consecutive successes for the probe to be considered successful after a failure. Defaults to 1; must be 1 for liveness and startup.',
    ),
    failureThreshold: int32(
      'Consecutive failures for the probe to be considered failed after a success. Defaults to 3.',
    ),
    terminationGracePeriodSeconds: int64('Optional grace period for the pod to terminate after a probe failure.'),
  }),
);
define(CORE('SleepAction'), obj('Sleeps for a duration.', { seconds: int64('Seconds to sleep.') }, ['seconds']));
define(
  CORE('LifecycleHandler'),
  obj('An action to take in a lifecycle hook; exactly one field may be set.', {
    exec: r('ExecAction', 'Exec specifies a command to execute in the container.'),
    httpGet: r('HTTPGetAction', 'HTTPGet specifies an HTTP GET request to perform.'),
    tcpSocket: r('TCPSocketAction', 'Deprecated; kept for compatibility.'),
    sleep: r('SleepAction', 'Sleep represents a duration to wait before the container is terminated.'),
  }),
);
define(
  CORE('Lifecycle'),
  obj('Actions the system takes in response to container lifecycle events.', {
    postStart: r(
      'LifecycleHandler',
      'Called immediately after the container is created; failure restarts the container.',
    ),
    preStop: r('LifecycleHandler', 'Called immediately before the container is terminated.'),
    stopSignal: str('The signal used to stop the container.'),
  }),
);

define(
  CORE('Capabilities'),
  obj('POSIX capabilities to add to or drop from a running container.', {
    add: strList('Added capabilities.'),
    drop: strList('Removed capabilities.'),
  }),
);
define(
  CORE('SELinuxOptions'),
  obj('SELinux labels to apply.', {
    user: str('SELinux user label.'),
    role: str('SELinux role label.'),
    type: str('SELinux type label.'),
    level: str('SELinux level label.'),
  }),
);
define(
  CORE('SeccompProfile'),
  obj(
    'A seccomp profile.',
    {
      type: enumStr('Localhost, RuntimeDefault or Unconfined.', ['Localhost', 'RuntimeDefault', 'Unconfined']),
      localhostProfile: str(
        "A profile in a file on the node, relative to the kubelet's seccomp profile location; only with type Localhost.",
      ),
    },
    ['type'],
  ),
);
define(
  CORE('AppArmorProfile'),
  obj(
    'An AppArmor profile.',
    {
      type: enumStr('Localhost, RuntimeDefault or Unconfined.', ['Localhost', 'RuntimeDefault', 'Unconfined']),
      localhostProfile: str('A profile loaded on the node; only with type Localhost.'),
    },
    ['type'],
  ),
);
define(
  CORE('WindowsSecurityContextOptions'),
  obj('Windows-specific options (accepted, not used on Linux nodes).', {
    gmsaCredentialSpecName: str('Name of the GMSA credential spec to use.'),
    gmsaCredentialSpec: str('GMSA credential spec contents.'),
    runAsUserName: str('UserName in Windows to run the entrypoint of the container process.'),
    hostProcess: bool('Run as a Windows HostProcess container.'),
  }),
);
define(
  CORE('ContainerResizePolicy'),
  obj(
    'How a container reacts to an in-place resize of one resource.',
    {
      resourceName: str('Name of the resource (cpu, memory).'),
      restartPolicy: str('NotRequired (default) or RestartContainer.'),
    },
    ['resourceName', 'restartPolicy'],
  ),
);
define(
  CORE('SecurityContext'),
  obj('Security options of a container; fields here override the pod-level ones.', {
    capabilities: r('Capabilities', 'Capabilities to add/drop when running the container.'),
    privileged: bool('Run as privileged: processes are equivalent to root on the host. Defaults to false.'),
    seLinuxOptions: r('SELinuxOptions', 'The SELinux context to apply to the container.'),
    runAsUser: int64('The UID to run the entrypoint of the container process.'),
    runAsGroup: int64('The GID to run the entrypoint of the container process.'),
    runAsNonRoot: bool('Indicates that the container must run as a non-root user.'),
    readOnlyRootFilesystem: bool('Whether this container has a read-only root filesystem. Default is false.'),
    allowPrivilegeEscalation: bool('Whether a process can gain more privileges than its parent (no_new_privs).'),
    procMount: str('Type of proc mount: Default or Unmasked.'),
    seccompProfile: r('SeccompProfile', 'The seccomp options of this container.'),
    appArmorProfile: r('AppArmorProfile', 'The AppArmor options of this container.'),
    windowsOptions: r('WindowsSecurityContextOptions', 'Windows-specific settings.'),
  }),
);

export const containerProps = {
  name: str('Name of the container as a DNS_LABEL; unique within the pod. Cannot be updated.'),
  image: str('Container image name.'),
  command: strList(
    "Entrypoint array, not executed within a shell; the image's ENTRYPOINT is used if not provided. $(VAR_NAME) references are expanded.",
  ),
  args: strList(
    "Arguments to the entrypoint; the image's CMD is used if not provided. $(VAR_NAME) references are expanded.",
  ),
  workingDir: str("Container's working directory; defaults to the image's."),
  ports: arr(
    'Ports to expose from the container (informational; any port a process listens on is reachable).',
    r('ContainerPort'),
    { mergeKey: 'containerPort', listType: 'map', mapKeys: ['containerPort', 'protocol'] },
  ),
  envFrom: arr('Sources to populate environment variables in the container.', r('EnvFromSource'), {
    listType: 'atomic',
  }),
  env: arr('Environment variables to set in the container.', r('EnvVar'), {
    mergeKey: 'name',
    listType: 'map',
    mapKeys: ['name'],
  }),
  resources: r('ResourceRequirements', 'Compute resources required by this container.'),
  resizePolicy: arr('Resize policy per resource for in-place resizing.', r('ContainerResizePolicy'), {
    listType: 'atomic',
  }),
  restartPolicy: str(
    'Restart behavior of an individual init container: only "Always" is allowed (sidecar containers).',
  ),
  restartPolicyRules: arr(
    'Rules overriding restartPolicy per exit code (newer API; accepted, not used).',
    { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    { listType: 'atomic' },
  ),
  volumeMounts: arr("Pod volumes to mount into the container's filesystem.", r('VolumeMount'), {
    mergeKey: 'mountPath',
    listType: 'map',
    mapKeys: ['mountPath'],
  }),
  volumeDevices: arr('Block devices to be used by the container.', r('VolumeDevice'), {
    mergeKey: 'devicePath',
    listType: 'map',
    mapKeys: ['devicePath'],
  }),
  livenessProbe: r('Probe', 'Periodic probe of container liveness; the container is restarted if it fails.'),
  readinessProbe: r(
    'Probe',
    'Periodic probe of container service readiness; the pod is removed from service endpoints if it fails.',
  ),
  startupProbe: r('Probe', 'Indicates the pod has successfully initialized; other probes wait until it succeeds.'),
  lifecycle: r('Lifecycle', 'Actions the management system takes in response to container lifecycle events.'),
  terminationMessagePath: str(
    "File the container's termination message is written to. Defaults to /dev/termination-log.",
  ),
  terminationMessagePolicy: enumStr(
    'How the termination message is populated: File (default) or FallbackToLogsOnError.',
    ['FallbackToLogsOnError', 'File'],
  ),
  imagePullPolicy: enumStr(
    'Always, Never or IfNotPresent. Defaults to Always if the :latest tag (or no tag) is specified, IfNotPresent otherwise.',
    ['Always', 'IfNotPresent', 'Never'],
  ),
  securityContext: r('SecurityContext', 'Security options the container should be run with.'),
  stdin: bool('Whether a buffer for stdin is allocated in the container runtime.'),
  stdinOnce: bool('Whether stdin is closed after the first attach session ends.'),
  tty: bool('Whether a TTY is allocated for the container (requires stdin).'),
};
define(CORE('Container'), obj('A single application container to run within a pod.', containerProps, ['name']));
define(
  CORE('EphemeralContainer'),
  obj(
    'A temporary container added to an existing pod for debugging.',
    {
      ...containerProps,
      targetContainerName: str('Name of a container in the pod whose namespaces this container targets.'),
    },
    ['name'],
  ),
);

define(
  CORE('ContainerStateWaiting'),
  obj('A waiting container.', { reason: str('Why the container is not yet running.'), message: str('Details.') }),
);
define(
  CORE('ContainerStateRunning'),
  obj('A running container.', { startedAt: ref(N.Time, 'Time at which the container was last (re)started.') }),
);
define(
  CORE('ContainerStateTerminated'),
  obj(
    'A terminated container.',
    {
      exitCode: int32('Exit status from the last termination of the container.'),
      signal: int32('Signal from the last termination.'),
      reason: str('Reason from the last termination.'),
      message: str('Message about the last termination.'),
      startedAt: ref(N.Time, 'Time at which the previous execution started.'),
      finishedAt: ref(N.Time, 'Time at which the container last terminated.'),
      containerID: str("Container's ID in the format '<type>://<container_id>'."),
    },
    ['exitCode'],
  ),
);
define(
  CORE('ContainerState'),
  obj('The state of a container: at most one field is set; default waiting.', {
    waiting: r('ContainerStateWaiting', 'Details about a waiting container.'),
    running: r('ContainerStateRunning', 'Details about a running container.'),
    terminated: r('ContainerStateTerminated', 'Details about a terminated container.'),
  }),
);
define(
  CORE('ContainerStatus'),
  obj(
    'The current status of one container.',
    {
      name: str('Name of the container.'),
      state: r('ContainerState', "Details about the container's current condition."),
      lastState: r('ContainerState', "Details about the container's last termination condition."),
      ready: bool('Whether the container passed its readiness probe.'),
      restartCount: int32('Number of times the container has been restarted.'),
      image: str('The image the container is running.'),
      imageID: str("The image ID of the container's image."),
      containerID: str("The container's ID in the format '<type>://<container_id>'."),
      started: bool('Whether the container finished its postStart hook and passed its startup probe.'),
      allocatedResources: mapOf('Compute resources allocated for this container by the node.', ref(N.Quantity)),
      resources: r('ResourceRequirements', 'Compute resources that have been applied to the running container.'),
      volumeMounts: arr('Status of the volume mounts.', r('VolumeMountStatus'), {
        mergeKey: 'mountPath',
        listType: 'atomic',
      }),
      user: {
        type: 'object',
        description: 'Identity information of the first process of the container.',
        'x-kubernetes-preserve-unknown-fields': true,
      },
      allocatedResourcesStatus: {
        type: 'array',
        description: 'Health of the resources allocated to the container.',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      },
      stopSignal: str('The stop signal of the container.'),
    },
    ['name', 'ready', 'restartCount', 'image', 'imageID'],
  ),
);
define(
  CORE('VolumeMountStatus'),
  obj(
    'Status of a volume mount.',
    {
      name: str('Name of the volume.'),
      mountPath: str('Path in the container.'),
      readOnly: bool('Mounted read-only.'),
      recursiveReadOnly: str('Disabled, IfPossible or Enabled.'),
    },
    ['name', 'mountPath'],
  ),
);
