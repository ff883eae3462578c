// The update entry point shared by PUT, the patches, apply and the subresources: the update
// pipeline (pipeline/update.ts) under the names the handlers have always used.
import type { KubeObject } from '../../api/index.js';
import type { KeyValue } from '../../storage/index.js';
import type { RequestScope } from '../context.js';
import { updateObject, type UpdateOptions } from '../pipeline/update.js';

export { managerName, versionViews } from '../pipeline/manager.js';

export type WriteOptions = UpdateOptions;

/** Applies the update rules to `next` against the stored `old`; returns the stored result. */
export function writeUpdate(
  r: RequestScope,
  old: KubeObject,
  kv: KeyValue,
  next: KubeObject,
  opts: WriteOptions = {},
): Promise<{ obj: KubeObject; deleted: boolean }> {
  return updateObject(r, old, kv, next, opts);
}
