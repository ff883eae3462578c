// What the handlers and the write pipeline share about one request: the body's checks (kind,
// apiVersion, metadata types, unknown fields under fieldValidation Strict/Warn/Ignore, pruning),
// dryRun, reads of stored objects, and the store writes with optimistic concurrency and dry-run
// (errors mapped to upstream's Status reasons once, here). The ordered steps of a write are in
// pipeline/.
import { isSkiffError, isObject } from '../../common/index.js';
import type { FieldError, KubeObject, ResourceDefinition } from '../api/index.js';
import type { KeyValue } from '../storage/index.js';
import type { ApiContext, OperationScope } from './context.js';
import { dropEmptyMeta, validateMeta } from './meta.js';
import { gvString } from './registry.js';
import { wrongKind } from './decode-errors.js';
import { unknownFields, validateSchema, type SchemaContext } from './schema.js';
import {
  ApiError,
  errBadRequest,
  errConflict,
  errForbidden,
  errInvalid,
  errInvalidOptions,
  errNotFound,
  optionsKind,
} from './status.js';

const schemaCtxCache = new WeakMap<ResourceDefinition, SchemaContext>();
export function schemaCtx(def: ResourceDefinition): SchemaContext {
  let c = schemaCtxCache.get(def);
  if (!c) {
    c = { defs: def.definitions ?? {}, structural: Boolean(def.custom) };
    schemaCtxCache.set(def, c);
  }
  return c;
}

export { isObject };

export function dryRun(r: OperationScope): boolean {
  const v = r.query.getAll('dryRun');
  if (v.some((x) => x !== 'All'))
    throw errInvalidOptions(optionsKind(r.info.verb), {
      type: 'FieldValueNotSupported',
      field: 'dryRun',
      message: `Unsupported value: []string{${v.map((x) => JSON.stringify(x)).join(', ')}}: supported values: "All"`,
    });
  return v.length > 0;
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export function fieldValidation(r: OperationScope): FieldValidation {
  const v = r.query.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw errInvalidOptions(optionsKind(r.info.verb), {
    type: 'FieldValueNotSupported',
    field: 'fieldValidation',
    message: `Unsupported value: ${JSON.stringify(v)}: supported values: "", "Ignore", "Strict", "Warn"`,
  });
}

/** Checks the decoded body is an object of the endpoint's kind; fills apiVersion/kind/metadata. */
export function checkBody(
  r: OperationScope,
  body: unknown,
  def = r.def,
  gv = gvString(def.group, def.version),
): KubeObject {
  if (!isObject(body))
    throw errBadRequest(
      `the body of the request must be a ${def.kind} object, got ${Array.isArray(body) ? 'an array' : typeof body}`,
    );
  // Another kind or version is what upstream's decoder refuses, in its words (built-in kinds).
  const otherVersion = body.apiVersion !== undefined && body.apiVersion !== gv;
  const otherKind = body.kind !== undefined && body.kind !== def.kind;
  if (
    (otherVersion || otherKind) &&
    !def.custom &&
    typeof body.apiVersion === 'string' &&
    typeof body.kind === 'string'
  )
    throw wrongKind(def, body.apiVersion, body.kind);
  if (otherVersion) {
    throw errBadRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${gv})`,
    );
  }
  if (otherKind) {
    throw errBadRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${def.kind})`);
  }
  if (body.metadata !== undefined && !isObject(body.metadata)) throw errBadRequest('metadata: expected an object');
  const obj = {
    ...body,
    apiVersion: gv,
    kind: def.kind,
    metadata: { ...((body.metadata as object) ?? {}) },
  } as KubeObject;
  checkMetaTypes(obj.metadata as Record<string, unknown>, def.kind, def.version);
  return obj;
}

/** Unknown fields: Strict → 400, Warn → Warning headers; pruned in every mode (as decoding does). */
export function checkFields(r: OperationScope, obj: KubeObject, def = r.def, mode = fieldValidation(r)): void {
  const unknown = unknownFields(obj, def.schema, schemaCtx(def), mode !== 'Strict');
  if (unknown.length === 0) return;
  // A POST or PUT body fails while decoding, in the decoder's words; a patch's result is checked
  // after the patch (upstream's words have no decoder prefix there).
  const decoding = !def.custom && (r.info.verb === 'create' || r.info.verb === 'update');
  const prefix = decoding ? `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ` : '';
  if (mode === 'Strict')
    throw errBadRequest(`${prefix}strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`);
  if (mode === 'Warn') for (const u of unknown) r.warnings.push(`unknown field "${u}"`);
}

/** `shared`: the registry's shared decode (Registry.decodeShared), which the caller must not mutate. */
export async function readObject(
  ctx: ApiContext,
  def: ResourceDefinition,
  ns: string | undefined,
  name: string,
  shared = false,
): Promise<{ obj: KubeObject; kv: KeyValue } | undefined> {
  const key = ctx.registry.key(def, ns, name);
  const kv = await ctx.store.get(key);
  if (!kv) return undefined;
  return { obj: await (shared ? ctx.registry.decodeShared(def, kv) : ctx.registry.decode(def, kv)), kv };
}

