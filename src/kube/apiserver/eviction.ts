// pods/eviction (policy/v1 Eviction), as upstream's eviction REST: a pod is deleted only if the
// PodDisruptionBudget that selects it allows one more disruption. The budget's status (kept by
// the disruption controller) is the source of truth: disruptionsAllowed is decremented and the
// pod recorded in status.disruptedPods in the same conditional write, so two concurrent
// evictions cannot both spend the last allowed disruption. 429 TooManyRequests (kubectl drain
// retries) when the budget forbids it or has not been processed yet; pods that are not running
// (pending, finished, already deleting) are deleted without consulting budgets.
import { isSkiffError } from '../../common/index.js';
import { labelSelectorMatches, type KubeObject, type LabelSelector } from '../api/index.js';
import type { RequestScope } from './context.js';
import { decodeRequest } from './handlers/create.js';
import { deleteOne, type DeleteOptions } from './handlers/delete.js';
import { nowRFC3339 } from './meta.js';
import { dryRun, isObject, readObject, storeUpdate } from './rest.js';
import { ApiError, errBadRequest, errForbidden, errMethodNotAllowed, errNotFound } from './status.js';
import type { VirtualHandler } from './virtual.js';

const MAX_DISRUPTED_PODS = 2000;
const RETRIES = 10;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}
interface Pdb extends KubeObject {
  spec?: { selector?: LabelSelector; unhealthyPodEvictionPolicy?: string };
  status?: {
    observedGeneration?: number;
    disruptionsAllowed?: number;
    currentHealthy?: number;
    desiredHealthy?: number;
    disruptedPods?: Record<string, string>;
    conditions?: Condition[];
  };
}
interface Pod extends KubeObject {
  status?: { phase?: string; conditions?: Condition[] };
}

const tooMany = (message: string, cause?: string) =>
  new ApiError(429, 'TooManyRequests', message, {
    causes: cause ? [{ reason: 'DisruptionBudget', message: cause }] : undefined,
    retryAfterSeconds: 0,
  });
const violation = "Cannot evict pod as it would violate the pod's disruption budget.";

const isReady = (p: Pod) => (p.status?.conditions ?? []).some((c) => c && c.type === 'Ready' && c.status === 'True');
/** Pods whose disruption no budget counts: not started, finished, or already going away. */
const canIgnoreBudget = (p: Pod) =>
  ['Pending', 'Succeeded', 'Failed'].includes(p.status?.phase ?? 'Pending') || Boolean(p.metadata.deletionTimestamp);

async function budgetsFor(r: RequestScope, pod: Pod): Promise<{ pdb: Pdb; rev: number }[]> {
  const def = r.ctx.registry.lookup('policy', 'v1', 'poddisruptionbudgets');
  if (!def) return [];
  const out: { pdb: Pdb; rev: number }[] = [];
  let cont: string | undefined;
  do {
    const page = await r.ctx.store.list(r.ctx.registry.prefix(def, pod.metadata.namespace), {
      limit: 500,
      continue: cont,
    });
    for (const kv of page.items) {
      const pdb = (await r.ctx.registry.decode(def, kv)) as Pdb;
      let match = false;
      try {
        // policy/v1: a nil selector selects nothing, an empty one every pod of the namespace.
        match = labelSelectorMatches(pdb.spec?.selector, pod.metadata.labels);
      } catch {
        match = false;
      }
      if (match) out.push({ pdb, rev: kv.modRevision });
    }
    cont = page.continue;
  } while (cont);
  return out;
}

