import { isObject } from '../../../common/index.js';
// application/merge-patch+json: RFC 7386 JSON merge patch (null deletes, objects merge, anything
// else replaces). Hand-written: it is ten lines.

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
