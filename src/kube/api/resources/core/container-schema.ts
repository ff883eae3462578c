// core/v1 container-level schemas: Container and EphemeralContainer, and the container status
// types. The parts a Container refers to are defined by the modules imported first (in this
// order, so the definitions register as before): container-env-schema.ts (ports, env, resources,
// mounts), probe-schema.ts (probes, lifecycle), security-schema.ts (security context).
import './container-env-schema.js';
import './probe-schema.js';
import './security-schema.js';
import { arr, bool, define, enumStr, int32, mapOf, obj, ref, str, strList } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { CORE } from './schema-names.js';

export { CORE };
const r = (n: string, d?: string) => ref(CORE(n), d);

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
