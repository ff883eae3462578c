// The delete pipeline (DELETE, DELETECOLLECTION per item, evictions): preconditions → admission
// (both phases, with the stored object) → graceful deletion: finalizers (and the propagation
// policies upstream records as finalizers: Orphan → `orphan`, Foreground → `foregroundDeletion`)
// or the strategy (a Namespace with spec.finalizers turns Terminating) keep the object with
// deletionTimestamp set, as does the strategy's grace period (a pod bound to a node, until its
// agent deletes it with grace 0); otherwise it is removed at once → after-delete hooks.
import type { KubeObject } from '../../api/index.js';
import type { OperationScope } from '../context.js';
import { nowRFC3339 } from '../meta.js';
import { storeDelete, storeUpdate } from '../rest.js';
import { errConflict } from '../status.js';
import { strategyFor } from '../strategies/index.js';
import { attributesOf, mutate, validate } from './admit.js';
import { writeContext } from './create.js';

export interface DeleteOptions {
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
  dryRun?: string[];
}

/** Deletes one stored object (at revision `rev`); `gone` when it was removed, else the object
 *  as it now waits (deletionTimestamp set). */
export async function deleteObject(
  r: OperationScope,
  obj: KubeObject,
  rev: number,
  opts: DeleteOptions,
): Promise<{ obj: KubeObject; gone: boolean }> {
  const def = r.def;
  const w = writeContext(r);
  const strategy = strategyFor(def);
  // Upstream's BeforeDelete names the kind (not the resource) in a failed precondition's Conflict.
  const t = { resource: def.kind, group: def.group, name: obj.metadata.name };
  const pre = opts.preconditions;
  if (pre?.uid && pre.uid !== obj.metadata.uid)
    throw errConflict(
      t,
      `the UID in the precondition (${pre.uid}) does not match the UID in record (${obj.metadata.uid}). The object might have been deleted and then recreated`,
    );
  if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion)
    throw errConflict(
      t,
      `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${obj.metadata.resourceVersion}). The object might have been modified`,
    );
  const attrs = attributesOf(w, 'DELETE', undefined, obj);
  await mutate(w, attrs);
  await validate(w, attrs);

  const finalizers = [...(obj.metadata.finalizers ?? [])];
  if (opts.propagationPolicy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
  if (opts.propagationPolicy === 'Foreground' && !finalizers.includes('foregroundDeletion'))
    finalizers.push('foregroundDeletion');
  const next = structuredClone(obj);
  const grace = strategy.gracePeriod?.(obj, opts.gracePeriodSeconds) ?? 0;
  if (grace > 0) {
    // A graceful wait (a pod for its node's agent); a shorter grace period shortens it.
    const cur = obj.metadata.deletionGracePeriodSeconds;
    if (obj.metadata.deletionTimestamp && cur !== undefined && cur <= grace) return { obj, gone: false };
    next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    next.metadata.deletionGracePeriodSeconds = grace;
    if (finalizers.length) next.metadata.finalizers = finalizers;
    const stored = await storeUpdate(r, next, rev);
    if (!w.dryRun) r.ctx.caches.get(`${def.group}/${def.plural}`)?.note(stored);
    return { obj: stored, gone: false };
  }
  const kept = strategy.beginDelete?.(next, w) ?? false;
  if (finalizers.length || kept) {
    if (
      obj.metadata.deletionTimestamp &&
      !obj.metadata.deletionGracePeriodSeconds &&
      finalizers.length === (obj.metadata.finalizers ?? []).length
    )
      return { obj, gone: false };
    if (finalizers.length) next.metadata.finalizers = finalizers;
    else delete next.metadata.finalizers;
    next.metadata.deletionTimestamp ??= nowRFC3339();
    next.metadata.deletionGracePeriodSeconds = 0;
    const stored = await storeUpdate(r, next, rev);
    if (!w.dryRun) r.ctx.caches.get(`${def.group}/${def.plural}`)?.note(stored);
    return { obj: stored, gone: false };
  }
  await storeDelete(r, obj, rev);
  if (!w.dryRun) {
    r.ctx.caches.get(`${def.group}/${def.plural}`)?.note(obj, true);
    await strategy.afterDelete?.(obj, w);
  }
  return { obj, gone: true };
}
