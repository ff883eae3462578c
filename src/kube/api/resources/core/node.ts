import { isIP } from 'node:net';
import type { FieldError, KubeObject } from '../../types.js';
import {
  arr,
  bool,
  define,
  enumStr,
  int32,
  int64,
  kindSchema,
  mapOf,
  obj,
  ref,
  str,
  strList,
} from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import { duplicate, invalid, notSupported, required } from '../../validation/errors.js';
import { isQualifiedName, isValidLabelValue } from '../../validation/names.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';

const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

define(
  CORE('Taint'),
  obj(
    'A taint: pods that do not tolerate it are repelled from the node.',
    {
      key: str('The taint key to be applied to a node.'),
      value: str('The taint value corresponding to the key.'),
      effect: enumStr('NoSchedule, PreferNoSchedule or NoExecute.', ['NoExecute', 'NoSchedule', 'PreferNoSchedule']),
      timeAdded: ref(N.Time, 'When the taint was added (NoExecute taints only).'),
    },
    ['key', 'effect'],
  ),
);
define(
  CORE('NodeSpec'),
  obj('The specification of a node.', {
    podCIDR: str('The pod IP range assigned to the node.'),
    podCIDRs: strList('The pod IP ranges assigned to the node (podCIDR first).', {
      strategy: 'merge',
      listType: 'set',
    }),
    providerID: str('ID of the node assigned by the infrastructure provider.'),
    unschedulable: bool('Controls node schedulability of new pods (kubectl cordon). Default false.'),
    taints: arr("The node's taints.", ref(CORE('Taint')), { listType: 'atomic' }),
    externalID: str('Deprecated.'),
    configSource: { type: 'object', description: 'Deprecated.', 'x-kubernetes-preserve-unknown-fields': true },
  }),
);
define(
  CORE('NodeCondition'),
  obj(
    'A condition of a node.',
    {
      type: str('Ready, MemoryPressure, DiskPressure, PIDPressure or NetworkUnavailable.'),
      status: str('True, False or Unknown.'),
      lastHeartbeatTime: ref(N.Time, 'Last time the condition was reported.'),
      lastTransitionTime: ref(N.Time, 'Last time the condition changed.'),
      reason: str('Reason for the last transition.'),
      message: str('Details of the last transition.'),
    },
    ['type', 'status'],
  ),
);
define(
  CORE('NodeAddress'),
  obj(
    'An address of a node.',
    { type: str('Hostname, ExternalIP, InternalIP, ExternalDNS or InternalDNS.'), address: str('The address.') },
    ['type', 'address'],
  ),
);
define(CORE('DaemonEndpoint'), obj('A port a node daemon listens on.', { Port: int32('Port number.') }, ['Port']));
define(
  CORE('NodeDaemonEndpoints'),
  obj('Ports of daemons running on the node.', {
    kubeletEndpoint: ref(CORE('DaemonEndpoint'), 'Endpoint of the node agent.'),
  }),
);
define(
  CORE('NodeSystemInfo'),
  obj(
    'Identity of the node.',
    {
      machineID: str('Machine ID.'),
      systemUUID: str('System UUID.'),
      bootID: str('Boot ID.'),
      kernelVersion: str('Kernel version (uname -r).'),
      osImage: str('OS image (from /etc/os-release).'),
      containerRuntimeVersion: str('Container runtime version, e.g. skiff://0.1.0.'),
      kubeletVersion: str('Node agent version.'),
      kubeProxyVersion: str('Deprecated.'),
      operatingSystem: str('linux.'),
      architecture: str('amd64, arm64, ...'),
      swap: {
        type: 'object',
        description: 'Swap information of the node.',
        'x-kubernetes-preserve-unknown-fields': true,
      },
    },
    [
      'machineID',
      'systemUUID',
      'bootID',
      'kernelVersion',
      'osImage',
      'containerRuntimeVersion',
      'kubeletVersion',
      'kubeProxyVersion',
      'operatingSystem',
      'architecture',
    ],
  ),
);
define(
  CORE('ContainerImage'),
  obj('An image on the node.', {
    names: strList('Names of the image.'),
    sizeBytes: int64('Size of the image in bytes.'),
  }),
);
define(
  CORE('AttachedVolume'),
  obj(
    'A volume attached to the node.',
    { name: str('Name of the volume.'), devicePath: str('Where the volume should be available.') },
    ['name', 'devicePath'],
  ),
);
define(
  CORE('NodeStatus'),
  obj('The current status of a node.', {
    capacity: mapOf('Total resources of the node.', ref(N.Quantity)),
    allocatable: mapOf('Resources available for scheduling.', ref(N.Quantity)),
    phase: str('Deprecated.'),
    conditions: arr('Current observed node conditions.', ref(CORE('NodeCondition')), {
      mergeKey: 'type',
      listType: 'map',
      mapKeys: ['type'],
    }),
    addresses: arr('Addresses reachable to the node.', ref(CORE('NodeAddress')), {
      mergeKey: 'type',
      listType: 'map',
      mapKeys: ['type'],
    }),
    daemonEndpoints: ref(CORE('NodeDaemonEndpoints'), 'Endpoints of daemons running on the node.'),
    nodeInfo: ref(CORE('NodeSystemInfo'), 'Identity of the node.'),
    images: arr('Images on this node.', ref(CORE('ContainerImage')), { listType: 'atomic' }),
    volumesInUse: strList('Attachable volumes in use (mounted) by the node.'),
    volumesAttached: arr('Volumes attached to the node.', ref(CORE('AttachedVolume')), { listType: 'atomic' }),
    config: {
      type: 'object',
      description: "Status of the node's dynamic configuration.",
      'x-kubernetes-preserve-unknown-fields': true,
    },
    runtimeHandlers: {
      type: 'array',
      description: 'Available runtime handlers.',
      items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      'x-kubernetes-list-type': 'atomic',
    },
    features: {
      type: 'object',
      description: 'Features implemented by the node agent.',
      'x-kubernetes-preserve-unknown-fields': true,
    },
  }),
);

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'Node' },
  'Node is a worker machine. Each node runs an agent that runs the pods bound to it.',
  {
    spec: ref(CORE('NodeSpec'), 'The behavior of the node.'),
    status: ref(CORE('NodeStatus'), 'Most recently observed status of the node. Read-only.'),
  },
);

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const s = asObj(o.spec) ?? {};
  const seen = new Set<string>();
  asArr(s.taints).forEach((t: Obj, i: number) => {
    const p = `spec.taints[${i}]`;
    if (!t?.key) errs.push(required(`${p}.key`));
    else errs.push(...isQualifiedName(t.key).map((m) => invalid(`${p}.key`, t.key, m)));
    if (t?.value) errs.push(...isValidLabelValue(t.value).map((m) => invalid(`${p}.value`, t.value, m)));
    if (!t?.effect) errs.push(required(`${p}.effect`));
    else if (!EFFECTS.includes(t.effect)) errs.push(notSupported(`${p}.effect`, t.effect, EFFECTS));
    const k = `${t?.key}:${t?.effect}`;
    if (seen.has(k)) errs.push(duplicate(p, `${t?.key}:${t?.effect}`));
    seen.add(k);
  });
  for (const [i, c] of [s.podCIDR, ...asArr(s.podCIDRs)].entries()) {
    if (!c) continue;
    const [ip, bits] = String(c).split('/');
    if (!isIP(ip) || !/^\d+$/.test(bits ?? ''))
      errs.push(
        invalid(
          i === 0 ? 'spec.podCIDR' : `spec.podCIDRs[${i - 1}]`,
          c,
          'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
        ),
      );
  }
  return errs;
}

