// Taints and tolerations as upstream's v1 helpers: a toleration with an empty effect matches every
// effect, an empty key with `Exists` matches every taint, `Equal` (or no operator) compares values.
import type { Taint, Toleration } from './types.js';

export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

// These run per node searched: no array or closure is made when a node or pod has none.
export function tolerationsTolerate(ts: Toleration[] | undefined, taint: Taint): boolean {
  if (!ts) return false;
  for (let i = 0; i < ts.length; i++) if (toleratesTaint(ts[i], taint)) return true;
  return false;
}

/** The first NoSchedule/NoExecute taint not tolerated (upstream's FindMatchingUntoleratedTaint
 *  with DoNotScheduleTaintsFilterFunc), or undefined. */
export function untoleratedTaint(taints: Taint[] | undefined, ts: Toleration[] | undefined): Taint | undefined {
  if (!taints) return undefined;
  for (let i = 0; i < taints.length; i++) {
    const taint = taints[i];
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerationsTolerate(ts, taint)) return taint;
  }
  return undefined;
}
