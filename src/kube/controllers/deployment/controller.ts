// Deployment controller (upstream's pkg/controller/deployment): drives ReplicaSets towards the
// Deployment's template. Events from Deployments, their ReplicaSets and (for Recreate) their pods
// only enqueue the Deployment's key; sync(key) claims the ReplicaSets it selects, then either
// records status only (deleting), scales without rolling (paused, or a replicas change:
// proportional scaling), or takes one step of the RollingUpdate / Recreate rollout.
import { fromLabelSelector, selectorMatches, type Selector } from '../../api/index.js';
import { claimChildren, ownerRefFor, recheckOwner } from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import type { SharedInformer } from '../shared/informers.js';
import { controllerRef, getCondition, rfc3339, splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Pod, ReplicaSet } from '../shared/types.js';
import { rolloutRecreate, rolloutRolling } from './rollout.js';
import { DeploymentSync } from './sync.js';
import {
  activeSets,
  DESIRED_REPLICAS,
  hasProgressDeadline,
  newCondition,
  replicasOf,
  setDeploymentCondition,
  type Deployment,
} from './util.js';

export interface DeploymentControllerOptions {
  workers?: number;
}

function selectorOf(d: Deployment): Selector | undefined {
  try {
    const s = fromLabelSelector(d.spec?.selector);
    return s.nothing ? undefined : s;
  } catch {
    return undefined;
  }
}

export function startDeploymentController(ctx: ControllerContext, opts: DeploymentControllerOptions = {}): Controller {
  const log = ctx.log.child({ controller: 'deployment' });
  const dInf: SharedInformer<Deployment> = ctx.informers.for<Deployment>(R.deployments);
  const rsInf: SharedInformer<ReplicaSet> = ctx.informers.for<ReplicaSet>(R.replicasets);
  const podInf: SharedInformer<Pod> = ctx.informers.for<Pod>(R.pods);
  const events = ctx.events.for('deployment-controller');
  const loop = new Loop({ ...ctx, log }, { name: 'deployment', workers: opts.workers ?? 4, sync });

  const ownerOf = (rs: ReplicaSet): Deployment | undefined => {
    const ref = controllerRef(rs);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = dInf.get(rs.metadata.namespace, ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  };
  const matching = (rs: ReplicaSet): Deployment[] =>
    dInf.list(rs.metadata.namespace ?? '').filter((d) => {
      const sel = selectorOf(d);
      return sel && sel.requirements.length > 0 && selectorMatches(sel, rs.metadata.labels);
    });
  const enqueueFor = (rs: ReplicaSet) => {
    const d = ownerOf(rs);
    if (d) loop.add(keyOf(d));
    else if (!controllerRef(rs)) for (const m of matching(rs)) loop.add(keyOf(m));
  };

  dInf.addHandlers({
    add: (d) => loop.add(keyOf(d)),
    update: (_o, d) => loop.add(keyOf(d)),
    delete: (d) => loop.add(keyOf(d)),
  });
  rsInf.addHandlers({
    add: enqueueFor,
    update: (old, rs) => {
      if (old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
      const a = ownerOf(old);
      if (a && a !== ownerOf(rs)) loop.add(keyOf(a));
      enqueueFor(rs);
    },
    delete: (rs) => {
      const d = ownerOf(rs);
      if (d) loop.add(keyOf(d));
    },
  });
  // Recreate waits for old pods to go: their deletion is what lets it continue.
  podInf.addHandlers({
    delete: (p) => {
      const ref = controllerRef(p);
      if (!ref || ref.kind !== 'ReplicaSet') return;
      const rs = rsInf.get(p.metadata.namespace, ref.name);
      const d = rs && ownerOf(rs);
      if (d && d.spec?.strategy?.type === 'Recreate') loop.add(keyOf(d));
    },
  });

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const cached = dInf.get(ns, name);
    if (!cached) return;
    const d = structuredClone(cached);
    const deps = {
      client: ctx.client,
      events,
      now: ctx.now,
      requeueAfter: (ms: number) => loop.queue.addAfter(key, ms),
    };
    const sel = d.spec?.selector;
    if (sel && Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0) {
      events.event(
        d,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        d.status = { ...(d.status ?? {}), observedGeneration: d.metadata.generation };
        await new DeploymentSync(deps, d, []).writeStatus();
      }
      return;
    }
    if (!selectorOf(d)) return; // a selector that cannot match: nothing to manage
    const sets = await claimChildren(
      {
        client: ctx.client,
        ref: R.replicasets,
        owner: d,
        ownerRef: ownerRefFor(d, 'apps/v1', 'Deployment'),
        selector: d.spec?.selector,
        canAdopt: recheckOwner(ctx.client, R.deployments, d),
      },
      rsInf.list(ns),
    );
    const s = new DeploymentSync(deps, d, sets);
    if (d.metadata.deletionTimestamp) {
      const [newRS, old] = await s.allSets(false);
      return s.syncStatus([...old, newRS], newRS);
    }
    if (await checkPaused(s)) return; // the status write brings the next sync
    if (d.spec?.paused) return syncScale(s);
    if (await isScalingEvent(s)) return syncScale(s);
    if (d.spec?.strategy?.type === 'Recreate') return rolloutRecreate(s, podsBySet(d, sets));
    return rolloutRolling(s);
  }

  /** Pods selected by the deployment, by the uid of the claimed set that controls them. */
  function podsBySet(d: Deployment, sets: ReplicaSet[]): Map<string, Pod[]> {
    const uids = new Set(sets.map((rs) => rs.metadata.uid));
    const out = new Map<string, Pod[]>();
    for (const rs of sets) out.set(rs.metadata.uid ?? '', []);
    for (const p of podInf.list(d.metadata.namespace ?? '')) {
      const ref = controllerRef(p);
      if (ref && uids.has(ref.uid)) out.get(ref.uid)?.push(p);
    }
    return out;
  }

  /** The Progressing condition says paused / resumed; true when that was written. */
  async function checkPaused(s: DeploymentSync): Promise<boolean> {
    const d = s.d;
    if (!hasProgressDeadline(d)) return false;
    const cond = getCondition(d.status?.conditions, 'Progressing');
    if (cond?.reason === 'ProgressDeadlineExceeded') return false;
    const pausedCond = cond?.reason === 'DeploymentPaused';
    const now = rfc3339(ctx.now());
    const st = (d.status ??= {});
    if (d.spec?.paused && !pausedCond)
      setDeploymentCondition(
        st,
        newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', now),
      );
    else if (!d.spec?.paused && pausedCond)
      setDeploymentCondition(
        st,
        newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed', now),
      );
    else return false;
    await s.writeStatus();
    return true;
  }

  async function isScalingEvent(s: DeploymentSync): Promise<boolean> {
    const [newRS, old] = await s.allSets(false);
    const want = replicasOf(s.d);
    for (const rs of activeSets([...old, newRS])) {
      const v = rs.metadata.annotations?.[DESIRED_REPLICAS];
      if (v === undefined || !/^\d+$/.test(v)) continue;
      if (Number(v) !== want) return true;
    }
    return false;
  }

  async function syncScale(s: DeploymentSync): Promise<void> {
    const [newRS, old] = await s.allSets(false);
    await s.scale(newRS, old);
    if (s.d.spec?.paused) await s.cleanup(old);
    return s.syncStatus([...old, newRS], newRS);
  }

  return {
    name: 'deployment',
    run: () => loop.run(),
    stop: () => loop.stop(),
    resync: () => {
      for (const d of dInf.list()) loop.add(keyOf(d));
    },
  };
}
