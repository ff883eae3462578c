import type { KubeObject } from '../../types.js';
import { kindSchema, ref } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { asObj, type Obj } from '../../validation/fields.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';
import './podspec-schema.js';
import './storage-schema.js';
import { defaultPod } from './pod-defaults.js';
import { podRow } from './pod-printer.js';
import { validatePodSpec, validatePodSpecUpdate } from './pod-validation.js';

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'Pod' },
  'Pod is a collection of containers that can run on a host. Clients create it; the scheduler binds it to a node; the node agent runs it.',
  {
    spec: ref(CORE('PodSpec'), 'Specification of the desired behavior of the pod.'),
    status: ref(CORE('PodStatus'), 'Most recently observed status of the pod, populated by the system. Read-only.'),
  },
);

export const pod = resource({
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  subresources: {
    status: true,
    extra: [
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
      { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'proxy', kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    ],
  },
  schema,
  defaults: (obj: KubeObject) => defaultPod(obj as Obj),
  validate: (obj: KubeObject) => validatePodSpec((obj as Obj).spec, 'spec'),
  validateUpdate: (obj: KubeObject, old: KubeObject) => [
    ...validatePodSpec((obj as Obj).spec, 'spec'),
    ...validatePodSpecUpdate(asObj((obj as Obj).spec) ?? {}, asObj((old as Obj).spec) ?? {}),
  ],
  columns: [
    nameColumn,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 'The aggregate status of the containers in this pod.'),
    col(
      'Restarts',
      'string',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    ageColumn,
    col('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster.', 1),
    col('Node', 'string', 'The node the pod is bound to.', 1),
    col('Nominated Node', 'string', 'The node the pod is expected to run on after preemption.', 1),
    col('Readiness Gates', 'string', 'Pod readiness gates, as the number that are true over the total.', 1),
  ],
  row: (obj, now) => podRow(obj as Obj, now),
  fieldSelectors: {
    'spec.nodeName': (o) => (o as Obj).spec?.nodeName ?? '',
    'spec.restartPolicy': (o) => (o as Obj).spec?.restartPolicy ?? '',
    'spec.schedulerName': (o) => (o as Obj).spec?.schedulerName ?? '',
    'spec.serviceAccountName': (o) => (o as Obj).spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (o) => String((o as Obj).spec?.hostNetwork === true),
    'status.phase': (o) => (o as Obj).status?.phase ?? '',
    'status.podIP': (o) => (o as Obj).status?.podIP ?? '',
    'status.nominatedNodeName': (o) => (o as Obj).status?.nominatedNodeName ?? '',
  },
});
