// The object pipeline shared by create, update, patch and apply: decoding checks, field
// validation (Strict/Warn/Ignore) and pruning, defaulting, validation, system metadata, the
// namespace-exists check, and the store write with optimistic concurrency and dry-run.
import { isSkiffError } from '../../common/index.js';
import type { FieldError, KubeObject, ResourceDefinition } from '../api/index.js';
import type { KeyValue } from '../storage/index.js';
import type { ApiContext, RequestScope } from './context.js';
import { dropEmptyMeta, validateMeta } from './meta.js';
import { gvString } from './registry.js';
import { unknownFields, validateSchema, type SchemaContext } from './schema.js';
import { ApiError, errBadRequest, errConflict, errForbidden, errInvalid, errNotFound } from './status.js';

const schemaCtxCache = new WeakMap<ResourceDefinition, SchemaContext>();
export function schemaCtx(def: ResourceDefinition): SchemaContext {
  let c = schemaCtxCache.get(def);
  if (!c) {
    c = { defs: def.definitions ?? {}, structural: Boolean((def as { crd?: boolean }).crd) };
    schemaCtxCache.set(def, c);
  }
  return c;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function dryRun(r: RequestScope): boolean {
  const v = r.query.getAll('dryRun');
  for (const x of v) if (x !== 'All') throw errBadRequest(`dryRun: Unsupported value: "${x}": supported values: "All"`);
  return v.length > 0;
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export function fieldValidation(r: RequestScope): FieldValidation {
  const v = r.query.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw errBadRequest(`fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`);
}

/** Checks the decoded body is an object of the endpoint's kind; fills apiVersion/kind/metadata. */
export function checkBody(
  r: RequestScope,
  body: unknown,
  def = r.def,
  gv = gvString(def.group, def.version),
): KubeObject {
  if (!isObject(body))
    throw errBadRequest(
      `the body of the request must be a ${def.kind} object, got ${Array.isArray(body) ? 'an array' : typeof body}`,
    );
  if (body.apiVersion !== undefined && body.apiVersion !== gv) {
    throw errBadRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${gv})`,
    );
  }
  if (body.kind !== undefined && body.kind !== def.kind) {
    throw errBadRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${def.kind})`);
  }
  if (body.metadata !== undefined && !isObject(body.metadata)) throw errBadRequest('metadata: expected an object');
  const obj = {
    ...body,
    apiVersion: gv,
    kind: def.kind,
    metadata: { ...((body.metadata as object) ?? {}) },
  } as KubeObject;
  checkMetaTypes(obj.metadata as Record<string, unknown>, def.kind);
  return obj;
}

/** Unknown fields: Strict → 400, Warn → Warning headers; pruned in every mode (as decoding does). */
export function checkFields(r: RequestScope, obj: KubeObject, def = r.def, mode = fieldValidation(r)): void {
  const unknown = unknownFields(obj, def.schema, schemaCtx(def), mode !== 'Strict');
  if (unknown.length === 0) return;
  if (mode === 'Strict')
    throw errBadRequest(`strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`);
  if (mode === 'Warn') for (const u of unknown) r.warnings.push(`unknown field "${u}"`);
}

/** Go's omitempty on metadata, then the kind's defaulting (idempotent for every kind). */
export function defaultObject(obj: KubeObject, def: ResourceDefinition): void {
  dropEmptyMeta(obj);
  def.defaults?.(obj);
}

/** Defaulting, then metadata + schema + kind validation. */
export function admitObject(r: RequestScope, obj: KubeObject, old?: KubeObject, def = r.def): void {
  defaultObject(obj, def);
  const errs = validationErrors(obj, old, def);
  if (errs.length)
    throw errInvalid(
      { ...r.target, kind: def.kind, group: def.group, name: obj.metadata.name ?? obj.metadata.generateName },
      errs,
    );
}

/** Every validation error at once, as upstream reports them: metadata, the kind's own validation
 *  (and its update rules), and the schema's findings the kind did not report itself. Only values
 *  of the wrong type stop there (upstream fails those while decoding, before any validation; the
 *  kinds' validators may assume the schema's types). */
