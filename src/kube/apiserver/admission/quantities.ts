// ResourceList helpers for admission (LimitRanger, ResourceQuota) over kube/api's exact
// resource.Quantity arithmetic, printed in upstream's canonical form.
import {
  addQuantity,
  compareQuantity,
  formatQuantity,
  isValidQuantity,
  parseQuantity,
  type Quantity,
} from '../../api/index.js';

export type ResourceList = Record<string, string>;

/** A quantity from a ResourceList value (invalid ones count as absent: validation reports them). */
export function q(v: unknown): Quantity | undefined {
  return isValidQuantity(v) ? parseQuantity(v as string) : undefined;
}

export const cmp = compareQuantity;
export const str = formatQuantity;

/** a + b per resource name. */
export function addLists(a: Record<string, Quantity>, b: Record<string, Quantity>): Record<string, Quantity> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = out[k] ? addQuantity(out[k], v) : v;
  return out;
}

export function parseList(l: unknown): Record<string, Quantity> {
  const out: Record<string, Quantity> = {};
  if (l && typeof l === 'object' && !Array.isArray(l))
    for (const [k, v] of Object.entries(l as Record<string, unknown>)) {
      const x = q(v);
      if (x) out[k] = x;
    }
  return out;
}
