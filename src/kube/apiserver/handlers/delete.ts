// DELETE and DELETECOLLECTION: the DeleteOptions (body and query), then the delete pipeline
// (pipeline/delete.ts) for the object or for each listed one.
import { queryBool, queryInt } from '../query.js';
import type { KubeObject } from '../../api/index.js';
import type { HandlerResult, RequestScope } from '../context.js';
import { decodeDocument, mediaType, readBody } from '../http.js';
import { decodeProtobuf } from '../protobuf.js';
import { deleteObject, type DeleteOptions } from '../pipeline/delete.js';
import { isObject, mustRead, readObject } from '../rest.js';
import { errBadRequest, errNotFound, successStatus } from '../status.js';
import { listObjects } from './list.js';

export type { DeleteOptions } from '../pipeline/delete.js';

async function deleteOptions(r: RequestScope): Promise<DeleteOptions> {
  const buf = await readBody(r.req);
  let opts: DeleteOptions = {};
  if (buf.length && buf.toString().trim()) {
    // client-go's typed clients (helm's release storage among them) send it as protobuf.
    const type = mediaType(r.req);
    const d = type === 'application/vnd.kubernetes.protobuf' ? decodeProtobuf(buf) : decodeDocument(buf, type);
    if (!isObject(d)) throw errBadRequest('DeleteOptions: expected an object');
    opts = d as DeleteOptions;
  }
  // kubectl delete --dry-run=server says so in the body's DeleteOptions, not the query: both count.
  if (opts.dryRun !== undefined) {
    if (!Array.isArray(opts.dryRun)) throw errBadRequest('DeleteOptions: dryRun must be a list');
    for (const x of opts.dryRun) if (!r.query.getAll('dryRun').includes(String(x))) r.query.append('dryRun', String(x));
  }
  const pp = r.query.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp;
  if (queryBool(r.query, 'orphanDependents')) opts.propagationPolicy ??= 'Orphan';
  if (opts.orphanDependents === true) opts.propagationPolicy ??= 'Orphan';
  const gp = queryInt(r.query, 'gracePeriodSeconds');
  if (gp !== undefined) opts.gracePeriodSeconds = gp;
  if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
    throw errBadRequest(
      `propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  return opts;
}

/** Deletes one stored object under the delete rules (finalizers, propagation, preconditions).
 *  A write that lost a race with another writer (a node agent's status update, a controller) is
 *  tried again on the object as it now is, as upstream's store does (GuaranteedUpdate): a DELETE
 *  never answers Conflict for a change it did not ask about. Preconditions are checked each time. */
export async function deleteOne(
  r: RequestScope,
  obj: KubeObject,
  rev: number,
  opts: DeleteOptions,
): Promise<{ obj: KubeObject; gone: boolean }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deleteObject(r, obj, rev, opts);
    } catch (e) {
      if ((e as { reason?: string }).reason !== 'Conflict' || attempt >= 5) throw e;
      const now = await readObject(r.ctx, r.def, obj.metadata.namespace, obj.metadata.name!);
      if (!now) throw errNotFound({ ...r.target, name: obj.metadata.name });
      obj = now.obj;
      rev = now.kv.modRevision;
    }
  }
}

export async function handleDelete(r: RequestScope): Promise<HandlerResult> {
  const opts = await deleteOptions(r);
  const { obj, kv } = await mustRead(r);
  const out = await deleteOne(r, obj, kv.modRevision, opts);
  if (!out.gone) return { code: 200, body: out.obj };
  return {
    code: 200,
    body: successStatus({ name: obj.metadata.name, group: r.def.group, kind: r.def.plural, uid: obj.metadata.uid }),
  };
}

export async function handleDeleteCollection(r: RequestScope): Promise<HandlerResult> {
  const opts = await deleteOptions(r);
  const { items, resourceVersion } = await listObjects(r);
  const out: KubeObject[] = [];
  // Every item is attempted (as upstream's workers do); the first failure is the answer.
  let failure: unknown;
  for (const o of items) {
    try {
      out.push((await deleteOne(r, o, Number(o.metadata.resourceVersion), opts)).obj);
    } catch (e) {
      if ((e as { code?: number }).code !== 404) failure ??= e;
    }
  }
  if (failure) throw failure;
  return {
    code: 200,
    body: {
      kind: r.def.listKind,
      apiVersion: r.def.group ? `${r.def.group}/${r.def.version}` : r.def.version,
      metadata: { resourceVersion },
      items: out,
    },
  };
}
