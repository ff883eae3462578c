// ReplicaSet controller (upstream's pkg/controller/replicaset): keeps `spec.replicas` active pods
// matching the selector. Pod events only say which ReplicaSet to look at; sync(key) counts the
// active pods it controls (adopting matching orphans, releasing pods that stopped matching),
// creates or deletes the difference, and writes status (replicas, fullyLabeled, ready,
// available after minReadySeconds, observedGeneration, the ReplicaFailure condition).
// Expectations keep it from acting again before it has seen its own creates and deletes.
import { fromLabelSelector, selectorMatches, type Selector } from '../../api/index.js';
import {
  claimChildren,
  errorText,
  ownerRefFor,
  PodControl,
  podFromTemplate,
  putStatus,
  recheckOwner,
  slowStartBatch,
} from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { UIDTrackingExpectations } from '../shared/expectations.js';
import type { SharedInformer } from '../shared/informers.js';
import {
  controllerRef,
  deletionOrder,
  getCondition,
  isPodActive,
  isPodAvailable,
  isPodReady,
  omitEmpty,
  removeCondition,
  rfc3339,
  setCondition,
  splitKey,
  untilAvailable,
} from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Pod, ReplicaSet, ReplicaSetStatus } from '../shared/types.js';

/** Upstream's BurstReplicas: at most this many creates or deletes per sync. */
const BURST = 500;
/** ReplicaSetStatus fields that are `omitempty` upstream (`replicas` is not). */
const RS_OMITEMPTY = ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'];

export interface ReplicaSetControllerOptions {
  workers?: number;
}

function selectorOf(rs: ReplicaSet): Selector | undefined {
  try {
    return fromLabelSelector(rs.spec?.selector);
  } catch {
    return undefined;
  }
}

