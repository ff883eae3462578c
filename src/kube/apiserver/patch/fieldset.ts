// Field sets in managedFields' FieldsV1 vocabulary: a path is a list of tokens `f:<field>`,
// `k:<json of list-map keys>`, `v:<json value>` (set members), `i:<index>` (atomic-free lists
// without keys). Used by server-side apply (ownership, conflicts) and Update managers.
import type { JSONSchemaProps } from '../../api/index.js';
import {
  itemSchema,
  listSemantics,
  propertySchema,
  resolve,
  type ListSemantics,
  type SchemaContext,
} from '../schema.js';
import { isObject } from '../../../common/index.js';

export type Path = string[];
const SEP = '\u0001';
export const pathKey = (p: Path) => p.join(SEP);
export const keyPath = (k: string): Path => (k === '' ? [] : k.split(SEP));

/** Fields the server owns and no manager tracks. */
const IGNORED_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);

/** The list-map key of an item; a missing key field takes its schema default (`defaults`). */
export function itemKey(item: unknown, keys: string[], defaults?: Record<string, unknown>): string {
  const o: Record<string, unknown> = {};
  for (const k of [...keys].sort()) {
    const v = isObject(item) ? item[k] : undefined;
    if (v !== undefined) o[k] = v;
    else if (defaults?.[k] !== undefined) o[k] = defaults[k];
  }
  return JSON.stringify(o);
}

/** Leaf paths of a value (and, for list-map items, the item itself) with the leaf's JSON. Walks
 *  the schema through the same per-node plans as fieldsV1Of and builds each path key once from its
 *  parent's (an Update runs this twice per write: the stored object and the new one; the general
 *  walk, which resolved each node's schema and copied the path array at every step, was 40 % of
 *  recordUpdate on a ConfigMap PUT). Equal to that walk key for key (patch.test.ts). */
export function leaves(
  obj: unknown,
  schema: JSONSchemaProps | undefined,
  ctx: SchemaContext,
  skipTop: Set<string> = new Set(['apiVersion', 'kind']),
): Map<string, string> {
  const out = new Map<string, string>();
  const at = (key: string, tok: string) => (key === '' ? tok : key + SEP + tok);
  // key: pathKey of the path so far; depth: its length
  const walk = (v: unknown, p: Plan, key: string, depth: number) => {
    // A built-in kind's null is Go's zero value: no field (template metadata's creationTimestamp).
    if (v === null && !ctx.structural) return;
    if (isObject(v) && !p.atomic) {
      let any = false;
      for (const k in v) {
        any = true;
        if (depth === 0 && skipTop.has(k)) continue;
        if (depth === 1 && key === 'f:metadata' && IGNORED_META.has(k)) continue;
        const c = propPlan(p, k, ctx);
        walk(v[k], c.plan, at(key, c.tok), depth + 1);
      }
      if (any) return;
    }
    if (Array.isArray(v) && v.length > 0) {
      const { sem, item } = listPlan(p, ctx);
      if (sem.type === 'map' && sem.keys.length) {
        for (const it of v) {
          const ik = at(key, `k:${itemKey(it, sem.keys, sem.defaults)}`);
          out.set(ik, '.');
          walk(it, item, ik, depth + 1);
        }
        return;
      }
      if (sem.type === 'set') {
        for (const it of v) {
          const j = JSON.stringify(it);
          out.set(at(key, `v:${j}`), j);
        }
        return;
      }
    }
    if (depth) out.set(key, JSON.stringify(v));
  };
  walk(obj, planOf(schema, ctx), '', 0);
  return out;
}

/** What fieldsV1Of needs of one schema node, worked out once per node: resolved, whether a map is
 *  atomic, each declared property's token and schema, and a list's semantics. */
