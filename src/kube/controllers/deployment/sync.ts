// One deployment sync's writes and status (upstream's sync.go and progress.go): finding or
// creating the new ReplicaSet and keeping revisions, scaling ReplicaSets (proportionally when a
// rollout is in flight), cleaning up old ones past revisionHistoryLimit, and computing status
// with the Available and Progressing conditions (progressDeadlineSeconds).
import { resourcePath, type KubeClient } from '../../client/index.js';
import { errorText, isAlreadyExists, isNotFound, ownerRefFor } from '../shared/control.js';
import type { EventSink } from '../shared/events.js';
import { getCondition, omitEmpty, rfc3339, templateHash } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Condition, ReplicaSet } from '../shared/types.js';
import {
  activeSets,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  deploymentComplete,
  findActiveOrLatest,
  findNewReplicaSet,
  HASH_LABEL,
  hasProgressDeadline,
  hasRevisionHistoryLimit,
  isRollingUpdate,
  isSaturated,
  maxRevision,
  maxSurge,
  maxUnavailable,
  minReadySecondsOf,
  newCondition,
  proportion,
  REVISION,
  removeDeploymentCondition,
  replicasAnnotationsNeedUpdate,
  replicasOf,
  rsReplicas,
  setDeploymentCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  sumActual,
  sumAvailable,
  sumReady,
  sumSpec,
  type Deployment,
  type DeploymentStatus,
} from './util.js';

/** DeploymentStatus fields that are `omitempty` upstream. */
const DEPLOYMENT_OMITEMPTY = [
  'observedGeneration',
  'replicas',
  'updatedReplicas',
  'readyReplicas',
  'availableReplicas',
  'unavailableReplicas',
];

export interface SyncDeps {
  client: KubeClient;
  events: EventSink;
  now(): number;
  requeueAfter(ms: number): void;
}

export class DeploymentSync {
  constructor(
    readonly deps: SyncDeps,
    /** A private copy of the cached Deployment (this sync may change it). */
    public d: Deployment,
    /** The ReplicaSets it controls (claimed). */
    readonly sets: ReplicaSet[],
  ) {}

  private get nowStr(): string {
    return rfc3339(this.deps.now());
  }

  async writeStatus(): Promise<void> {
    const d = this.d;
    const out = await this.deps.client.request<Deployment>(
      'PUT',
      resourcePath(R.deployments, d.metadata.namespace, d.metadata.name, 'status'),
      { body: d.status ? { ...d, status: omitEmpty(d.status, DEPLOYMENT_OMITEMPTY) } : d },
    );
    this.d = structuredClone(out);
  }

  /** [newRS or undefined, old sets], creating the new set when asked (upstream's getAllReplicaSetsAndSyncRevision). */
  async allSets(create: boolean): Promise<[ReplicaSet | undefined, ReplicaSet[]]> {
    const existing = findNewReplicaSet(this.d, this.sets);
    const old = this.sets.filter((rs) => rs !== existing);
    return [await this.newReplicaSet(existing, old, create), old];
  }

