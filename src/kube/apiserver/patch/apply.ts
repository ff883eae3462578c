// Server-side apply (application/apply-patch+yaml) and managedFields bookkeeping for Update
// operations. Ownership is tracked per (manager, operation, subresource) as FieldsV1 sets:
// - Update: the fields an update changed move to its manager; removed fields leave every set.
// - Apply: fields the applier sets that another manager owns with a different value conflict
//   (409 with causes) unless force=true, which takes them over; fields the applier set last time
//   and no longer sets are removed when nobody else owns them; the config is merged into the live
//   object by the schema's list semantics (map lists by keys, sets by value, atomic replaced).
import type { KubeObject, ManagedFieldsEntry, ResourceDefinition } from '../../api/index.js';
import { nowRFC3339 } from '../meta.js';
import { itemSchema, listSemantics, propertySchema, resolve, type SchemaContext } from '../schema.js';
import { ApiError } from '../status.js';
import {
  displayPath,
  fieldsV1Of,
  stillOwned,
  newMaps,
  fromFieldsV1,
  itemKey,
  keyPath,
  leaves,
  pathKey,
  removePath,
  toFieldsV1,
} from './fieldset.js';
import type { JSONSchemaProps } from '../../api/index.js';
import { isObject } from '../../../common/index.js';

interface Entry {
  meta: ManagedFieldsEntry;
  set: Set<string>;
}

function entriesOf(obj: KubeObject | undefined): Entry[] {
  return (obj?.metadata.managedFields ?? [])
    .filter(isObject)
    .map((m) => ({ meta: { ...m }, set: fromFieldsV1(m.fieldsV1) }));
}
const same = (a: ManagedFieldsEntry, manager: string, op: string, sub?: string) =>
  a.manager === manager && a.operation === op && (a.subresource ?? '') === (sub ?? '');

function store(obj: KubeObject, entries: Entry[]): void {
  const out = entries
    .filter((e) => e.set.size > 0)
    .map((e) => {
      const m: ManagedFieldsEntry = {
        manager: e.meta.manager,
        operation: e.meta.operation,
        apiVersion: e.meta.apiVersion,
        time: e.meta.time,
        fieldsType: 'FieldsV1',
        fieldsV1: toFieldsV1(e.set),
      };
      if (e.meta.subresource) m.subresource = e.meta.subresource;
      return m;
    });
  if (out.length) obj.metadata.managedFields = out;
  else delete obj.metadata.managedFields;
}

export interface ManagerInfo {
  manager: string;
  apiVersion: string;
  subresource?: string;
  /** The object as another served version sees it (a version with a conversion, e.g. an
   *  autoscaling/v1 HPA beside v2): a manager's fields are in the version it wrote with, so they are
   *  compared in that version (upstream's field manager converts the object for each manager). */
  viewIn?: (apiVersion: string) => VersionView | undefined;
}

export interface VersionView {
  leaves(obj: KubeObject): Map<string, string>;
}

/** Leaves of the object in each entry's own version (memoized per version); the request's
 *  version uses `own`. */
function leavesByVersion(mi: ManagerInfo, obj: KubeObject | undefined, own: Map<string, string>) {
  const memo = new Map<string, Map<string, string>>();
  return (apiVersion: string | undefined): Map<string, string> => {
    if (!apiVersion || apiVersion === mi.apiVersion || !mi.viewIn) return own;
    let m = memo.get(apiVersion);
    if (!m) {
      const view = mi.viewIn(apiVersion);
      m = view && obj ? view.leaves(obj) : view ? new Map() : own;
      memo.set(apiVersion, m);
    }
    return m;
  };
}

const SKIP_STATUS = new Set(['apiVersion', 'kind', 'status']);