interface Plan {
  r: JSONSchemaProps | undefined;
  atomic: boolean;
  props: Map<string, { tok: string; plan: Plan }>;
  list?: { sem: ListSemantics; item: Plan };
}
const plans = new WeakMap<SchemaContext, { none: Plan; by: WeakMap<JSONSchemaProps, Plan> }>();
function planOf(s: JSONSchemaProps | undefined, ctx: SchemaContext): Plan {
  let c = plans.get(ctx);
  if (!c) plans.set(ctx, (c = { none: { r: undefined, atomic: false, props: new Map() }, by: new WeakMap() }));
  if (!s) return c.none;
  let p = c.by.get(s);
  if (!p) {
    const r = resolve(s, ctx);
    p = r ? { r, atomic: r['x-kubernetes-map-type'] === 'atomic', props: new Map() } : c.none;
    c.by.set(s, p);
  }
  return p;
}
function propPlan(p: Plan, k: string, ctx: SchemaContext): { tok: string; plan: Plan } {
  const hit = p.props.get(k);
  if (hit) return hit;
  const child = { tok: `f:${k}`, plan: planOf(propertySchema(p.r, k, ctx), ctx) };
  // Only declared properties are kept: the keys of a free map (labels, data) are the users'.
  if (p.r?.properties && k in p.r.properties) p.props.set(k, child);
  return child;
}
function listPlan(p: Plan, ctx: SchemaContext): { sem: ListSemantics; item: Plan } {
  p.list ??= { sem: listSemantics(p.r, ctx), item: planOf(itemSchema(p.r, ctx), ctx) };
  return p.list;
}

/** toFieldsV1(leaves(obj).keys()) built in one walk: what an Update that creates `obj` owns. The
 *  create path runs it on every write (a profile of 10 000 pod creates had the two-step form,
 *  which serialises every leaf value and joins and splits every path, at 6.7 % of the API thread). */
export function fieldsV1Of(
  obj: unknown,
  schema: JSONSchemaProps | undefined,
  ctx: SchemaContext,
  skipTop: Set<string> = new Set(['apiVersion', 'kind']),
): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const path: string[] = [];
  // nodes[i]: the node at path[0..i), once made (a subtree without leaves leaves no trace, as in
  // leaves()); push/pop keep it as long as path plus one.
  const nodes: (Record<string, unknown> | undefined)[] = [root];
  const push = (tok: string) => {
    path.push(tok);
    nodes.push(undefined);
  };
  const pop = () => {
    path.pop();
    nodes.pop();
  };
  const touch = (): Record<string, unknown> => {
    let i = path.length;
    while (nodes[i] === undefined) i--;
    let cur = nodes[i]!;
    for (; i < path.length; i++) {
      let n = cur[path[i]];
      if (!isObject(n)) cur[path[i]] = n = {};
      cur = n as Record<string, unknown>;
      nodes[i + 1] = cur;
    }
    return cur;
  };
  const walk = (v: unknown, p: Plan, top: boolean) => {
    if (v === null && !ctx.structural) return;
    if (isObject(v) && !p.atomic) {
      let any = false;
      for (const k in v) {
        // A free map (labels, data, limits) that the create brings is itself a member of the set,
        // as upstream's comparison with the empty object makes it (`f:data: {.: {}, f:k: {}}`).
        if (!any && path.length && p.r?.additionalProperties && !p.r.properties) touch()['.'] = {};
        any = true;
        if (top && skipTop.has(k)) continue;
        if (path.length === 1 && path[0] === 'f:metadata' && IGNORED_META.has(k)) continue;
        const c = propPlan(p, k, ctx);
        push(c.tok);
        walk(v[k], c.plan, false);
        pop();
      }
      if (any) return;
    }
    if (Array.isArray(v) && v.length > 0) {
      const { sem, item } = listPlan(p, ctx);
      if (sem.type === 'map' && sem.keys.length) {
        for (const it of v) {
          push(`k:${itemKey(it, sem.keys, sem.defaults)}`);
          const n = touch();
          if (!('.' in n)) n['.'] = {};
          walk(it, item, false);
          pop();
        }
        return;
      }
      if (sem.type === 'set') {
        for (const it of v) {
          push(`v:${JSON.stringify(it)}`);
          touch();
          pop();
        }
        return;
      }
    }
    if (path.length) touch();
  };
  walk(obj, planOf(schema, ctx), true);
  return root;
}

