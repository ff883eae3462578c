// Disruption controller (upstream's pkg/controller/disruption): keeps each PodDisruptionBudget's
// status — expectedPods (the scale of the pods' controllers, or the pod count for an integer
// minAvailable), desiredHealthy, currentHealthy (ready pods not being deleted nor just evicted),
// disruptionsAllowed, the DisruptionAllowed condition, and disruptedPods (evictions the API server
// recorded, dropped once the pod is gone or after two minutes). pods/eviction reads this status.
import { labelSelectorMatches } from '../../api/index.js';
import { resourcePath } from '../../client/index.js';
import { isNotFound } from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { controllerRef, getCondition, isPodReady, rfc3339, scaledValue, splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Condition, LabelSelector, Pod, ReplicaSet, Workload } from '../shared/types.js';

const DELETION_TIMEOUT_MS = 2 * 60_000;

interface PdbSpec {
  selector?: LabelSelector;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  unhealthyPodEvictionPolicy?: string;
}
interface PdbStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  conditions?: Condition[];
}
type Pdb = Workload<PdbSpec, PdbStatus>;
type Scaled = Workload<{ replicas?: number }>;

export function startDisruptionController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'disruption' });
  const pdbInf = ctx.informers.for<Pdb>(R.pdbs);
  const podInf = ctx.informers.for<Pod>(R.pods);
  const rsInf = ctx.informers.for<ReplicaSet>(R.replicasets);
  const dInf = ctx.informers.for<Scaled>(R.deployments);
  const ssInf = ctx.informers.for<Scaled>(R.statefulsets);
  const events = ctx.events.for('controllermanager');
  const loop = new Loop({ ...ctx, log }, { name: 'disruption', sync });

  const matches = (pdb: Pdb, p: Pod) => {
    try {
      return labelSelectorMatches(pdb.spec?.selector, p.metadata.labels);
    } catch {
      return false;
    }
  };
  const podChanged = (p: Pod) => {
    for (const pdb of pdbInf.list(p.metadata.namespace ?? '')) if (matches(pdb, p)) loop.add(keyOf(pdb));
  };
  pdbInf.addHandlers({ add: (x) => loop.add(keyOf(x)), update: (_o, x) => loop.add(keyOf(x)) });
  podInf.addHandlers({
    add: podChanged,
    update: (o, p) => {
      podChanged(p);
      if (JSON.stringify(o.metadata.labels) !== JSON.stringify(p.metadata.labels)) podChanged(o);
    },
    delete: podChanged,
  });
  const byScale = (ns: string) => () => {
    for (const pdb of pdbInf.list(ns)) loop.add(keyOf(pdb));
  };
  for (const inf of [rsInf, dInf, ssInf])
    inf.addHandlers({
      update: (o, x) => o.spec?.replicas !== x.spec?.replicas && byScale(x.metadata.namespace ?? '')(),
    });

  /** The desired scale of the controllers of `pods` (upstream's finders), or an error message. */
  function expectedScale(ns: string, pods: Pod[]): number | string {
    const scale = new Map<string, number>();
    for (const p of pods) {
      const ref = controllerRef(p);
      if (!ref) continue; // unmanaged pods are not counted (upstream reports them)
      if (ref.kind === 'ReplicaSet') {
        const rs = rsInf.get(ns, ref.name);
        if (!rs || rs.metadata.uid !== ref.uid) return `found no controllers for pod "${p.metadata.name}"`;
        const dref = controllerRef(rs);
        const d = dref?.kind === 'Deployment' ? dInf.get(ns, dref.name) : undefined;
        if (d && d.metadata.uid === dref?.uid) scale.set(d.metadata.uid ?? '', d.spec?.replicas ?? 1);
        else scale.set(rs.metadata.uid ?? '', rs.spec?.replicas ?? 1);
      } else if (ref.kind === 'StatefulSet') {
        const s = ssInf.get(ns, ref.name);
        if (!s || s.metadata.uid !== ref.uid) return `found no controllers for pod "${p.metadata.name}"`;
        scale.set(s.metadata.uid ?? '', s.spec?.replicas ?? 1);
      } else return `found no controllers for pod "${p.metadata.name}"`;
    }
    let n = 0;
    for (const v of scale.values()) n += v;
    return n;
  }

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const cached = pdbInf.get(ns, name);
    if (!cached) return;
    const pdb = structuredClone(cached);
    const pods = podInf.list(ns).filter((p) => matches(pdb, p));
    if (!pods.length) events.event(pdb, 'Normal', 'NoPods', 'No matching pods found');
    const spec = pdb.spec ?? {};
    let expected = 0,
      desired = 0,
      failure: string | undefined;
    if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
      const s = expectedScale(ns, pods);
      if (typeof s === 'string') failure = s;
      else {
        expected = s;
        const mu = scaledValue(spec.maxUnavailable, expected, true);
        desired = Math.max(0, expected - (Number.isFinite(mu) ? mu : 0));
      }
    } else if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
      if (typeof spec.minAvailable === 'number') {
        desired = spec.minAvailable;
        expected = pods.length;
      } else {
        const s = expectedScale(ns, pods);
        if (typeof s === 'string') failure = s;
        else {
          expected = s;
          const ma = scaledValue(spec.minAvailable, expected, true);
          desired = Number.isFinite(ma) ? ma : 0;
        }
      }
    }
    const now = ctx.now();
    const disrupted: Record<string, string> = {};
    let recheck: number | undefined;
    const byName = new Map(pods.map((p) => [p.metadata.name ?? '', p]));
    for (const [podName, at] of Object.entries(pdb.status?.disruptedPods ?? {})) {
      const p = byName.get(podName);
      if (!p || p.metadata.deletionTimestamp) continue;
      const t = Date.parse(at);
      const expires = (Number.isFinite(t) ? t : now) + DELETION_TIMEOUT_MS;
      if (expires <= now) {
        events.event(
          { ...p, apiVersion: 'v1', kind: 'Pod' },
          'Warning',
          'NotDeleted',
          'Pod was expected by PDB to be deleted but it was not',
        );
        continue;
      }
      disrupted[podName] = at;
      recheck = Math.min(recheck ?? expires, expires);
    }
    const healthy = pods.filter(
      (p) => !p.metadata.deletionTimestamp && !(p.metadata.name! in disrupted) && isPodReady(p),
    ).length;
    if (recheck !== undefined) loop.queue.addAfter(key, recheck - now + 50);
    const allowed = failure ? 0 : expected <= 0 ? 0 : Math.max(0, healthy - desired);
    const cond: Condition = failure
      ? { type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message: failure }
      : allowed > 0
        ? { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '' }
        : { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '' };
    const old = getCondition(pdb.status?.conditions, 'DisruptionAllowed');
    const st: PdbStatus = {
      observedGeneration: pdb.metadata.generation,
      disruptedPods: Object.keys(disrupted).length ? disrupted : undefined,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      conditions: [
        ...(pdb.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionAllowed'),
        {
          ...cond,
          observedGeneration: pdb.metadata.generation,
          lastTransitionTime:
            old && old.status === cond.status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now),
        },
      ],
    };
    const norm = (s: PdbStatus | undefined) =>
      JSON.stringify([
        s?.observedGeneration,
        s?.disruptedPods ?? {},
        s?.disruptionsAllowed ?? 0,
        s?.currentHealthy ?? 0,
        s?.desiredHealthy ?? 0,
        s?.expectedPods ?? 0,
        (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message ?? '']),
      ]);
    if (norm(pdb.status) === norm(st)) return;
    // A plain conditional write: evictions change this status too, so a conflict means the
    // whole computation starts again from the newer object (never written over it).
    try {
      await ctx.client.request('PUT', resourcePath(R.pdbs, ns, name, 'status'), { body: { ...pdb, status: st } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  return {
    name: 'disruption',
    run: () => loop.run(),
    stop: () => loop.stop(),
    resync: () => {
      for (const p of pdbInf.list()) loop.add(keyOf(p));
    },
  };
}
