// PATCH in its four flavours: JSON patch, merge patch, strategic merge patch, and server-side
// apply (which creates the object when it does not exist). Retries on a concurrent write unless
// the patch itself pins a resourceVersion, as upstream's GuaranteedUpdate does.
import { queryBool } from '../query.js';
import type { KubeObject } from '../../api/index.js';
import type { HandlerResult, RequestScope } from '../context.js';
import { decodeDocument, mediaType, readBody } from '../http.js';
import { serverSideApply } from '../patch/apply.js';
import { applyJsonPatch } from '../patch/json.js';
import { applyMergePatch } from '../patch/merge.js';
import { applyStrategicPatch } from '../patch/strategic.js';
import { checkBody, checkFields, fieldValidation, readObject, readRecent, schemaCtx } from '../rest.js';
import { ApiError, errBadRequest, errNotFound } from '../status.js';
import { createObject } from './create.js';
import { managerName, versionViews, writeUpdate } from './write.js';

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

export async function handlePatch(
  r: RequestScope,
  subresource?: 'status' | 'ephemeralcontainers',
): Promise<HandlerResult> {
  const type = mediaType(r.req);
  // Upstream answers a patch of another media type with its generic 415 (empty details).
  if (!PATCH_TYPES.includes(type)) throw new ApiError(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {});
  const body = decodeDocument(await readBody(r.req), type.includes('yaml') ? 'yaml' : 'json');
  if (type === 'application/strategic-merge-patch+json' && r.def.custom) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      'strategic merge patch is not supported for custom resources; use --type merge or json',
    );
  }
  const force = queryBool(r.query, 'force') === true;
  if (r.query.has('force') && type !== 'application/apply-patch+yaml')
    throw errBadRequest('force: Forbidden: may not be specified for non-apply patch');
  const pinned = (body as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  for (let attempt = 0; ; attempt++) {
    // The first attempt starts from the store's recent copy when it has one (rest.ts readRecent).
    const recent = attempt === 0 ? await readRecent(r, pinned) : undefined;
    const got = recent ?? (await readObject(r.ctx, r.def, r.info.namespace, r.info.name!));
    try {
      if (type === 'application/apply-patch+yaml') return await apply(r, body, got, force, subresource, !!recent);
      if (!got) throw errNotFound(r.target);
      const doc = got.obj;
      let patched: unknown;
      if (type === 'application/json-patch+json') patched = applyJsonPatch(doc, body);
      else if (type === 'application/merge-patch+json') patched = applyMergePatch(doc, body);
      else patched = applyStrategicPatch(doc, body, r.def.schema, schemaCtx(r.def));
      const next = checkBody(r, patched);
      checkFields(r, next);
      const out = await writeUpdate(r, got.obj, got.kv, next, { subresource, recent: !!recent });
      return { code: 200, body: out.obj };
    } catch (e) {
      if (
        e instanceof ApiError &&
        e.reason === 'Conflict' &&
        e.code === 409 &&
        !e.details?.causes &&
        !pinned &&
        attempt < 5
      )
        continue;
      throw e;
    }
  }
}

async function apply(
  r: RequestScope,
  body: unknown,
  got: Awaited<ReturnType<typeof readObject>>,
  force: boolean,
  subresource: 'status' | 'ephemeralcontainers' | undefined,
  recent: boolean,
): Promise<HandlerResult> {
  const manager = managerName(r, true);
  const cfg = checkBody(r, body);
  if (!(body as KubeObject).apiVersion || !(body as KubeObject).kind)
    throw errBadRequest('apply patch: apiVersion and kind must be set');
  if (cfg.metadata.name && cfg.metadata.name !== r.info.name) {
    throw errBadRequest(
      `the name of the object (${cfg.metadata.name}) does not match the name on the URL (${r.info.name})`,
    );
  }
  cfg.metadata.name = r.info.name;
  if (r.def.namespaced) cfg.metadata.namespace = r.info.namespace;
  checkFields(r, cfg, r.def, fieldValidation(r));
  delete cfg.metadata.managedFields;
  delete cfg.metadata.resourceVersion;
  const mi = { manager, apiVersion: cfg.apiVersion!, subresource, viewIn: versionViews(r) };
  const ctx = schemaCtx(r.def);
  if (!got) {
    const obj = serverSideApply(r.def, ctx, undefined, cfg, mi, force);
    const managed = obj.metadata.managedFields;
    const created = await createObjectKeepingManaged(r, obj, managed);
    return { code: 201, body: created };
  }
  const next = serverSideApply(r.def, ctx, got.obj, cfg, mi, force);
  const out = await writeUpdate(r, got.obj, got.kv, next, { subresource, skipManaged: true, recent });
  return { code: 200, body: out.obj };
}

async function createObjectKeepingManaged(
  r: RequestScope,
  obj: KubeObject,
  managed: KubeObject['metadata']['managedFields'],
): Promise<KubeObject> {
  // createObject would record an Update entry; for apply the Apply entry stands instead.
  return createObject(r, { ...obj, metadata: { ...obj.metadata, managedFields: undefined } }, managed);
}