/** Records an Update operation by `mi.manager` that turned `old` into `next` (in place on next). */
export function recordUpdate(
  def: ResourceDefinition,
  ctx: SchemaContext,
  old: KubeObject | undefined,
  next: KubeObject,
  mi: ManagerInfo,
): boolean {
  const supplied = next.metadata.managedFields;
  if (old === undefined && supplied === undefined) {
    // A create: the manager owns every field of the new object, in one walk; on a kind with a
    // status subresource the main resource's writes own no status (upstream's reset fields).
    const fieldsV1 = fieldsV1Of(
      next,
      def.schema,
      ctx,
      def.subresources?.status && !mi.subresource ? SKIP_STATUS : undefined,
    );
    if (Object.keys(fieldsV1).length === 0) {
      delete next.metadata.managedFields;
      return false;
    }
    const m: ManagedFieldsEntry = {
      manager: mi.manager,
      operation: 'Update',
      apiVersion: mi.apiVersion,
      time: nowRFC3339(),
      fieldsType: 'FieldsV1',
      fieldsV1,
    };
    if (mi.subresource) m.subresource = mi.subresource;
    next.metadata.managedFields = [m];
    return false;
  }
  const base =
    supplied !== undefined && JSON.stringify(supplied) !== JSON.stringify(old?.metadata.managedFields) ? next : old;
  const entries = entriesOf(base);
  const before = leaves(old ?? {}, def.schema, ctx);
  const after = leaves(next, def.schema, ctx);
  const changed = [...after].filter(([k, v]) => before.get(k) !== v).map(([k]) => k);
  const beforeIn = leavesByVersion(mi, old, before);
  const afterIn = leavesByVersion(mi, next, after);
  for (const e of entries) {
    // (an entry of another version: what changed as that version sees it)
    const [b, a] = [beforeIn(e.meta.apiVersion), afterIn(e.meta.apiVersion)];
    const changedHere = a === after ? changed : [...a].filter(([k, v]) => b.get(k) !== v).map(([k]) => k);
    if (!same(e.meta, mi.manager, 'Update', mi.subresource)) for (const k of changedHere) e.set.delete(k);
    {
      const parents = {};
      for (const k of [...e.set]) if (!stillOwned(k, a, parents)) e.set.delete(k);
    }
  }
  if (changed.length) {
    let mine = entries.find((e) => same(e.meta, mi.manager, 'Update', mi.subresource));
    if (!mine) {
      mine = {
        meta: { manager: mi.manager, operation: 'Update', apiVersion: mi.apiVersion, subresource: mi.subresource },
        set: new Set(),
      };
      entries.push(mine);
    }
    for (const k of changed) mine.set.add(k);
    // A free map this update brings (labels on an object that had none) is a member too.
    for (const m of newMaps(changed, before, def.schema, ctx)) mine.set.add(m);
    mine.meta.time = nowRFC3339();
    mine.meta.apiVersion = mi.apiVersion;
  }
  store(next, entries);
  return changed.some((k) => surelyDiffers(k, before.get(k), after.get(k)));
}

/** Whether a changed leaf proves the two documents differ whatever their key order: a path of
 *  fields only (no list keys or set members, whose tokens hold JSON of objects) whose new value is
 *  a scalar and whose old one is a different scalar or absent. (A leaf holding an atomic map's or
 *  a list's JSON may differ by key order alone.) */
function surelyDiffers(key: string, was: string | undefined, now: string | undefined): boolean {
  if (now === undefined || now === was || now[0] === '{' || now[0] === '[') return false;
  if (was !== undefined && (was[0] === '{' || was[0] === '[')) return false;
  return keyPath(key).every((t) => t.startsWith('f:'));
}