/** Spends one disruption of the budget for `podName` (conditional write; retried on conflict). */
async function checkAndDecrement(r: RequestScope, podName: string, first: { pdb: Pdb; rev: number }): Promise<void> {
  const def = r.ctx.registry.lookup('policy', 'v1', 'poddisruptionbudgets')!;
  let cur = first;
  for (let attempt = 0; ; attempt++) {
    const { pdb } = cur;
    const st = pdb.status ?? {};
    if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0))
      throw tooMany(violation, `The disruption budget ${pdb.metadata.name} is still being processed by the server.`);
    const allowed = st.disruptionsAllowed ?? 0;
    if (allowed < 0)
      throw errForbidden(
        `poddisruptionbudgets.policy "${pdb.metadata.name}" is forbidden: pdb disruptions allowed is negative`,
      );
    if (Object.keys(st.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS)
      throw errForbidden(
        `poddisruptionbudgets.policy "${pdb.metadata.name}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`,
      );
    if (allowed === 0)
      throw tooMany(
        violation,
        `The disruption budget ${pdb.metadata.name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`,
      );
    if (dryRun(r)) return;
    const next = structuredClone(pdb);
    const now = nowRFC3339();
    next.status = {
      ...st,
      disruptionsAllowed: allowed - 1,
      disruptedPods: { ...(st.disruptedPods ?? {}), [podName]: now },
    };
    if (allowed - 1 === 0) {
      const conds = (st.conditions ?? []).filter((c) => c.type !== 'DisruptionAllowed');
      const old = (st.conditions ?? []).find((c) => c.type === 'DisruptionAllowed');
      conds.push({
        type: 'DisruptionAllowed',
        status: 'False',
        reason: 'InsufficientPods',
        message: '',
        observedGeneration: st.observedGeneration,
        lastTransitionTime: old?.status === 'False' && old.lastTransitionTime ? old.lastTransitionTime : now,
      });
      next.status.conditions = conds;
    }
    try {
      await storeUpdate(r, next, cur.rev, def);
      return;
    } catch (e) {
      const conflict = (e instanceof ApiError && e.reason === 'Conflict') || isSkiffError(e, 'Conflict');
      if (!conflict || attempt >= RETRIES) throw e;
      const fresh = await readObject(r.ctx, def, pdb.metadata.namespace, pdb.metadata.name!);
      if (!fresh) throw errNotFound({ resource: 'poddisruptionbudgets', group: 'policy', name: pdb.metadata.name });
      cur = { pdb: fresh.obj as Pdb, rev: fresh.kv.modRevision };
    }
  }
}

const evict: VirtualHandler = async (r) => {
  if (r.info.verb !== 'create') throw errMethodNotAllowed(`${r.info.verb} is not supported on pods/eviction`);
  const body = await decodeRequest(r);
  if (!isObject(body)) throw errBadRequest('expected an Eviction object');
  const meta = isObject(body.metadata) ? body.metadata : {};
  const name = r.info.name!;
  if (meta.name !== undefined && meta.name !== name)
    throw errBadRequest('name in URL does not match name in Eviction object');
  const opts: DeleteOptions = isObject(body.deleteOptions) ? { ...(body.deleteOptions as DeleteOptions) } : {};
  const got = await readObject(r.ctx, r.def, r.info.namespace, name);
  if (!got) throw errNotFound({ resource: 'pods', name });
  const pod = got.obj as Pod;
  const created = { code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
  const remove = async () => {
    try {
      if (!dryRun(r)) await deleteOne(r, pod, got.kv.modRevision, opts);
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
    return created;
  };
  if (canIgnoreBudget(pod)) return remove();
  const budgets = await budgetsFor(r, pod);
  if (budgets.length === 0) return remove();
  if (budgets.length > 1)
    throw new ApiError(
      500,
      'InternalError',
      'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    );
  const { pdb } = budgets[0];
  const st = pdb.status ?? {};
  // An unready pod does not count as healthy: evicting it spends nothing when the budget allows.
  const unready = !isReady(pod);
  if (
    unready &&
    (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' ||
      ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0))
  ) {
    opts.preconditions = { ...(opts.preconditions ?? {}), resourceVersion: pod.metadata.resourceVersion };
    return remove();
  }
  await checkAndDecrement(r, name, budgets[0]);
  return remove();
};

export function evictionHandlers(): Record<string, VirtualHandler> {
  return { '/pods/eviction': evict };
}