/** STATUS cell: Ready/NotReady/Unknown plus SchedulingDisabled when cordoned. */
export function nodeStatus(o: Obj): string {
  const conds = asArr(o.status?.conditions);
  const ready = conds.find((c) => c?.type === 'Ready');
  const parts = [
    ready ? (ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'NotReady' : 'Unknown') : 'Unknown',
  ];
  if (o.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

export function nodeRoles(labels: Record<string, string> | undefined): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const r = k.slice('node-role.kubernetes.io/'.length);
      if (r) roles.add(r);
    } else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

export const node = resource({
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  subresources: {
    status: true,
    extra: [{ name: 'proxy', kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
  },
  schema,
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    o.spec = asObj(o.spec) ?? {};
    if (o.spec.podCIDR && !asArr(o.spec.podCIDRs).length) o.spec.podCIDRs = [o.spec.podCIDR];
    o.status = asObj(o.status) ?? {};
    const cap = asObj(o.status.capacity);
    if (cap && !asObj(o.status.allocatable)) o.status.allocatable = { ...cap };
    o.status.daemonEndpoints ??= { kubeletEndpoint: { Port: 0 } };
    o.status.nodeInfo ??= {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: '',
      osImage: '',
      containerRuntimeVersion: '',
      kubeletVersion: '',
      kubeProxyVersion: '',
      operatingSystem: '',
      architecture: '',
    };
  },
  validate: (o: KubeObject) => validate(o as Obj),
  validateUpdate(o: KubeObject, old: KubeObject) {
    const s = asObj((o as Obj).spec) ?? {},
      p = asObj((old as Obj).spec) ?? {};
    const errs: FieldError[] = [];
    if (p.podCIDR && s.podCIDR !== p.podCIDR)
      errs.push({
        type: 'FieldValueForbidden',
        field: 'spec.podCIDRs',
        message: 'Forbidden: node updates may not change podCIDR except from "" to valid',
      });
    if (p.providerID && s.providerID !== p.providerID)
      errs.push({
        type: 'FieldValueForbidden',
        field: 'spec.providerID',
        message: 'Forbidden: node updates may not change providerID except from "" to valid',
      });
    return errs;
  },
  columns: [
    nameColumn,
    col('Status', 'string', 'The status of the node.'),
    col('Roles', 'string', 'The roles of the node.'),
    ageColumn,
    col('Version', 'string', 'Node agent version reported by the node.'),
    col('Internal-IP', 'string', "The node's internal IP address.", 1),
    col('External-IP', 'string', "The node's external IP address.", 1),
    col('OS-Image', 'string', 'OS image reported by the node.', 1),
    col('Kernel-Version', 'string', 'Kernel version reported by the node.', 1),
    col('Container-Runtime', 'string', 'Container runtime and version reported by the node.', 1),
  ],
  row(obj, now) {
    const o = obj as Obj,
      st = asObj(o.status) ?? {},
      info = asObj(st.nodeInfo) ?? {};
    const addr = (t: string) => asArr(st.addresses).find((a) => a?.type === t)?.address || '<none>';
    return [
      obj.metadata.name,
      nodeStatus(o),
      nodeRoles(obj.metadata.labels),
      age(obj.metadata.creationTimestamp, now),
      info.kubeletVersion ?? '',
      addr('InternalIP'),
      addr('ExternalIP'),
      info.osImage || '<unknown>',
      info.kernelVersion || '<unknown>',
      info.containerRuntimeVersion || '<unknown>',
    ];
  },
  fieldSelectors: { 'spec.unschedulable': (o) => String((o as Obj).spec?.unschedulable === true) },
});
