// Deployment helpers, as upstream's pkg/controller/deployment/util: revisions and the annotations
// the controller keeps on ReplicaSets, template equality ignoring pod-template-hash, the rolling
// update fenceposts (maxSurge / maxUnavailable), replica sums and orderings, and conditions.
import { canonicalJSON, getCondition, scaledValue } from '../shared/pods.js';
import type { Condition, LabelSelector, PodTemplateSpec, ReplicaSet, Workload } from '../shared/types.js';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const HASH_LABEL = 'pod-template-hash';
const ROLLBACK_TO = 'deprecated.deployment.rollback.to';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const MAX_INT32 = 2147483647;
export const MAX_REV_HISTORY_CHARS = 2000;

export interface DeploymentSpec {
  replicas?: number;
  selector?: LabelSelector;
  template?: PodTemplateSpec;
  strategy?: { type?: string; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  progressDeadlineSeconds?: number;
}
export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: Condition[];
  collisionCount?: number;
}
export type Deployment = Workload<DeploymentSpec, DeploymentStatus>;

const int = (v: unknown, dflt: number) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : dflt);

export const replicasOf = (d: Deployment) => int(d.spec?.replicas, 1);
export const rsReplicas = (rs: ReplicaSet | undefined) => (rs ? int(rs.spec?.replicas, 1) : 0);
export const minReadySecondsOf = (d: Deployment) => int(d.spec?.minReadySeconds, 0);
export const isRollingUpdate = (d: Deployment) => (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
export const hasProgressDeadline = (d: Deployment) =>
  typeof d.spec?.progressDeadlineSeconds === 'number' && d.spec.progressDeadlineSeconds !== MAX_INT32;
export const hasRevisionHistoryLimit = (d: Deployment) =>
  typeof d.spec?.revisionHistoryLimit === 'number' && d.spec.revisionHistoryLimit !== MAX_INT32;

/** [maxSurge, maxUnavailable] for the desired count; both 0 would deadlock, so unavailable becomes 1. */
export function fenceposts(d: Deployment): [number, number] {
  const desired = replicasOf(d);
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const surge = scaledValue(ru.maxSurge ?? '25%', desired, true);
  const unavail = scaledValue(ru.maxUnavailable ?? '25%', desired, false);
  const s = Number.isFinite(surge) && surge >= 0 ? surge : 0;
  let u = Number.isFinite(unavail) && unavail >= 0 ? unavail : 0;
  if (s === 0 && u === 0) u = 1;
  return [s, u];
}
export const maxSurge = (d: Deployment) => (isRollingUpdate(d) ? fenceposts(d)[0] : 0);
export function maxUnavailable(d: Deployment): number {
  if (!isRollingUpdate(d) || replicasOf(d) === 0) return 0;
  return Math.min(fenceposts(d)[1], replicasOf(d));
}

export function revisionOf(rs: { metadata: { annotations?: Record<string, string> } }): number {
  const v = rs.metadata.annotations?.[REVISION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
export const maxRevision = (sets: ReplicaSet[]) => sets.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);

/** The template without the pod-template-hash label, as JSON with sorted keys. */
function templateKey(t: PodTemplateSpec | undefined): string {
  const c = structuredClone(t ?? {});
  if (c.metadata?.labels) {
    delete c.metadata.labels[HASH_LABEL];
    if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
  }
  if (c.metadata && Object.keys(c.metadata).length === 0) delete c.metadata;
  return canonicalJSON(c);
}
export const equalIgnoreHash = (a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined) =>
  templateKey(a) === templateKey(b);

const created = (rs: ReplicaSet) => Date.parse(rs.metadata.creationTimestamp ?? '') || 0;
const byName = (a: ReplicaSet, b: ReplicaSet) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1);
export const byCreation = (a: ReplicaSet, b: ReplicaSet) => created(a) - created(b) || byName(a, b);
/** Larger first; among equals newer first (scaling up). */
export const bySizeNewer = (a: ReplicaSet, b: ReplicaSet) =>
  rsReplicas(b) - rsReplicas(a) || created(b) - created(a) || byName(b, a);
/** Larger first; among equals older first (scaling down). */
export const bySizeOlder = (a: ReplicaSet, b: ReplicaSet) =>
  rsReplicas(b) - rsReplicas(a) || created(a) - created(b) || byName(a, b);
export const byRevision = (a: ReplicaSet, b: ReplicaSet) => revisionOf(a) - revisionOf(b) || byCreation(a, b);

/** The newest-created ReplicaSet whose template is the deployment's (oldest wins ties, as upstream). */
export function findNewReplicaSet(d: Deployment, sets: ReplicaSet[]): ReplicaSet | undefined {
  return [...sets].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

export const activeSets = (sets: (ReplicaSet | undefined)[]) =>
  sets.filter((rs): rs is ReplicaSet => Boolean(rs) && rsReplicas(rs) > 0);
export const sumSpec = (sets: (ReplicaSet | undefined)[]) => sets.reduce((n, rs) => n + rsReplicas(rs), 0);
const statusNum = (rs: ReplicaSet | undefined, k: 'replicas' | 'readyReplicas' | 'availableReplicas') =>
  int(rs?.status?.[k], 0);
export const sumActual = (sets: (ReplicaSet | undefined)[]) => sets.reduce((n, rs) => n + statusNum(rs, 'replicas'), 0);
export const sumReady = (sets: (ReplicaSet | undefined)[]) =>
  sets.reduce((n, rs) => n + statusNum(rs, 'readyReplicas'), 0);
export const sumAvailable = (sets: (ReplicaSet | undefined)[]) =>
  sets.reduce((n, rs) => n + statusNum(rs, 'availableReplicas'), 0);

/** With one active set, that one; with none, the new one or the newest old one; else undefined. */
export function findActiveOrLatest(newRS: ReplicaSet | undefined, old: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && old.length === 0) return undefined;
  const newestFirst = [...old].sort((a, b) => -byCreation(a, b));
  const active = activeSets([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const desired = Number(rs.metadata.annotations?.[DESIRED_REPLICAS]);
  const want = replicasOf(d);
  return rsReplicas(rs) === want && desired === want && statusNum(rs, 'availableReplicas') === want;
}

/** The share of `toAdd` this set gets, from its size against the deployment size it was sized for. */
export function proportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (rsReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const allowed = toAdd - added;
  let fraction: number;
  if (replicasOf(d) === 0) fraction = -rsReplicas(rs);
  else {
    const max = replicasOf(d) + maxSurge(d);
    let before = Number(rs.metadata.annotations?.[MAX_REPLICAS]);
    if (!Number.isInteger(before) || before <= 0) before = int(d.status?.replicas, 0);
    fraction = before > 0 ? Math.round((rsReplicas(rs) * max) / before) - rsReplicas(rs) : 0;
  }
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/** Sets the desired/max replica annotations on `rs` (a copy); true when something changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = (rs.metadata.annotations ??= {});
  let changed = false;
  if (a[DESIRED_REPLICAS] !== String(desired)) {
    a[DESIRED_REPLICAS] = String(desired);
    changed = true;
  }
  if (a[MAX_REPLICAS] !== String(max)) {
    a[MAX_REPLICAS] = String(max);
    changed = true;
  }
  return changed;
}
export const replicasAnnotationsNeedUpdate = (rs: ReplicaSet, desired: number, max: number) =>
  rs.metadata.annotations?.[DESIRED_REPLICAS] !== String(desired) ||
  rs.metadata.annotations?.[MAX_REPLICAS] !== String(max);

const skipCopy = (k: string) =>
  k === LAST_APPLIED ||
  k === REVISION ||
  k === REVISION_HISTORY ||
  k === DESIRED_REPLICAS ||
  k === MAX_REPLICAS ||
  k === ROLLBACK_TO;

/**
 * Upstream's SetNewReplicaSetAnnotations on `rs` (a copy): the deployment's own annotations, the
 * revision (raised to `newRevision` only, keeping the replaced numbers in revision-history when a
 * set comes back by rollback), and for a set about to be created the replica annotations.
 */
export function setNewReplicaSetAnnotations(
  d: Deployment,
  rs: ReplicaSet,
  newRevision: number,
  exists: boolean,
): boolean {
  const a = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (skipCopy(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  const had = REVISION in a;
  const oldRev = a[REVISION] ?? '';
  let old = 0;
  if (oldRev !== '') {
    old = Number(oldRev);
    if (!Number.isInteger(old)) return changed;
  }
  if (old < newRevision) {
    a[REVISION] = String(newRevision);
    changed = true;
    if (had) {
      const hist = a[REVISION_HISTORY] ?? '';
      if (!hist) a[REVISION_HISTORY] = oldRev;
      else {
        let parts = hist.split(',');
        let total = hist.length + oldRev.length + 1;
        while (total > MAX_REV_HISTORY_CHARS && parts.length) {
          total -= parts[0].length + 1;
          parts = parts.slice(1);
        }
        if (total <= MAX_REV_HISTORY_CHARS) a[REVISION_HISTORY] = [...parts, oldRev].join(',');
      }
    }
  }
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
  return changed;
}

export function newCondition(type: string, status: string, reason: string, message: string, now: string): Condition {
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

/** Upstream's SetDeploymentCondition: same status and reason → unchanged; same status keeps lastTransitionTime. */
export function setDeploymentCondition(st: DeploymentStatus, c: Condition): void {
  const cur = getCondition(st.conditions, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  const next = { ...c };
  if (cur && cur.status === c.status) next.lastTransitionTime = cur.lastTransitionTime;
  st.conditions = [...(st.conditions ?? []).filter((x) => x.type !== c.type), next];
}
export function removeDeploymentCondition(st: DeploymentStatus, type: string): void {
  st.conditions = (st.conditions ?? []).filter((x) => x.type !== type);
}

/** All replicas updated, present and available, for the current generation. */
export function deploymentComplete(d: Deployment, st: DeploymentStatus): boolean {
  const want = replicasOf(d);
  return (
    (st.updatedReplicas ?? 0) === want &&
    (st.replicas ?? 0) === want &&
    (st.availableReplicas ?? 0) === want &&
    (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}