/** FieldsV1 JSON from a set of path keys; a member with members below it is marked `.`. */
export function toFieldsV1(paths: Iterable<string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const members: Record<string, unknown>[] = [];
  for (const k of paths) {
    let cur = root;
    const p = keyPath(k);
    for (const tok of p) {
      if (!isObject(cur[tok])) cur[tok] = {};
      cur = cur[tok] as Record<string, unknown>;
    }
    if (p.length && p[p.length - 1].startsWith('k:')) cur['.'] = {};
    else if (p.length) members.push(cur);
  }
  for (const n of members) if (Object.keys(n).some((t) => t !== '.')) n['.'] = {};
  return root;
}

/** The free maps (labels, data, limits) above the `changed` leaves that `before` did not have:
 *  what upstream's comparison adds as members (`.`) besides their entries. */
export function newMaps(
  changed: string[],
  before: Map<string, string>,
  schema: JSONSchemaProps | undefined,
  ctx: SchemaContext,
): string[] {
  const out = new Set<string>();
  const had = { set: undefined as Set<string> | undefined };
  for (const k of changed) {
    const toks = keyPath(k);
    let p = planOf(schema, ctx);
    for (let i = 0; i < toks.length - 1; i++) {
      const t = toks[i];
      if (t.startsWith('f:')) p = propPlan(p, t.slice(2), ctx).plan;
      else if (t.startsWith('k:')) p = listPlan(p, ctx).item;
      else break;
      if (!p.r?.additionalProperties || p.r.properties || p.atomic) continue;
      const at = toks.slice(0, i + 1).join(SEP);
      if (!stillOwned(at, before, had)) out.add(at);
    }
  }
  return [...out];
}

/** Whether `k` stays in a manager's set over the object's leaves `a`: a leaf still there, or a
 *  member above leaves still there (a map the manager brought). `parents` is filled on first use. */
export function stillOwned(k: string, a: Map<string, string>, parents: { set?: Set<string> }): boolean {
  if (a.has(k)) return true;
  if (!parents.set) {
    parents.set = new Set();
    for (const leaf of a.keys())
      for (let i = leaf.indexOf(SEP); i > 0; i = leaf.indexOf(SEP, i + 1)) parents.set.add(leaf.slice(0, i));
  }
  return parents.set.has(k);
}

export function fromFieldsV1(f: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (o: unknown, p: Path) => {
    if (!isObject(o)) return;
    const keys = Object.keys(o);
    if (keys.includes('.')) out.add(pathKey(p));
    const children = keys.filter((k) => k !== '.');
    if (children.length === 0 && p.length && !keys.includes('.')) out.add(pathKey(p));
    for (const k of children) walk(o[k], [...p, k]);
  };
  walk(f, []);
  return out;
}

/** Upstream's conflict path spelling: `.spec.containers[name="nginx"].image`. */
export function displayPath(k: string): string {
  return keyPath(k)
    .map((t) => {
      if (t.startsWith('f:')) return `.${t.slice(2)}`;
      if (t.startsWith('k:')) {
        const o = JSON.parse(t.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(o)
          .map(([a, b]) => `${a}=${JSON.stringify(b)}`)
          .join(',')}]`;
      }
      if (t.startsWith('v:')) return `[=${t.slice(2)}]`;
      return `[${t.slice(2)}]`;
    })
    .join('');
}

/** Removes the field at path from obj (list-map items by key, set members by value). */
export function removePath(obj: unknown, p: Path): void {
  if (p.length === 0) return;
  let cur: unknown = obj;
  for (let i = 0; i < p.length; i++) {
    const tok = p[i],
      last = i === p.length - 1;
    if (tok.startsWith('f:')) {
      if (!isObject(cur)) return;
      const k = tok.slice(2);
      if (last) {
        delete cur[k];
        return;
      }
      cur = cur[k];
    } else if (tok.startsWith('k:') || tok.startsWith('v:')) {
      if (!Array.isArray(cur)) return;
      const want = JSON.parse(tok.slice(2)) as unknown;
      const idx = tok.startsWith('v:')
        ? cur.findIndex((e) => JSON.stringify(e) === JSON.stringify(want))
        : cur.findIndex((e) => itemKey(e, Object.keys(want as object)) === JSON.stringify(want));
      if (idx < 0) return;
      if (last) {
        cur.splice(idx, 1);
        return;
      }
      cur = cur[idx];
    } else return;
  }
}