  private async newReplicaSet(
    existing: ReplicaSet | undefined,
    old: ReplicaSet[],
    create: boolean,
  ): Promise<ReplicaSet | undefined> {
    const d = this.d;
    const newRevision = maxRevision(old) + 1;
    if (existing) {
      const copy = structuredClone(existing);
      const annotated = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const mrs = minReadySecondsOf(d);
      if (annotated || (copy.spec?.minReadySeconds ?? 0) !== mrs) {
        copy.spec = omitEmpty({ ...(copy.spec ?? {}), minReadySeconds: mrs }, ['minReadySeconds']);
        return this.updateSet(copy);
      }
      let needsUpdate = this.setRevision(copy.metadata.annotations?.[REVISION] ?? '');
      if (hasProgressDeadline(d) && !getCondition(d.status?.conditions, 'Progressing')) {
        const st = (d.status ??= {});
        setDeploymentCondition(
          st,
          newCondition(
            'Progressing',
            'True',
            'FoundNewReplicaSet',
            `Found new replica set "${copy.metadata.name}"`,
            this.nowStr,
          ),
        );
        needsUpdate = true;
      }
      if (needsUpdate) await this.writeStatus();
      return copy;
    }
    if (!create) return undefined;
    const template = structuredClone(d.spec?.template ?? {});
    const hash = templateHash(template, d.status?.collisionCount);
    template.metadata = { ...(template.metadata ?? {}) };
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [HASH_LABEL]: hash };
    const selector = structuredClone(d.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: template.metadata.labels,
        ownerReferences: [ownerRefFor(d, 'apps/v1', 'Deployment')],
      },
      spec: omitEmpty({ replicas: 0, minReadySeconds: minReadySecondsOf(d), selector, template }, ['minReadySeconds']),
    };
    const count = this.newRSReplicas([...old, rs], rs);
    rs.spec!.replicas = count;
    setNewReplicaSetAnnotations(d, rs, newRevision, false);
    let created: ReplicaSet;
    let already = false;
    try {
      created = await this.deps.client.request<ReplicaSet>('POST', resourcePath(R.replicasets, d.metadata.namespace), {
        body: rs,
      });
    } catch (e) {
      if (isAlreadyExists(e)) {
        const live = await this.deps.client
          .request<ReplicaSet>('GET', resourcePath(R.replicasets, d.metadata.namespace, rs.metadata.name))
          // unreadable: treated like a collision below (bump collisionCount, rethrow the error)
          .catch(() => undefined);
        const ref = live?.metadata.ownerReferences?.find((r) => r.controller);
        if (!live || ref?.uid !== d.metadata.uid || !this.equalTemplate(live)) {
          // A hash collision: another object holds the name. Bump collisionCount; the next sync picks a new name.
          const st = (d.status ??= {});
          st.collisionCount = (st.collisionCount ?? 0) + 1;
          await this.writeStatus();
          throw e;
        }
        created = live;
        already = true;
      } else {
        const msg = `Failed to create new replica set "${rs.metadata.name}": ${errorText(e)}`;
        if (hasProgressDeadline(d)) {
          setDeploymentCondition(
            (d.status ??= {}),
            newCondition('Progressing', 'False', 'ReplicaSetCreateError', msg, this.nowStr),
          );
          // the create error is rethrown below (and retried); the condition is written at the retry
          await this.writeStatus().catch(() => undefined);
        }
        this.deps.events.event(d, 'Warning', 'ReplicaSetCreateError', msg);
        throw e;
      }
    }
    if (!already && count > 0)
      this.deps.events.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${created.metadata.name} from 0 to ${count}`,
      );
    let needsUpdate = this.setRevision(String(newRevision));
    if (!already && hasProgressDeadline(d)) {
      setDeploymentCondition(
        (d.status ??= {}),
        newCondition(
          'Progressing',
          'True',
          'NewReplicaSetCreated',
          `Created new replica set "${created.metadata.name}"`,
          this.nowStr,
        ),
      );
      needsUpdate = true;
    }
    if (needsUpdate) await this.writeStatus();
    return created;
  }

  private equalTemplate(rs: ReplicaSet): boolean {
    return findNewReplicaSet(this.d, [rs]) === rs;
  }

  private setRevision(rev: string): boolean {
    const a = (this.d.metadata.annotations ??= {});
    if (a[REVISION] === rev) return false;
    a[REVISION] = rev;
    return true;
  }

  /** Upstream's NewRSNewReplicas: how big the new set may be now. */
  newRSReplicas(all: (ReplicaSet | undefined)[], newRS: ReplicaSet): number {
    const d = this.d;
    if (!isRollingUpdate(d)) return replicasOf(d);
    const current = sumSpec(all);
    const maxTotal = replicasOf(d) + maxSurge(d);
    if (current >= maxTotal) return rsReplicas(newRS);
    const up = Math.min(maxTotal - current, replicasOf(d) - rsReplicas(newRS));
    return rsReplicas(newRS) + Math.max(0, up);
  }

  private async updateSet(rs: ReplicaSet): Promise<ReplicaSet> {
    return this.deps.client.request<ReplicaSet>(
      'PUT',
      resourcePath(R.replicasets, rs.metadata.namespace, rs.metadata.name),
      { body: rs },
    );
  }

  /** Scales one set (and stamps the replica annotations); true when the size changed. */
  async scaleSet(rs: ReplicaSet, size: number, op?: 'up' | 'down'): Promise<[boolean, ReplicaSet]> {
    const d = this.d;
    const old = rsReplicas(rs);
    const desired = replicasOf(d),
      max = desired + maxSurge(d);
    const resize = old !== size;
    if (!resize && !replicasAnnotationsNeedUpdate(rs, desired, max)) return [false, rs];
    const copy = structuredClone(rs);
    copy.spec = { ...(copy.spec ?? {}), replicas: size };
    setReplicasAnnotations(copy, desired, max);
    const out = await this.updateSet(copy);
    if (resize)
      this.deps.events.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${op ?? (old < size ? 'up' : 'down')} replica set ${rs.metadata.name} from ${old} to ${size}`,
      );
    return [resize, out];
  }

  /** Scaling while no rollout moves (a replicas change, or paused): upstream's scale(). */
  async scale(newRS: ReplicaSet | undefined, old: ReplicaSet[]): Promise<void> {
    const d = this.d;
    const want = replicasOf(d);
    const only = findActiveOrLatest(newRS, old);
    if (only) {
      if (rsReplicas(only) !== want) await this.scaleSet(only, want);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const o of activeSets(old)) await this.scaleSet(o, 0);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const all = activeSets([...old, newRS]);
    const allowed = want > 0 ? want + maxSurge(d) : 0;
    const toAdd = allowed - sumSpec(all);
    let op: 'up' | 'down' | undefined;
    if (toAdd > 0) {
      all.sort(bySizeNewer);
      op = 'up';
    } else if (toAdd < 0) {
      all.sort(bySizeOlder);
      op = 'down';
    }
    let added = 0;
    const sizes = new Map<ReplicaSet, number>();
    for (const rs of all) {
      if (toAdd !== 0) {
        const p = proportion(rs, d, toAdd, added);
        sizes.set(rs, rsReplicas(rs) + p);
        added += p;
      } else sizes.set(rs, rsReplicas(rs));
    }
    for (let i = 0; i < all.length; i++) {
      const rs = all[i];
      let size = sizes.get(rs)!;
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
      await this.scaleSet(rs, size, op);
    }
  }

  /** Deletes the oldest scaled-down sets beyond revisionHistoryLimit. */
  async cleanup(old: ReplicaSet[]): Promise<void> {
    const d = this.d;
    if (!hasRevisionHistoryLimit(d)) return;
    const cleanable = old.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
    const diff = cleanable.length - (d.spec?.revisionHistoryLimit ?? 10);
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i];
      if (
        (rs.status?.replicas ?? 0) !== 0 ||
        rsReplicas(rs) !== 0 ||
        (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)
      )
        continue;
      try {
        await this.deps.client.request('DELETE', resourcePath(R.replicasets, rs.metadata.namespace, rs.metadata.name), {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: rs.metadata.uid } },
        });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  calculateStatus(all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): DeploymentStatus {
    const d = this.d;
    const available = sumAvailable(all);
    const want = replicasOf(d);
    const st: DeploymentStatus = {
      observedGeneration: d.metadata.generation,
      replicas: sumActual(all),
      updatedReplicas: sumActual([newRS]),
      readyReplicas: sumReady(all),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, want - available),
      conditions: [...(d.status?.conditions ?? [])],
    };
    if (d.status?.collisionCount !== undefined) st.collisionCount = d.status.collisionCount;
    if (available >= want - maxUnavailable(d))
      setDeploymentCondition(
        st,
        newCondition(
          'Available',
          'True',
          'MinimumReplicasAvailable',
          'Deployment has minimum availability.',
          this.nowStr,
        ),
      );
    else
      setDeploymentCondition(
        st,
        newCondition(
          'Available',
          'False',
          'MinimumReplicasUnavailable',
          'Deployment does not have minimum availability.',
          this.nowStr,
        ),
      );
    return st;
  }

  /** Status without progress estimation (scaling, paused, deleting). */
  async syncStatus(all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
    const st = this.calculateStatus(all, newRS);
    if (sameStatus(this.d.status, st)) return;
    this.d.status = st;
    await this.writeStatus();
  }

  /** Status with the Progressing condition during a rollout (upstream's syncRolloutStatus). */
  async syncRolloutStatus(all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Promise<void> {
    const d = this.d;
    const st = this.calculateStatus(all, newRS);
    const now = this.nowStr;
    if (!hasProgressDeadline(d)) removeDeploymentCondition(st, 'Progressing');
    const cur = getCondition(d.status?.conditions, 'Progressing');
    const complete = (st.replicas ?? 0) === (st.updatedReplicas ?? 0) && cur?.reason === 'NewReplicaSetAvailable';
    const rsName = newRS?.metadata.name;
    if (hasProgressDeadline(d) && !complete) {
      if (deploymentComplete(d, st)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" has successfully progressed.`
          : `Deployment "${d.metadata.name}" has successfully progressed.`;
        setDeploymentCondition(st, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', msg, now));
      } else if (progressing(d, st)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" is progressing.`
          : `Deployment "${d.metadata.name}" is progressing.`;
        const c = newCondition('Progressing', 'True', 'ReplicaSetUpdated', msg, now);
        if (cur) {
          if (cur.status === 'True' && cur.lastTransitionTime) c.lastTransitionTime = cur.lastTransitionTime;
          removeDeploymentCondition(st, 'Progressing');
        }
        setDeploymentCondition(st, c);
      } else if (this.timedOut(st)) {
        const msg = rsName
          ? `ReplicaSet "${rsName}" has timed out progressing.`
          : `Deployment "${d.metadata.name}" has timed out progressing.`;
        setDeploymentCondition(st, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', msg, now));
      }
    }
    const failures = replicaFailures(all, newRS);
    if (failures) setDeploymentCondition(st, failures);
    else removeDeploymentCondition(st, 'ReplicaFailure');
    if (sameStatus(d.status, st)) {
      this.requeueStuck(st);
      return;
    }
    d.status = st;
    await this.writeStatus();
  }

  private timedOut(st: DeploymentStatus): boolean {
    const d = this.d;
    if (!hasProgressDeadline(d)) return false;
    const c = getCondition(st.conditions, 'Progressing');
    if (!c || c.reason === 'NewReplicaSetAvailable') return false;
    if (c.reason === 'ProgressDeadlineExceeded') return true;
    const from = Date.parse(c.lastUpdateTime ?? '');
    return Number.isFinite(from) && from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000 < this.deps.now();
  }

  /** A rollout with no progress is re-checked when its deadline would pass. */
  private requeueStuck(st: DeploymentStatus): void {
    const d = this.d;
    const c = getCondition(d.status?.conditions, 'Progressing');
    if (!hasProgressDeadline(d) || !c) return;
    if (deploymentComplete(d, st) || c.reason === 'ProgressDeadlineExceeded') return;
    const from = Date.parse(c.lastUpdateTime ?? '');
    if (!Number.isFinite(from)) return;
    const after = from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000 - this.deps.now();
    this.deps.requeueAfter(Math.max(after, 1000));
  }
}

function progressing(d: Deployment, st: DeploymentStatus): boolean {
  const o = d.status ?? {};
  const oldOld = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newOld = (st.replicas ?? 0) - (st.updatedReplicas ?? 0);
  return (
    (st.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (st.readyReplicas ?? 0) > (o.readyReplicas ?? 0) ||
    (st.availableReplicas ?? 0) > (o.availableReplicas ?? 0)
  );
}

function replicaFailures(all: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Condition | undefined {
  const toDeployment = (c: Condition): Condition => ({
    type: c.type,
    status: c.status,
    lastTransitionTime: c.lastTransitionTime,
    lastUpdateTime: c.lastTransitionTime,
    reason: c.reason,
    message: c.message,
  });
  for (const rs of [newRS, ...all]) {
    const c = getCondition(rs?.status?.conditions, 'ReplicaFailure');
    if (c) return toDeployment(c);
  }
  return undefined;
}

function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  const norm = (s: DeploymentStatus | undefined) => ({
    observedGeneration: s?.observedGeneration,
    replicas: s?.replicas ?? 0,
    updatedReplicas: s?.updatedReplicas ?? 0,
    readyReplicas: s?.readyReplicas ?? 0,
    availableReplicas: s?.availableReplicas ?? 0,
    unavailableReplicas: s?.unavailableReplicas ?? 0,
    collisionCount: s?.collisionCount,
    conditions: [...(s?.conditions ?? [])].sort((x, y) => (x.type < y.type ? -1 : 1)),
  });
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}
