// Namespaces: created Active; deleting one whose spec.finalizers is not empty marks it
// Terminating instead (the namespace controller empties it and clears the finalizers through
// `finalize`, and the update that clears the last one deletes it).
import type { KubeObject } from '../../api/index.js';
import type { Strategy } from '../pipeline/strategy.js';

const specFinalizers = (o: KubeObject) => (o.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];

export const namespaceStrategy: Strategy = {
  keepStatusOnCreate: true,
  prepareForCreate(obj) {
    obj.status = { ...((obj.status as object | undefined) ?? {}), phase: 'Active' };
  },
  beginDelete(next) {
    if (specFinalizers(next).length === 0) return false;
    next.status = { ...((next.status as object | undefined) ?? {}), phase: 'Terminating' };
    return true;
  },
  deletionPending: (obj) => specFinalizers(obj).length > 0,
};
