// The resources the controllers watch and write, as the REST client names them.
import type { ResourceRef } from '../../client/index.js';

const core = (resource: string, kind: string, namespaced = true): ResourceRef => ({
  group: '',
  version: 'v1',
  resource,
  kind,
  namespaced,
});
const g = (group: string, version: string, resource: string, kind: string, namespaced = true): ResourceRef => ({
  group,
  version,
  resource,
  kind,
  namespaced,
});

export const R = {
  pods: core('pods', 'Pod'),
  nodes: core('nodes', 'Node', false),
  namespaces: core('namespaces', 'Namespace', false),
  services: core('services', 'Service'),
  endpoints: core('endpoints', 'Endpoints'),
  configmaps: core('configmaps', 'ConfigMap'),
  serviceaccounts: core('serviceaccounts', 'ServiceAccount'),
  events: core('events', 'Event'),
  pvcs: core('persistentvolumeclaims', 'PersistentVolumeClaim'),
  pvs: core('persistentvolumes', 'PersistentVolume', false),
  resourcequotas: core('resourcequotas', 'ResourceQuota'),
  replicasets: g('apps', 'v1', 'replicasets', 'ReplicaSet'),
  deployments: g('apps', 'v1', 'deployments', 'Deployment'),
  daemonsets: g('apps', 'v1', 'daemonsets', 'DaemonSet'),
  statefulsets: g('apps', 'v1', 'statefulsets', 'StatefulSet'),
  controllerrevisions: g('apps', 'v1', 'controllerrevisions', 'ControllerRevision'),
  jobs: g('batch', 'v1', 'jobs', 'Job'),
  cronjobs: g('batch', 'v1', 'cronjobs', 'CronJob'),
  endpointslices: g('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  leases: g('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  pdbs: g('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget'),
  hpas: g('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler'),
  storageclasses: g('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false),
} satisfies Record<string, ResourceRef>;

export const apiVersionOf = (r: ResourceRef) => (r.group ? `${r.group}/${r.version}` : r.version);