export function validationErrors(obj: KubeObject, old: KubeObject | undefined, def: ResourceDefinition): FieldError[] {
  const errs: FieldError[] = [...validateMeta(obj, def)];
  const { metadata: _m, ...rest } = obj;
  const schemaErrs = validateSchema(rest, def.schema, schemaCtx(def)).filter((e) => !e.field.startsWith('metadata'));
  if (schemaErrs.some((e) => e.type === 'FieldValueTypeInvalid')) return [...errs, ...schemaErrs];
  const own = [...(def.validate?.(obj) ?? []), ...((old && def.validateUpdate?.(obj, old)) ?? [])];
  const said = new Set(own.map((e) => `${e.type} ${e.field}`));
  errs.push(...own, ...schemaErrs.filter((e) => !said.has(`${e.type} ${e.field}`)));
  // (one message once, as upstream's aggregate does)
  const seen = new Set<string>();
  return errs.filter((e) => {
    const k = `${e.field}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export async function readObject(
  ctx: ApiContext,
  def: ResourceDefinition,
  ns: string | undefined,
  name: string,
): Promise<{ obj: KubeObject; kv: KeyValue } | undefined> {
  const key = ctx.registry.key(def, ns, name);
  const kv = await ctx.store.get(key);
  if (!kv) return undefined;
  return { obj: await ctx.registry.decode(def, kv), kv };
}

export async function mustRead(
  r: RequestScope,
  ns = r.info.namespace,
  name = r.info.name!,
): Promise<{ obj: KubeObject; kv: KeyValue }> {
  const got = await readObject(r.ctx, r.def, ns, name);
  if (!got) throw errNotFound(r.target);
  return got;
}

/** Namespaced objects need their namespace to exist and not be terminating. */
export async function checkNamespace(r: RequestScope, ns: string): Promise<void> {
  const nsDef = r.ctx.registry.lookup('', 'v1', 'namespaces');
  if (!nsDef) return;
  let state = r.ctx.namespaces?.get(ns);
  if (!state) {
    const got = await readObject(r.ctx, nsDef, undefined, ns);
    if (!got) throw errNotFound({ resource: 'namespaces', name: ns });
    state = got.obj.metadata.deletionTimestamp ? 'Terminating' : 'Active';
  }
  if (state === 'Terminating') {
    const e = errForbidden(
      `${r.target.resource}${r.def.group ? '.' + r.def.group : ''} "${r.target.name ?? ''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      r.target,
    );
    e.details!.causes = [
      { reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' },
    ];
    throw e;
  }
}

export async function storeCreate(r: RequestScope, obj: KubeObject, def = r.def): Promise<KubeObject> {
  const key = r.ctx.registry.key(def, obj.metadata.namespace, obj.metadata.name!);
  if (dryRun(r)) {
    if (await r.ctx.store.get(key)) throw mapStoreError(r, { code: 'AlreadyExists' }, obj.metadata.name);
    return obj;
  }
  try {
    const kv = await r.ctx.store.create(key, await r.ctx.registry.encode(def, key, obj));
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(kv.modRevision) } };
  } catch (e) {
    throw mapStoreError(r, e, obj.metadata.name);
  }
}

export async function storeUpdate(
  r: RequestScope,
  obj: KubeObject,
  expected: number,
  def = r.def,
): Promise<KubeObject> {
  const key = r.ctx.registry.key(def, obj.metadata.namespace, obj.metadata.name!);
  if (dryRun(r)) return obj;
  try {
    const kv = await r.ctx.store.update(key, await r.ctx.registry.encode(def, key, obj), expected);
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(kv.modRevision) } };
  } catch (e) {
    throw mapStoreError(r, e, obj.metadata.name);
  }
}

export async function storeDelete(
  r: RequestScope,
  obj: KubeObject,
  expected: number,
  def = r.def,
): Promise<KeyValue | undefined> {
  const key = r.ctx.registry.key(def, obj.metadata.namespace, obj.metadata.name!);
  if (dryRun(r)) return undefined;
  try {
    return await r.ctx.store.delete(key, expected);
  } catch (e) {
    throw mapStoreError(r, e, obj.metadata.name);
  }
}

export function mapStoreError(r: RequestScope, e: unknown, name?: string): unknown {
  const code = isSkiffError(e) ? e.code : (e as { code?: string }).code;
  const t = { ...r.target, name: name ?? r.target.name };
  if (code === 'AlreadyExists')
    return new ApiError(
      409,
      'AlreadyExists',
      `${t.group ? `${t.resource}.${t.group}` : t.resource} "${t.name}" already exists`,
      { name: t.name, group: t.group, kind: t.resource },
    );
  if (code === 'Conflict') return errConflict(t);
  if (code === 'NotFound') return errNotFound(t);
  return e;
}

/** Everything but metadata and status, for "did the spec change" (generation) checks. */
export function specPart(obj: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

/** Drops a caller-supplied resourceVersion on create (upstream refuses it). */
export function refuseResourceVersion(obj: KubeObject): void {
  if (obj.metadata.resourceVersion) throw errBadRequest('resourceVersion should not be set on objects to be created');
}

const META_STRINGS = [
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'selfLink',
];

/** Type errors in metadata are decode errors upstream (400), reported in Go's words. */
function checkMetaTypes(m: Record<string, unknown>, kind: string): void {
  const bad = (field: string, want: string, got: unknown) =>
    errBadRequest(
      `json: cannot unmarshal ${got === null ? 'null' : Array.isArray(got) ? 'array' : typeof got} into Go struct field ObjectMeta.metadata.${field} of type ${want} (in ${kind})`,
    );
  for (const f of META_STRINGS)
    if (m[f] !== undefined && m[f] !== null && typeof m[f] !== 'string') throw bad(f, 'string', m[f]);
  for (const f of ['labels', 'annotations']) {
    const v = m[f];
    if (v === undefined || v === null) continue;
    if (!isObject(v)) throw bad(f, 'map[string]string', v);
    for (const x of Object.values(v)) if (typeof x !== 'string') throw bad(f, 'string', x);
  }
  for (const f of ['finalizers', 'ownerReferences', 'managedFields']) {
    const v = m[f];
    if (v !== undefined && v !== null && !Array.isArray(v))
      throw bad(
        f,
        f === 'finalizers' ? '[]string' : `[]v1.${f === 'ownerReferences' ? 'OwnerReference' : 'ManagedFieldsEntry'}`,
        v,
      );
  }
  if (Array.isArray(m.finalizers) && m.finalizers.some((x) => typeof x !== 'string'))
    throw bad(
      'finalizers',
      'string',
      m.finalizers.find((x) => typeof x !== 'string'),
    );
  if (m.generation !== undefined && m.generation !== null && typeof m.generation !== 'number')
    throw bad('generation', 'int64', m.generation);
}