export async function mustRead(
  r: OperationScope,
  ns = r.info.namespace,
  name = r.info.name!,
  shared = false,
): Promise<{ obj: KubeObject; kv: KeyValue }> {
  const got = await readObject(r.ctx, r.def, ns, name, shared);
  if (!got) throw errNotFound(r.target);
  return got;
}

/** The stored object as the base of an update, without a quorum read, when the store has a
 *  recent copy (Store.getRecent): with `pinned` (the request's resourceVersion) only a copy at
 *  exactly that revision, else any. undefined: none (read afresh). Such a base may be stale: the
 *  write guarded by its revision then fails with Conflict (the caller retries with a fresh read,
 *  or answers 409 when the request pinned a revision), and a no-op is checked against the store
 *  (pipeline/update.ts, `recent`). Saves the read before each write (etcd 3.4 queues a quorum read
 *  behind the writes in flight, which halves the write rate of a read-then-write API server). */
export async function readRecent(
  r: OperationScope,
  pinned: unknown,
  shared = false,
): Promise<{ obj: KubeObject; kv: KeyValue; recent: true } | undefined> {
  if (!r.ctx.store.getRecent) return undefined;
  const kv = await r.ctx.store.getRecent(r.ctx.registry.key(r.def, r.info.namespace, r.info.name!));
  if (!kv || (pinned !== undefined && pinned !== '' && String(kv.modRevision) !== pinned)) return undefined;
  const obj = await (shared ? r.ctx.registry.decodeShared(r.def, kv) : r.ctx.registry.decode(r.def, kv));
  return { obj, kv, recent: true };
}

/** readRecent on a first attempt, else (or when it has nothing) a fresh read; NotFound when absent. */
export async function readForUpdate(
  r: OperationScope,
  pinned: unknown,
  fresh: boolean,
  shared = false,
): Promise<{ obj: KubeObject; kv: KeyValue; recent: boolean }> {
  return (
    (!fresh && (await readRecent(r, pinned, shared))) || {
      ...(await mustRead(r, r.info.namespace, r.info.name!, shared)),
      recent: false,
    }
  );
}

/** What a read returns for an object just written: a converted version's round trip through the
 *  stored version (v1 HPA: targetCPUUtilizationPercentage back from the stored metric). */
function asStored(def: ResourceDefinition, obj: KubeObject): KubeObject {
  if (!def.conversion) return obj;
  return def.conversion.fromStored(def.conversion.toStored(obj));
}

export async function storeCreate(r: OperationScope, obj: KubeObject, def = r.def): Promise<KubeObject> {
  const key = r.ctx.registry.key(def, obj.metadata.namespace, obj.metadata.name!);
  if (dryRun(r)) {
    if (await r.ctx.store.get(key)) throw mapStoreError(r, { code: 'AlreadyExists' }, obj.metadata.name);
    return obj;
  }
  try {
    const bytes = await r.ctx.registry.encode(def, key, obj);
    const done = r.shareWritten ? r.ctx.registry.expectWrite(def, key, bytes, obj) : undefined;
    let kv: KeyValue;
    try {
      kv = await r.ctx.store.create(key, bytes);
    } finally {
      done?.();
    }
    const out = asStored(def, obj);
    const created = { ...out, metadata: { ...out.metadata, resourceVersion: String(kv.modRevision) } };
    // (before the watchers, which get the event one microtask after this continuation)
    if (r.shareWritten) r.ctx.registry.remember(def, created, kv);
    return created;
  } catch (e) {
    throw mapStoreError(r, e, obj.metadata.name);
  }
}

export async function storeUpdate(
  r: OperationScope,
  obj: KubeObject,
  expected: number,
  def = r.def,
): Promise<KubeObject> {
  const key = r.ctx.registry.key(def, obj.metadata.namespace, obj.metadata.name!);
  if (dryRun(r)) return obj;
  try {
    const bytes = await r.ctx.registry.encode(def, key, obj);
    const done = r.shareWritten ? r.ctx.registry.expectWrite(def, key, bytes, obj) : undefined;
    let kv: KeyValue;
    try {
      kv = await r.ctx.store.update(key, bytes, expected);
    } finally {
      done?.();
    }
    const out = asStored(def, obj);
    const updated = { ...out, metadata: { ...out.metadata, resourceVersion: String(kv.modRevision) } };
    if (r.shareWritten) r.ctx.registry.remember(def, updated, kv);
    return updated;
  } catch (e) {
    throw mapStoreError(r, e, obj.metadata.name);
  }
}

export async function storeDelete(
  r: OperationScope,
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

export function mapStoreError(r: OperationScope, e: unknown, name?: string): unknown {
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
function checkMetaTypes(m: Record<string, unknown>, kind: string, version: string): void {
  const bad = (field: string, want: string, got: unknown) =>
    errBadRequest(
      `${kind} in version "${version}" cannot be handled as a ${kind}: json: cannot unmarshal ${got === null ? 'null' : Array.isArray(got) ? 'array' : typeof got} into Go struct field ObjectMeta.metadata.${field} of type ${want}`,
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
