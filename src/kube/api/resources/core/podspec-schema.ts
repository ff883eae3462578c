// core/v1 PodSpec, PodStatus, PodTemplateSpec and the scheduling types (affinity, tolerations,
// topology spread). Imported for side effects by every kind that embeds a pod template.
import {
  arr,
  bool,
  define,
  enumStr,
  int32,
  int64,
  mapOf,
  obj,
  ref,
  str,
  strList,
  strMap,
} from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { CORE } from './container-schema.js';
import './volume-schema.js';

const r = (n: string, d?: string) => ref(CORE(n), d);

define(
  CORE('Toleration'),
  obj('Lets the pod tolerate a taint matching the triple <key,value,effect> using the operator.', {
    key: str('The taint key the toleration applies to; empty means all keys (operator must be Exists).'),
    operator: enumStr('Relationship to the value: Exists or Equal (default).', ['Equal', 'Exists']),
    value: str('The taint value to match; empty with operator Exists.'),
    effect: enumStr('The taint effect to match; empty matches all effects.', [
      'NoExecute',
      'NoSchedule',
      'PreferNoSchedule',
    ]),
    tolerationSeconds: int64('For NoExecute taints: how long the pod stays bound after the taint appears.'),
  }),
);
define(
  CORE('NodeSelectorRequirement'),
  obj(
    'A selector requirement on node labels or fields.',
    {
      key: str('The label key.'),
      operator: enumStr('In, NotIn, Exists, DoesNotExist, Gt or Lt.', [
        'DoesNotExist',
        'Exists',
        'Gt',
        'In',
        'Lt',
        'NotIn',
      ]),
      values: strList('Values for In/NotIn (non-empty), Exists/DoesNotExist (empty), Gt/Lt (one integer).'),
    },
    ['key', 'operator'],
  ),
);
define(CORE('NodeSelectorTerm'), {
  ...obj('A node selector term; its requirements are ANDed.', {
    matchExpressions: arr('Requirements by node labels.', r('NodeSelectorRequirement'), { listType: 'atomic' }),
    matchFields: arr('Requirements by node fields.', r('NodeSelectorRequirement'), { listType: 'atomic' }),
  }),
  'x-kubernetes-map-type': 'atomic',
});
define(CORE('NodeSelector'), {
  ...obj(
    'A union of node selector terms (ORed).',
    {
      nodeSelectorTerms: arr('Required. The terms, ORed.', r('NodeSelectorTerm'), { listType: 'atomic' }),
    },
    ['nodeSelectorTerms'],
  ),
  'x-kubernetes-map-type': 'atomic',
});
define(
  CORE('PreferredSchedulingTerm'),
  obj(
    'A weighted node selector term.',
    {
      weight: int32('Weight in the range 1-100.'),
      preference: r('NodeSelectorTerm', 'A node selector term.'),
    },
    ['weight', 'preference'],
  ),
);
define(
  CORE('NodeAffinity'),
  obj('Node affinity scheduling rules.', {
    requiredDuringSchedulingIgnoredDuringExecution: r('NodeSelector', 'Rules that must be met at scheduling time.'),
    preferredDuringSchedulingIgnoredDuringExecution: arr('Preferred rules, weighted.', r('PreferredSchedulingTerm'), {
      listType: 'atomic',
    }),
  }),
);
define(
  CORE('PodAffinityTerm'),
  obj(
    'Pods (selected by labels in namespaces) that this pod should be co-located with (or not) in a topology domain.',
    {
      labelSelector: ref(N.LabelSelector, 'A label query over a set of pods.'),
      namespaceSelector: ref(N.LabelSelector, 'A label query over namespaces the term applies to.'),
      namespaces: strList("Namespaces the term applies to; empty means this pod's namespace."),
      topologyKey: str('The node label whose values define the topology domain; required.'),
      matchLabelKeys: strList('Pod label keys whose values are merged into labelSelector (In).'),
      mismatchLabelKeys: strList('Pod label keys whose values are merged into labelSelector (NotIn).'),
    },
    ['topologyKey'],
  ),
);
define(
  CORE('WeightedPodAffinityTerm'),
  obj(
    'A weighted pod affinity term.',
    {
      weight: int32('Weight in the range 1-100.'),
      podAffinityTerm: r('PodAffinityTerm', 'The pod affinity term.'),
    },
    ['weight', 'podAffinityTerm'],
  ),
);
const podAffinity = (what: string) =>
  obj(`Inter-pod ${what} scheduling rules.`, {
    requiredDuringSchedulingIgnoredDuringExecution: arr(
      'Terms that must be met at scheduling time.',
      r('PodAffinityTerm'),
      { listType: 'atomic' },
    ),
    preferredDuringSchedulingIgnoredDuringExecution: arr('Preferred terms, weighted.', r('WeightedPodAffinityTerm'), {
      listType: 'atomic',
    }),
  });
