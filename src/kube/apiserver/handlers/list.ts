// LIST with label/field selectors, limit/continue paging (filling pages across store pages when
// selectors filter items out), resourceVersion/resourceVersionMatch, and Table output.
import { queryInt } from '../query.js';
import type { KubeObject } from '../../api/index.js';
import type { HandlerResult, RequestScope } from '../context.js';
import { buildPredicate } from '../filter.js';
import { wantsPartialMetadata, wantsTable } from '../http.js';
import { gvString } from '../registry.js';
import { parseIncludeObject, partialShapeError, toPartialMetadata, toTable } from '../table.js';
import { errBadRequest, errBadResourceVersion, errExpired, errInvalidOptions } from '../status.js';
import { isSkiffError } from '../../../common/index.js';

export interface ListOutcome {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remaining?: number;
}

export async function listObjects(r: RequestScope, namespace = r.info.namespace): Promise<ListOutcome> {
  const pred = buildPredicate(r.def, r.query);
  // A negative limit means no limit (upstream pages only when limit > 0).
  const limit = Math.max(0, r.query.get('limit') === '' ? 0 : (queryInt(r.query, 'limit') ?? 0));
  const rvRaw = r.query.get('resourceVersion') ?? '';
  const match = r.query.get('resourceVersionMatch') ?? '';
  if (match && match !== 'Exact' && match !== 'NotOlderThan')
    throw errInvalidOptions('ListOptions', {
      type: 'FieldValueNotSupported',
      field: 'resourceVersionMatch',
      message: `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan", ""`,
    });
  if (match && !rvRaw)
    throw errInvalidOptions('ListOptions', {
      type: 'FieldValueForbidden',
      field: 'resourceVersionMatch',
      message: 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    });
  if (rvRaw && !/^\d+$/.test(rvRaw)) throw errBadResourceVersion(rvRaw);
  let cont = r.query.get('continue') || undefined;
  if (cont && rvRaw && rvRaw !== '0')
    throw errBadRequest('specifying resource version is not allowed when using continue');
  let revision = match === 'Exact' ? Number(rvRaw) : undefined;

  const prefix = r.ctx.registry.prefix(r.def, namespace);
  const items: KubeObject[] = [];
  let listRev = 0,
    remaining: number | undefined;
  try {
    for (;;) {
      const want = limit ? limit - items.length : 0;
      const page = await r.ctx.store.list(prefix, { limit: want || undefined, continue: cont, revision });
      listRev = page.revision;
      revision = page.revision;
      for (const kv of page.items) {
        const o = await r.ctx.registry.decode(r.def, kv);
        if (!pred || pred(o)) items.push(o);
      }
      cont = page.continue || undefined;
      remaining = page.remaining;
      if (!cont || !limit || items.length >= limit) break;
    }
  } catch (e) {
    if (isSkiffError(e) && e.reason === 'Compacted') {
      throw errExpired(
        r.query.get('continue')
          ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'
          : `too old resource version: ${rvRaw}`,
      );
    }
    // A token that does not decode: upstream's 400 (storage's "invalid continue token").
    if (isSkiffError(e) && e.reason === 'InvalidContinue')
      throw errBadRequest(`invalid continue token: continue key is not valid: ${e.message}`);
    throw e;
  }
  return { items, resourceVersion: String(listRev), continue: cont, remaining: pred ? undefined : remaining };
}

const COMMA = Buffer.from(',');
const LIST_END = Buffer.from(']}');

/** Unfiltered JSON lists are assembled from the stored JSON bytes (no parse/serialise per item, no
 *  string of the whole list). */
async function rawList(r: RequestScope, reshaped: boolean): Promise<Buffer | undefined> {
  const rv = r.query.get('resourceVersion');
  if ((rv && rv !== '0') || buildPredicate(r.def, r.query) || reshaped || r.query.get('resourceVersionMatch'))
    return undefined;
  const limit = r.query.get('limit') === '' ? 0 : (queryInt(r.query, 'limit') ?? 0);
  if (limit < 0) return undefined;
  let page;
  try {
    page = await r.ctx.store.list(r.ctx.registry.prefix(r.def, r.info.namespace), {
      limit: limit || undefined,
      continue: r.query.get('continue') || undefined,
    });
  } catch {
    return undefined;
  } // the regular path reports the error properly
  const parts: Buffer[] = [];
  for (const kv of page.items) {
    if (parts.length) parts.push(COMMA);
    const raw = r.ctx.registry.rawBytes(r.def, kv);
    parts.push(raw ?? Buffer.from(JSON.stringify(await r.ctx.registry.decode(r.def, kv))));
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(page.revision) };
  if (page.continue) {
    metadata.continue = page.continue;
    if (page.remaining) metadata.remainingItemCount = page.remaining;
  }
  const head = `{"kind":${JSON.stringify(r.def.listKind)},"apiVersion":${JSON.stringify(gvString(r.def.group, r.def.version))},"metadata":${JSON.stringify(metadata)},"items":[`;
  return Buffer.concat([Buffer.from(head), ...parts, LIST_END]);
}

export async function handleList(r: RequestScope): Promise<HandlerResult> {
  // What the Accept header asks for, read once: a Table or metadata-only answer is no raw list.
  const tv = wantsTable(r.req);
  const partial = wantsPartialMetadata(r.req);
  const raw = await rawList(r, tv !== undefined || partial !== undefined);
  if (raw !== undefined) return { code: 200, body: raw, raw: true };
  const out = await listObjects(r);
  if (tv) {
    return {
      code: 200,
      body: toTable(r.def, out.items, {
        include: parseIncludeObject(r.query.get('includeObject')),
        version: tv,
        resourceVersion: out.resourceVersion,
        continue: out.continue,
        remainingItemCount: out.remaining || undefined,
      }),
    };
  }
  const metadata: Record<string, unknown> = { resourceVersion: out.resourceVersion };
  if (out.continue) metadata.continue = out.continue;
  if (out.continue && out.remaining) metadata.remainingItemCount = out.remaining;
  if (partial) {
    if (!partial.list) throw partialShapeError(r.def, 'object');
    return {
      code: 200,
      body: {
        kind: 'PartialObjectMetadataList',
        apiVersion: `meta.k8s.io/${partial.version}`,
        metadata,
        items: out.items.map((o) => toPartialMetadata(o, partial.version)),
      },
    };
  }
  return {
    code: 200,
    body: { kind: r.def.listKind, apiVersion: gvString(r.def.group, r.def.version), metadata, items: out.items },
  };
}