/** Merges an applied configuration into `live` (a copy), with conflicts and removals. */
export function serverSideApply(
  def: ResourceDefinition,
  ctx: SchemaContext,
  live: KubeObject | undefined,
  applied: KubeObject,
  mi: ManagerInfo,
  force: boolean,
): KubeObject {
  const A = leaves(applied, def.schema, ctx);
  const L = leaves(live ?? {}, def.schema, ctx);
  const entries = entriesOf(live);
  const conflicts: { manager: Entry; path: string }[] = [];
  const others = entries.filter((e) => !same(e.meta, mi.manager, 'Apply', mi.subresource));
  const sameVersion = (e: Entry) => !mi.viewIn || !e.meta.apiVersion || e.meta.apiVersion === mi.apiVersion;
  for (const [k, v] of A) {
    if (v === '.' || !L.has(k) || L.get(k) === v) continue;
    for (const e of others) if (sameVersion(e) && e.set.has(k)) conflicts.push({ manager: e, path: k });
  }
  // Managers of other versions: the fields the merged result changes as their version sees it.
  const foreign = others.filter((e) => !sameVersion(e));
  if (foreign.length && live) {
    const trial = structuredClone(live);
    mergeApplied(trial, applied, def.schema, ctx);
    const liveIn = leavesByVersion(mi, live, L);
    const trialIn = leavesByVersion(mi, trial, L);
    for (const e of foreign) {
      const [b, a] = [liveIn(e.meta.apiVersion), trialIn(e.meta.apiVersion)];
      for (const k of e.set) if (b.has(k) && a.has(k) && b.get(k) !== a.get(k)) conflicts.push({ manager: e, path: k });
    }
  }
  if (conflicts.length && !force) throw conflictError(conflicts);
  for (const c of conflicts) c.manager.set.delete(c.path);

  const result = structuredClone(live ?? { metadata: {} }) as KubeObject;
  let mine = entries.find((e) => same(e.meta, mi.manager, 'Apply', mi.subresource));
  const previously = mine ? [...mine.set] : [];
  const stale = previously.filter((k) => !A.has(k) && !entries.some((e) => e !== mine && e.set.has(k)));
  // Shallowest first: a list item goes as a whole before its fields (which also carry its key).
  stale.sort((a, b) => keyPath(a).length - keyPath(b).length).forEach((k) => removePath(result, keyPath(k)));
  mergeApplied(result, applied, def.schema, ctx);
  if (!mine) {
    mine = {
      meta: { manager: mi.manager, operation: 'Apply', apiVersion: mi.apiVersion, subresource: mi.subresource },
      set: new Set(),
    };
    entries.push(mine);
  }
  mine.set = new Set(A.keys());
  mine.meta.time = nowRFC3339();
  mine.meta.apiVersion = mi.apiVersion;
  // Fields that were removed from the object leave every set (each set in its own version).
  const after = leaves(result, def.schema, ctx);
  const afterIn = leavesByVersion(mi, result, after);
  for (const e of entries) {
    const a = afterIn(e.meta.apiVersion);
    {
      const parents = {};
      for (const k of [...e.set]) if (!stillOwned(k, a, parents)) e.set.delete(k);
    }
  }
  store(result, entries);
  return result;
}

function conflictError(conflicts: { manager: Entry; path: string }[]): ApiError {
  const who = (e: Entry) =>
    // (structured-merge-diff names the subresource an entry was written through)
    `conflict with "${e.meta.manager}"${e.meta.subresource ? ` with subresource "${e.meta.subresource}"` : ''} using ${e.meta.apiVersion ?? 'v1'}`;
  const byManager = new Map<Entry, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), displayPath(c.path)]);
  const n = conflicts.length;
  const lines = [...byManager].map(([e, ps]) =>
    ps.length === 1
      ? `${who(e)}: ${ps[0]}`
      : `${who(e).replace('conflict', 'conflicts')}:\n${ps.map((p) => `- ${p}`).join('\n')}`,
  );
  return new ApiError(409, 'Conflict', `Apply failed with ${n} conflict${n > 1 ? 's' : ''}: ${lines.join('\n')}`, {
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: who(c.manager),
      field: displayPath(c.path),
    })),
  });
}

/** Deep merge by the schema's list semantics (apply's merge; patch/strategic.ts has SMP's). */
export function mergeApplied(
  live: Record<string, unknown>,
  applied: Record<string, unknown>,
  s: JSONSchemaProps | undefined,
  ctx: SchemaContext,
): void {
  const r = resolve(s, ctx);
  for (const [k, av] of Object.entries(applied)) {
    const ps = propertySchema(r, k, ctx);
    const lv = live[k];
    if (isObject(av) && isObject(lv) && resolve(ps, ctx)?.['x-kubernetes-map-type'] !== 'atomic') {
      mergeApplied(lv, av, ps, ctx);
      continue;
    }
    if (Array.isArray(av) && Array.isArray(lv)) {
      const sem = listSemantics(ps, ctx);
      if (sem.type === 'map' && sem.keys.length) {
        const is = itemSchema(ps, ctx);
        const out = [...lv];
        for (const item of av) {
          const idx = out.findIndex(
            (x) => itemKey(x, sem.keys, sem.defaults) === itemKey(item, sem.keys, sem.defaults),
          );
          if (idx >= 0 && isObject(out[idx]) && isObject(item)) {
            const c = structuredClone(out[idx]) as Record<string, unknown>;
            mergeApplied(c, item, is, ctx);
            out[idx] = c;
          } else out.push(structuredClone(item));
        }
        live[k] = out;
        continue;
      }
      if (sem.type === 'set') {
        const seen = new Set(lv.map((x) => JSON.stringify(x)));
        live[k] = [...lv, ...av.filter((x) => !seen.has(JSON.stringify(x)))];
        continue;
      }
    }
    live[k] = structuredClone(av);
  }
}

export { pathKey };