define(CORE('PodAffinity'), podAffinity('affinity'));
define(CORE('PodAntiAffinity'), podAffinity('anti-affinity'));
define(
  CORE('Affinity'),
  obj('A group of affinity scheduling rules.', {
    nodeAffinity: r('NodeAffinity', 'Node affinity scheduling rules for the pod.'),
    podAffinity: r('PodAffinity', 'Co-locate this pod with other pods.'),
    podAntiAffinity: r('PodAntiAffinity', 'Avoid putting this pod with other pods.'),
  }),
);
define(
  CORE('TopologySpreadConstraint'),
  obj(
    'How to spread matching pods among the given topology.',
    {
      maxSkew: int32('The maximum permitted difference of matching pods between topology domains; at least 1.'),
      topologyKey: str('The node label key defining the domains.'),
      whenUnsatisfiable: enumStr('DoNotSchedule (default) or ScheduleAnyway.', ['DoNotSchedule', 'ScheduleAnyway']),
      labelSelector: ref(N.LabelSelector, 'Finds matching pods.'),
      minDomains: int32('Minimum number of eligible domains.'),
      nodeAffinityPolicy: str("Honor or Ignore the pod's nodeAffinity/nodeSelector when calculating skew."),
      nodeTaintsPolicy: str('Honor or Ignore node taints when calculating skew.'),
      matchLabelKeys: strList('Pod label keys used to select the pods the spreading is calculated over.'),
    },
    ['maxSkew', 'topologyKey', 'whenUnsatisfiable'],
  ),
);
define(
  CORE('Sysctl'),
  obj('A kernel parameter to set.', { name: str('Name of a property.'), value: str('Value of the property.') }, [
    'name',
    'value',
  ]),
);
define(
  CORE('PodSecurityContext'),
  obj('Pod-level security attributes and common container settings.', {
    seLinuxOptions: r('SELinuxOptions', 'The SELinux context applied to all containers.'),
    runAsUser: int64('The UID to run the entrypoint of container processes.'),
    runAsGroup: int64('The GID to run the entrypoint of container processes.'),
    runAsNonRoot: bool('Containers must run as a non-root user.'),
    supplementalGroups: {
      type: 'array',
      description: "Groups added to each container's first process.",
      items: { type: 'integer', format: 'int64' },
      'x-kubernetes-list-type': 'atomic',
    },
    supplementalGroupsPolicy: str('Merge (default) or Strict.'),
    fsGroup: int64('A special supplemental group that owns volumes.'),
    fsGroupChangePolicy: str('OnRootMismatch or Always.'),
    sysctls: arr('Namespaced sysctls for the pod.', r('Sysctl'), { listType: 'atomic' }),
    seccompProfile: r('SeccompProfile', 'The seccomp options of the containers.'),
    appArmorProfile: r('AppArmorProfile', 'The AppArmor options of the containers.'),
    windowsOptions: r('WindowsSecurityContextOptions', 'Windows-specific settings.'),
    seLinuxChangePolicy: str('How the SELinux label is applied to volumes: Recursive or MountOption.'),
  }),
);
define(CORE('LocalObjectReference'), {
  ...obj('A reference to an object in the same namespace.', { name: str('Name of the referent.') }),
  'x-kubernetes-map-type': 'atomic',
});
define(
  CORE('HostAlias'),
  obj(
    "An entry for the pod's /etc/hosts.",
    { ip: str('IP address of the host file entry.'), hostnames: strList('Hostnames for the IP address.') },
    ['ip'],
  ),
);
define(
  CORE('PodDNSConfigOption'),
  obj('A resolver option.', { name: str('Name of the option.'), value: str('Value of the option.') }),
);
define(
  CORE('PodDNSConfig'),
  obj('DNS parameters merged with those generated by dnsPolicy.', {
    nameservers: strList('DNS name server IP addresses.'),
    searches: strList('DNS search domains.'),
    options: arr('DNS resolver options.', r('PodDNSConfigOption'), { listType: 'atomic' }),
  }),
);
define(
  CORE('PodReadinessGate'),
  obj(
    "A pod condition the pod's readiness depends on.",
    { conditionType: str("A condition type in the pod's condition list.") },
    ['conditionType'],
  ),
);
define(CORE('PodOS'), obj('The OS of the pod.', { name: str('linux or windows.') }, ['name']));
define(
  CORE('PodSchedulingGate'),
  obj('A gate that keeps the pod from being scheduled.', { name: str('Name of the gate.') }, ['name']),
);
define(
  CORE('PodResourceClaim'),
  obj(
    'A resource claim used by the pod.',
    {
      name: str('Unique name of this claim inside the pod.'),
      resourceClaimName: str('Name of a ResourceClaim object.'),
      resourceClaimTemplateName: str('Name of a ResourceClaimTemplate.'),
    },
    ['name'],
  ),
);

