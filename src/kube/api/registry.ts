// The list of kinds Skiff serves and lookups over it.
import type { ResourceDefinition } from './types.js';
import { namespace } from './resources/core/namespace.js';
import { configMap } from './resources/core/configmap.js';
import { secret } from './resources/core/secret.js';
import { pod } from './resources/core/pod.js';
import { service } from './resources/core/service.js';
import { endpoints } from './resources/core/endpoints.js';
import { serviceAccount } from './resources/core/serviceaccount.js';
import { node } from './resources/core/node.js';
import { event } from './resources/core/event.js';
import { persistentVolume } from './resources/core/persistentvolume.js';
import { persistentVolumeClaim } from './resources/core/persistentvolumeclaim.js';
import { limitRange, resourceQuota } from './resources/core/quota.js';
import { replicationController } from './resources/core/replicationcontroller.js';
import { deployment } from './resources/apps/deployment.js';
import { replicaSet } from './resources/apps/replicaset.js';
import { daemonSet } from './resources/apps/daemonset.js';
import { statefulSet } from './resources/apps/statefulset.js';
import { controllerRevision } from './resources/apps/controllerrevision.js';
import { job } from './resources/batch/job.js';
import { cronJob } from './resources/batch/cronjob.js';
import { horizontalPodAutoscaler } from './resources/autoscaling/hpa.js';
import { horizontalPodAutoscalerV1 } from './resources/autoscaling/hpa-v1.js';
import { endpointSlice } from './resources/discovery/endpointslice.js';
import { lease } from './resources/coordination/lease.js';
import { eventsV1Event } from './resources/events/event.js';
import { clusterRole, clusterRoleBinding, role, roleBinding } from './resources/rbac/rbac.js';
import { customResourceDefinition } from './resources/apiextensions/crd.js';
import {
  localSubjectAccessReview,
  selfSubjectAccessReview,
  selfSubjectRulesReview,
  subjectAccessReview,
} from './resources/authorization/reviews.js';
import { selfSubjectReview, tokenReview } from './resources/authentication/reviews.js';
import { podDisruptionBudget } from './resources/policy/pdb.js';
import { ingress, ingressClass, networkPolicy } from './resources/networking/networking.js';
import { storageClass } from './resources/storage/storageclass.js';
import { csiDriver, csiNode, csiStorageCapacity, volumeAttachment } from './resources/storage/csi.js';
import { priorityClass } from './resources/scheduling/priorityclass.js';
import { certificateSigningRequest } from './resources/certificates/csr.js';

const ALL: ResourceDefinition[] = [
  namespace,
  pod,
  service,
  endpoints,
  configMap,
  secret,
  serviceAccount,
  node,
  event,
  persistentVolume,
  persistentVolumeClaim,
  limitRange,
  resourceQuota,
  replicationController,
  deployment,
  replicaSet,
  daemonSet,
  statefulSet,
  controllerRevision,
  job,
  cronJob,
  horizontalPodAutoscaler,
  horizontalPodAutoscalerV1,
  endpointSlice,
  lease,
  eventsV1Event,
  role,
  clusterRole,
  roleBinding,
  clusterRoleBinding,
  customResourceDefinition,
  selfSubjectAccessReview,
  subjectAccessReview,
  localSubjectAccessReview,
  selfSubjectRulesReview,
  tokenReview,
  selfSubjectReview,
  // Beyond the list, for everyday manifests (Helm charts carry these).
  podDisruptionBudget,
  ingress,
  ingressClass,
  networkPolicy,
  storageClass,
  priorityClass,
  // Watched by schedulers (kube-scheduler waits for these informers).
  csiDriver,
  csiNode,
  volumeAttachment,
  csiStorageCapacity,
  certificateSigningRequest,
];

/** Kinds that are answered from the request and never stored (verbs: create only). */
export function isVirtual(def: ResourceDefinition): boolean {
  return def.verbs.length === 1 && def.verbs[0] === 'create';
}

/** Every kind Skiff serves, in discovery order. */
export function allResources(): ResourceDefinition[] {
  return ALL;
}

/** Finds a kind by group, version and plural, singular, kind or short name (case-insensitive
 *  for kind/singular/short names, as kubectl resolves them). */
export function findResource(group: string, version: string, pluralOrKind: string): ResourceDefinition | undefined {
  const n = pluralOrKind.toLowerCase();
  return ALL.find(
    (r) =>
      r.group === group &&
      r.version === version &&
      (r.plural === pluralOrKind ||
        r.kind === pluralOrKind ||
        r.singular === n ||
        r.kind.toLowerCase() === n ||
        (r.shortNames ?? []).includes(n)),
  );
}
