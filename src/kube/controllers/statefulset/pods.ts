// StatefulSet pod identity (upstream's stateful_set_utils.go): ordinal names <set>-<n>, the
// pod-name / pod-index / revision labels, hostname and subdomain, one PersistentVolumeClaim per
// volumeClaimTemplate named <template>-<set>-<n> mounted as the template's volume, and the owner
// references the PVC retention policy puts on those claims.
import { ownerRefFor } from '../shared/control.js';
import { REVISION_HASH_LABEL } from '../shared/history.js';
import type { KubeObject, LabelSelector, OwnerReference, Pod, PodTemplateSpec, Workload } from '../shared/types.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export interface StatefulSetSpec {
  replicas?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
  serviceName?: string;
  podManagementPolicy?: string;
  updateStrategy?: { type?: string; rollingUpdate?: { partition?: number; maxUnavailable?: number | string } };
  revisionHistoryLimit?: number;
  minReadySeconds?: number;
  ordinals?: { start?: number };
  volumeClaimTemplates?: PersistentVolumeClaim[];
  persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string };
}
export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
}
export type StatefulSet = Workload<StatefulSetSpec, StatefulSetStatus>;
export interface PersistentVolumeClaim extends KubeObject {
  spec?: Record<string, unknown>;
  status?: { phase?: string };
}

/** The ordinal of `<set>-<n>`, or -1 for a name that is not one of the set's. */
export function ordinalOf(set: StatefulSet, pod: { metadata: { name?: string } }): number {
  const prefix = `${set.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return -1;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : -1;
}

export const podName = (set: StatefulSet, ord: number) => `${set.metadata.name}-${ord}`;
export const claimName = (set: StatefulSet, template: string, ord: number) => `${template}-${set.metadata.name}-${ord}`;

/** The pod for `ordinal` from `template` (its revision's template). */
export function newPod(set: StatefulSet, template: PodTemplateSpec | undefined, revision: string, ord: number): Pod {
  const t = structuredClone(template ?? {});
  const name = podName(set, ord);
  const spec = t.spec ?? { containers: [] };
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  const volumes = (spec.volumes ?? []).filter(
    (v) => !(set.spec?.volumeClaimTemplates ?? []).some((c) => c.metadata.name === v?.name),
  );
  for (const c of set.spec?.volumeClaimTemplates ?? []) {
    const cn = c.metadata.name ?? '';
    volumes.push({ name: cn, persistentVolumeClaim: { claimName: claimName(set, cn, ord) } });
  }
  if (volumes.length) spec.volumes = volumes;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      // Upstream's GetPodFromTemplate leaves the controller's prefix as generateName.
      generateName: `${set.metadata.name}-`,
      namespace: set.metadata.namespace,
      labels: {
        ...(t.metadata?.labels ?? {}),
        [POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ord),
        [REVISION_HASH_LABEL]: revision,
      },
      annotations: t.metadata?.annotations,
      finalizers: t.metadata?.finalizers,
      ownerReferences: [ownerRefFor(set, 'apps/v1', 'StatefulSet')],
    },
    spec,
  };
}

/** Owner references a claim should have under the retention policy (set or condemned pod). */
export function claimOwners(
  set: StatefulSet,
  claim: PersistentVolumeClaim,
  ord: number,
  pod: Pod | undefined,
): OwnerReference[] {
  const policy = set.spec?.persistentVolumeClaimRetentionPolicy ?? {};
  const replicas = set.spec?.replicas ?? 1;
  const start = set.spec?.ordinals?.start ?? 0;
  const others = (claim.metadata.ownerReferences ?? []).filter(
    (r) => r.uid !== set.metadata.uid && !(r.kind === 'Pod' && r.name === podName(set, ord)),
  );
  const out = [...others];
  const condemned = ord < start || ord >= start + replicas;
  // A claim of a pod scaled away belongs to that pod (whenScaled: Delete), else to the set
  // (whenDeleted: Delete), as upstream's updateClaimOwnerRefForSetAndPod.
  if (policy.whenScaled === 'Delete' && condemned) {
    if (pod?.metadata.uid)
      out.push({
        apiVersion: 'v1',
        kind: 'Pod',
        name: pod.metadata.name ?? '',
        uid: pod.metadata.uid,
        controller: false,
        blockOwnerDeletion: true,
      });
  } else if (policy.whenDeleted === 'Delete')
    out.push({ ...ownerRefFor(set, 'apps/v1', 'StatefulSet'), controller: false, blockOwnerDeletion: true });
  return out;
}

/** A claim for `ord` from its template (labels: the set's matchLabels, as upstream). */
export function newClaim(
  set: StatefulSet,
  template: PersistentVolumeClaim,
  ord: number,
  pod?: Pod,
): PersistentVolumeClaim {
  const name = claimName(set, template.metadata.name ?? '', ord);
  const c: PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: { ...(template.metadata.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) },
      annotations: template.metadata.annotations,
    },
    spec: structuredClone(template.spec ?? {}),
  };
  const owners = claimOwners(set, c, ord, pod);
  if (owners.length) c.metadata.ownerReferences = owners;
  return c;
}