export function startReplicaSetController(ctx: ControllerContext, opts: ReplicaSetControllerOptions = {}): Controller {
  const log = ctx.log.child({ controller: 'replicaset' });
  const rsInf: SharedInformer<ReplicaSet> = ctx.informers.for<ReplicaSet>(R.replicasets);
  const podInf: SharedInformer<Pod> = ctx.informers.for<Pod>(R.pods);
  const events = ctx.events.for('replicaset-controller');
  const pods = new PodControl(ctx.client, events);
  const exp = new UIDTrackingExpectations(ctx.now);
  const loop = new Loop({ ...ctx, log }, { name: 'replicaset', workers: opts.workers ?? 4, sync });

  /** The ReplicaSet that controls a pod, if it is one we know (same uid). */
  const ownerOf = (p: Pod): ReplicaSet | undefined => {
    const ref = controllerRef(p);
    if (!ref || ref.kind !== 'ReplicaSet') return undefined;
    const rs = rsInf.get(p.metadata.namespace, ref.name);
    return rs && rs.metadata.uid === ref.uid ? rs : undefined;
  };
  const matchingSets = (p: Pod): ReplicaSet[] =>
    rsInf.list(p.metadata.namespace ?? '').filter((rs) => {
      const sel = selectorOf(rs);
      return sel && !sel.nothing && sel.requirements.length > 0 && selectorMatches(sel, p.metadata.labels);
    });

  const podDeleted = (p: Pod) => {
    const rs = ownerOf(p);
    if (!rs) return;
    const k = keyOf(rs);
    exp.deletionObserved(k, keyOf(p));
    loop.add(k);
  };

  rsInf.addHandlers({
    add: (rs) => loop.add(keyOf(rs)),
    update: (_o, rs) => loop.add(keyOf(rs)),
    delete: (rs) => {
      exp.delete(keyOf(rs));
      loop.add(keyOf(rs));
    },
  });
  podInf.addHandlers({
    add: (p) => {
      if (p.metadata.deletionTimestamp) return podDeleted(p);
      const rs = ownerOf(p);
      if (rs) {
        exp.creationObserved(keyOf(rs));
        loop.add(keyOf(rs));
      } else if (!controllerRef(p)) for (const m of matchingSets(p)) loop.add(keyOf(m));
    },
    update: (old, p) => {
      if (old.metadata.resourceVersion === p.metadata.resourceVersion) return;
      if (p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) podDeleted(p);
      const oldRs = ownerOf(old),
        rs = ownerOf(p);
      if (oldRs && oldRs !== rs) loop.add(keyOf(oldRs));
      if (rs) {
        loop.add(keyOf(rs));
        const mrs = Number(rs.spec?.minReadySeconds) || 0;
        if (mrs > 0 && !isPodReady(old) && isPodReady(p)) loop.queue.addAfter(keyOf(rs), mrs * 1000 + 50);
      } else if (!controllerRef(p)) for (const m of matchingSets(p)) loop.add(keyOf(m));
    },
    delete: (p) => podDeleted(p),
  });

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const rs = rsInf.get(ns, name);
    if (!rs) {
      exp.delete(key);
      return;
    }
    const needsSync = exp.satisfied(key);
    const sel = selectorOf(rs);
    if (!sel) {
      log.debug('invalid selector; skipping', { key });
      return;
    }
    const active = podInf.list(ns).filter(isPodActive);
    const owned = await claimChildren(
      {
        client: ctx.client,
        ref: R.pods,
        owner: rs,
        ownerRef: ownerRefFor(rs, 'apps/v1', 'ReplicaSet'),
        selector: rs.spec?.selector,
        canAdopt: recheckOwner(ctx.client, R.replicasets, rs),
      },
      active,
    );
    let manageError: { error: unknown; creating: boolean } | undefined;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      try {
        await manage(rs, key, owned);
      } catch (e) {
        manageError = { error: e, creating: owned.length < want(rs) };
      }
    }
    const now = ctx.now();
    const status = calculateStatus(rs, owned, manageError, now);
    await writeStatus(rs, status);
    if (manageError) throw manageError.error;
    const mrs = Number(rs.spec?.minReadySeconds) || 0;
    if (mrs > 0) {
      const waits = owned.map((p) => untilAvailable(p, mrs, now)).filter((x): x is number => x !== undefined);
      if (waits.length) loop.queue.addAfter(key, Math.min(...waits) + 50);
    }
  }

  const want = (rs: ReplicaSet) => {
    const n = rs.spec?.replicas;
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 1;
  };

  async function manage(rs: ReplicaSet, key: string, owned: Pod[]): Promise<void> {
    const diff = owned.length - want(rs);
    if (diff < 0) {
      const n = Math.min(-diff, BURST);
      exp.expectCreations(key, n);
      const ref = ownerRefFor(rs, 'apps/v1', 'ReplicaSet');
      const { ok, error } = await slowStartBatch(n, () =>
        pods.create(rs, podFromTemplate(rs.spec?.template, rs.metadata.namespace ?? '', ref)),
      );
      const skipped = n - ok;
      if (skipped > 0) exp.lowerExpectations(key, skipped, 0);
      if (error) throw error;
      return;
    }
    if (diff > 0) {
      const n = Math.min(diff, BURST);
      const perNode = new Map<string, number>();
      for (const p of owned) {
        const nn = p.spec?.nodeName ?? '';
        perNode.set(nn, (perNode.get(nn) ?? 0) + 1);
      }
      const victims = [...owned]
        .sort(deletionOrder((p) => (p.spec?.nodeName ? (perNode.get(p.spec.nodeName) ?? 0) : 0)))
        .slice(0, n);
      exp.expectDeletions(
        key,
        victims.map((p) => keyOf(p)),
      );
      const results = await Promise.allSettled(victims.map((p) => pods.delete(rs, p)));
      let firstError: unknown;
      results.forEach((r, i) => {
        if (r.status === 'rejected' || !r.value) exp.deletionFailed(key, keyOf(victims[i]));
        if (r.status === 'rejected') firstError ??= r.reason;
      });
      if (firstError) throw firstError;
    }
  }

  function calculateStatus(
    rs: ReplicaSet,
    owned: Pod[],
    err: { error: unknown; creating: boolean } | undefined,
    now: number,
  ): ReplicaSetStatus {
    const tmplLabels = rs.spec?.template?.metadata?.labels ?? {};
    const mrs = Number(rs.spec?.minReadySeconds) || 0;
    let conditions = rs.status?.conditions;
    // As upstream, a failure condition already set is kept as it is: its message names the pod
    // that failed (a generated name, new at every attempt), so replacing it would write a new
    // status at each retry, and that write's own event would bring the key back at once, past
    // the queue's backoff — a hot loop for as long as creates fail (a quota, a webhook).
    if (err && getCondition(conditions, 'ReplicaFailure')) conditions = [...(conditions ?? [])];
    else if (err) {
      conditions = setCondition(conditions, {
        type: 'ReplicaFailure',
        status: 'True',
        reason: err.creating ? 'FailedCreate' : 'FailedDelete',
        message: errorText(err.error),
        lastTransitionTime: rfc3339(now),
      });
    } else conditions = removeCondition(conditions, 'ReplicaFailure');
    return {
      replicas: owned.length,
      fullyLabeledReplicas: owned.filter((p) =>
        Object.entries(tmplLabels).every(([k, v]) => p.metadata.labels?.[k] === v),
      ).length,
      readyReplicas: owned.filter(isPodReady).length,
      availableReplicas: owned.filter((p) => isPodAvailable(p, mrs, now)).length,
      observedGeneration: rs.metadata.generation,
      ...(conditions.length ? { conditions } : {}),
    };
  }

  async function writeStatus(rs: ReplicaSet, status: ReplicaSetStatus): Promise<void> {
    const cur = rs.status ?? {};
    const same =
      (cur.replicas ?? 0) === status.replicas &&
      (cur.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
      (cur.readyReplicas ?? 0) === status.readyReplicas &&
      (cur.availableReplicas ?? 0) === status.availableReplicas &&
      cur.observedGeneration === status.observedGeneration &&
      JSON.stringify(cur.conditions ?? []) === JSON.stringify(status.conditions ?? []);
    if (same) return;
    const next = { ...(rs.status ?? {}), ...status, conditions: status.conditions };
    await putStatus(ctx.client, R.replicasets, rs, omitEmpty(next, RS_OMITEMPTY));
  }

  return {
    name: 'replicaset',
    run: () => loop.run(),
    stop: () => loop.stop(),
    resync: () => {
      for (const rs of rsInf.list()) loop.add(keyOf(rs));
    },
  };
}