define(
  CORE('PodSpec'),
  obj(
    'The specification of a pod.',
    {
      volumes: arr('Volumes that can be mounted by containers of this pod.', r('Volume'), {
        mergeKey: 'name',
        strategy: 'merge,retainKeys',
        listType: 'map',
        mapKeys: ['name'],
      }),
      initContainers: arr(
        'Containers run in order before the app containers start; each must succeed (or, with restartPolicy Always, keep running as a sidecar).',
        r('Container'),
        { mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
      ),
      containers: arr('The containers of the pod: at least one. Cannot be added or removed.', r('Container'), {
        mergeKey: 'name',
        listType: 'map',
        mapKeys: ['name'],
      }),
      ephemeralContainers: arr(
        'Ephemeral containers run in this pod for debugging; added through the ephemeralcontainers subresource.',
        r('EphemeralContainer'),
        { mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
      ),
      restartPolicy: enumStr('Restart policy for all containers: Always (default), OnFailure or Never.', [
        'Always',
        'Never',
        'OnFailure',
      ]),
      terminationGracePeriodSeconds: int64(
        'Seconds the pod is given to terminate gracefully (SIGTERM, then SIGKILL). Defaults to 30.',
      ),
      activeDeadlineSeconds: int64(
        'Seconds the pod may be active on the node relative to its start before the system marks it failed.',
      ),
      dnsPolicy: enumStr('DNS policy: ClusterFirst (default), ClusterFirstWithHostNet, Default or None.', [
        'ClusterFirst',
        'ClusterFirstWithHostNet',
        'Default',
        'None',
      ]),
      nodeSelector: {
        ...strMap('Labels a node must carry for the pod to fit on it.'),
        'x-kubernetes-map-type': 'atomic',
      },
      serviceAccountName: str('Name of the ServiceAccount used to run this pod.'),
      serviceAccount: str('Deprecated alias of serviceAccountName.'),
      automountServiceAccountToken: bool('Whether a service account token is mounted automatically.'),
      nodeName: str('The node the pod is bound to; set by the scheduler, or by the user to bypass scheduling.'),
      hostNetwork: bool("Use the host's network namespace. Default false."),
      hostPID: bool("Use the host's pid namespace. Default false."),
      hostIPC: bool("Use the host's ipc namespace. Default false."),
      shareProcessNamespace: bool('Share a single process namespace between all containers of the pod.'),
      securityContext: r('PodSecurityContext', 'Pod-level security attributes. Defaults to empty.'),
      imagePullSecrets: arr('Secrets in the same namespace used to pull images.', r('LocalObjectReference'), {
        mergeKey: 'name',
        listType: 'map',
        mapKeys: ['name'],
      }),
      hostname: str('Hostname of the pod; defaults to a system-defined value.'),
      subdomain: str("If set, the pod's FQDN is <hostname>.<subdomain>.<namespace>.svc.<cluster domain>."),
      affinity: r('Affinity', "The pod's scheduling constraints."),
      schedulerName: str('The scheduler that dispatches the pod; default-scheduler by default.'),
      tolerations: arr("The pod's tolerations.", r('Toleration'), { listType: 'atomic' }),
      hostAliases: arr("Entries added to the pod's hosts file.", r('HostAlias'), {
        mergeKey: 'ip',
        listType: 'map',
        mapKeys: ['ip'],
      }),
      priorityClassName: str("The pod's priority class; the default priority is used if unset."),
      priority: int32('The priority value, filled from priorityClassName by admission.'),
      dnsConfig: r('PodDNSConfig', 'DNS parameters of the pod.'),
      readinessGates: arr('Extra conditions evaluated for pod readiness.', r('PodReadinessGate'), {
        listType: 'atomic',
      }),
      runtimeClassName: str('The RuntimeClass used to run this pod.'),
      enableServiceLinks: bool(
        "Whether information about services is injected into the pod's environment variables (Docker links style). Defaults to true.",
      ),
      preemptionPolicy: enumStr('Policy for preempting lower-priority pods: PreemptLowerPriority (default) or Never.', [
        'Never',
        'PreemptLowerPriority',
      ]),
      overhead: mapOf("Resource overhead of the pod's runtime class.", ref(N.Quantity)),
      topologySpreadConstraints: arr('How pods spread across topology domains.', r('TopologySpreadConstraint'), {
        mergeKey: 'topologyKey',
        listType: 'map',
        mapKeys: ['topologyKey', 'whenUnsatisfiable'],
      }),
      setHostnameAsFQDN: bool("Use the FQDN as the pod's hostname."),
      os: r('PodOS', 'The OS of the containers in the pod.'),
      hostUsers: bool("Use the host's user namespace; false creates a new user namespace for the pod."),
      schedulingGates: arr('Gates that block scheduling while present.', r('PodSchedulingGate'), {
        mergeKey: 'name',
        listType: 'map',
        mapKeys: ['name'],
      }),
      resourceClaims: arr('Resource claims used by the pod.', r('PodResourceClaim'), {
        mergeKey: 'name',
        strategy: 'merge,retainKeys',
        listType: 'map',
        mapKeys: ['name'],
      }),
      resources: r('ResourceRequirements', 'Total resources of the pod (pod-level resources).'),
      hostnameOverride: str('Overrides the hostname of the pod (newer API).'),
    },
    ['containers'],
  ),
);

define(
  CORE('PodCondition'),
  obj(
    'A condition of a pod.',
    {
      type: str('PodScheduled, PodReadyToStartContainers, Initialized, ContainersReady or Ready.'),
      status: str('True, False or Unknown.'),
      observedGeneration: int64('The metadata.generation the condition was set from.'),
      lastProbeTime: ref(N.Time, 'Last time the condition was probed.'),
      lastTransitionTime: ref(N.Time, 'Last time the condition changed status.'),
      reason: str('Reason for the last transition.'),
      message: str('Details of the last transition.'),
    },
    ['type', 'status'],
  ),
);
define(CORE('PodIP'), obj('An IP address of the pod.', { ip: str('The IP address.') }, ['ip']));
define(CORE('HostIP'), obj('An IP address of the host.', { ip: str('The IP address.') }, ['ip']));
define(
  CORE('PodStatus'),
  obj('The observed state of a pod.', {
    phase: enumStr('Pending, Running, Succeeded, Failed or Unknown.', [
      'Failed',
      'Pending',
      'Running',
      'Succeeded',
      'Unknown',
    ]),
    conditions: arr('Current service state of the pod.', r('PodCondition'), {
      mergeKey: 'type',
      listType: 'map',
      mapKeys: ['type'],
    }),
    message: str('Why the pod is in this condition.'),
    reason: str('CamelCase reason, e.g. Evicted.'),
    nominatedNodeName: str('The node this pod is expected to run on after preemption.'),
    hostIP: str('IP address of the host the pod runs on.'),
    hostIPs: arr('IP addresses of the host.', r('HostIP'), { mergeKey: 'ip', listType: 'atomic' }),
    podIP: str('IP address allocated to the pod.'),
    podIPs: arr('IP addresses allocated to the pod; index 0 equals podIP.', r('PodIP'), {
      mergeKey: 'ip',
      listType: 'map',
      mapKeys: ['ip'],
    }),
    startTime: ref(N.Time, 'When the pod was acknowledged by the node agent.'),
    initContainerStatuses: arr('Status of each init container.', r('ContainerStatus'), { listType: 'atomic' }),
    containerStatuses: arr('Status of each container.', r('ContainerStatus'), { listType: 'atomic' }),
    ephemeralContainerStatuses: arr('Status of each ephemeral container.', r('ContainerStatus'), {
      listType: 'atomic',
    }),
    qosClass: enumStr('Quality of service class: Guaranteed, Burstable or BestEffort.', [
      'BestEffort',
      'Burstable',
      'Guaranteed',
    ]),
    observedGeneration: int64('The metadata.generation this status reflects.'),
    extendedResourceClaimStatus: {
      type: 'object',
      description: 'Status of the extended resource claim (newer API).',
      'x-kubernetes-preserve-unknown-fields': true,
    },
    resize: str('Status of a pending in-place resize: Proposed, InProgress, Deferred or Infeasible.'),
    resourceClaimStatuses: {
      type: 'array',
      description: 'Status of resource claims.',
      items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    },
  }),
);
define(
  CORE('PodTemplateSpec'),
  obj('Data a pod has when created from a template.', {
    metadata: ref(N.ObjectMeta, "Standard object's metadata."),
    spec: r('PodSpec', 'Specification of the desired behavior of the pod.'),
  }),
);
