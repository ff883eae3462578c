// application/strategic-merge-patch+json: JSON merge patch plus list merging by the schema's
// `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key`, and the directives kubectl emits:
// `$patch: replace|delete|merge`, `$retainKeys`, `$deleteFromPrimitiveList/<f>`,
// `$setElementOrder/<f>`. Hand-written: no npm implementation exists of upstream's semantics.
import type { JSONSchemaProps } from '../../api/index.js';
import { itemSchema, listSemantics, propertySchema, resolve, type SchemaContext } from '../schema.js';
import { errBadRequest } from '../status.js';
import { isObject } from '../../../common/index.js';

export function applyStrategicPatch(
  target: unknown,
  patch: unknown,
  s: JSONSchemaProps | undefined,
  ctx: SchemaContext,
): unknown {
  // In the words of Go's decoder, which reads the patch into a map.
  if (!isObject(patch))
    throw errBadRequest(
      `json: cannot unmarshal ${Array.isArray(patch) ? 'array' : patch === null ? 'null' : typeof patch} into Go value of type map[string]interface {}`,
    );
  return mergeMap(isObject(target) ? target : {}, patch, s, ctx);
}

function mergeMap(
  orig: Record<string, unknown>,
  patch: Record<string, unknown>,
  s: JSONSchemaProps | undefined,
  ctx: SchemaContext,
): Record<string, unknown> | undefined {
  const r = resolve(s, ctx);
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest) as Record<string, unknown>;
  }
  let out: Record<string, unknown> = { ...orig };
  if (patch.$retainKeys !== undefined) {
    // (upstream's applyRetainKeysDirective: a list naming every field the patch sets)
    if (!Array.isArray(patch.$retainKeys)) throw errBadRequest('invalid patch format of retainKeys');
    const keep = new Set(patch.$retainKeys as string[]);
    for (const [k, v] of Object.entries(patch))
      if (v !== null && !k.startsWith('$') && !keep.has(k)) throw errBadRequest('invalid patch format of retainKeys');
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  const orders: [string, unknown[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) {
      if (!Array.isArray(v)) throw errBadRequest('invalid patch format of setElementOrder list');
      orders.push([k.slice(17), v]);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice(25);
      if (!Array.isArray(v)) throw errBadRequest('invalid patch format of primitive list');
      if (Array.isArray(out[f])) {
        const del = new Set(v.map((x) => JSON.stringify(x)));
        out[f] = (out[f] as unknown[]).filter((x) => !del.has(JSON.stringify(x)));
      }
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const ps = propertySchema(r, k, ctx);
    if (isObject(v)) {
      const merged = mergeMap(isObject(out[k]) ? (out[k] as Record<string, unknown>) : {}, v, ps, ctx);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else if (Array.isArray(v)) {
      out[k] = mergeList(Array.isArray(out[k]) ? (out[k] as unknown[]) : [], v, ps, ctx);
    } else out[k] = v;
  }
  for (const [f, order] of orders)
    if (Array.isArray(out[f]))
      out[f] = reorder(out[f] as unknown[], order, listSemantics(propertySchema(r, f, ctx), ctx));
  return out;
}

function mergeList(orig: unknown[], patch: unknown[], s: JSONSchemaProps | undefined, ctx: SchemaContext): unknown[] {
  const sem = listSemantics(s, ctx);
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return stripDirectives(patch.filter((p) => !(isObject(p) && p.$patch === 'replace'))) as unknown[];
  }
  if (sem.type === 'atomic' || (sem.type === 'map' && sem.keys.length === 0))
    return stripDirectives(patch) as unknown[];
  if (sem.type === 'set') {
    const seen = new Set(orig.map((x) => JSON.stringify(x)));
    return [...orig, ...patch.filter((x) => !seen.has(JSON.stringify(x)))];
  }
  const key = sem.keys[0];
  const is = itemSchema(s, ctx);
  const out = [...orig];
  for (const p of patch) {
    if (!isObject(p)) {
      out.push(p);
      continue;
    }
    const idx = out.findIndex((o) => isObject(o) && o[key] === p[key]);
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) {
      const merged = mergeMap(out[idx] as Record<string, unknown>, p, is, ctx);
      if (merged === undefined) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      out.push(stripDirectives(p));
    }
  }
  return out;
}

/** `$setElementOrder`: listed elements in that order, then the rest in their current order. */
function reorder(list: unknown[], order: unknown[], sem: ReturnType<typeof listSemantics>): unknown[] {
  const id = (x: unknown) =>
    sem.type === 'map' && sem.keys.length && isObject(x) ? JSON.stringify(x[sem.keys[0]]) : JSON.stringify(x);
  const pos = new Map(order.map((o, i) => [id(o), i]));
  const listed = list.filter((x) => pos.has(id(x))).sort((a, b) => pos.get(id(a))! - pos.get(id(b))!);
  return [...listed, ...list.filter((x) => !pos.has(id(x)))];
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}
