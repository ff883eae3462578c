// DELETE and DELETECOLLECTION. Graceful deletion: a pod bound to a node gets deletionTimestamp
// (now + its grace period) and deletionGracePeriodSeconds and stays until its node's agent has
// stopped it and deletes it with grace 0 (as upstream's pod strategy); an object with finalizers (or a propagation
// policy that upstream records as one: Orphan → `orphan`, Foreground → `foregroundDeletion`) is
// kept with deletionTimestamp set until the finalizers are removed; otherwise it is removed at
// once. Namespaces are marked Terminating (the namespace controller finishes them). Preconditions
// (uid, resourceVersion) and dry-run are honoured. The garbage collector comes with the controllers.
import type { KubeObject } from '../../api/index.js';
import type { HandlerResult, RequestScope } from '../context.js';
import { decodeDocument, readBody } from '../http.js';
import { nowRFC3339 } from '../meta.js';
import { dryRun, isObject, mustRead, storeDelete, storeUpdate } from '../rest.js';
import { errBadRequest, errConflict, successStatus } from '../status.js';
import { listObjects } from './list.js';

interface DeleteOptions {
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
}

async function deleteOptions(r: RequestScope): Promise<DeleteOptions> {
  const buf = await readBody(r.req);
  let opts: DeleteOptions = {};
  if (buf.length && buf.toString().trim()) {
    const d = decodeDocument(buf, String(r.req.headers['content-type'] ?? 'json'));
    if (!isObject(d)) throw errBadRequest('DeleteOptions: expected an object');
    opts = d as DeleteOptions;
  }
  const pp = r.query.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp;
  if (r.query.get('orphanDependents') === 'true') opts.propagationPolicy ??= 'Orphan';
  if (opts.orphanDependents === true) opts.propagationPolicy ??= 'Orphan';
  const gp = r.query.get('gracePeriodSeconds');
  if (gp !== null) opts.gracePeriodSeconds = Number(gp);
  if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
    throw errBadRequest(
      `propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  return opts;
}

async function deleteOne(
  r: RequestScope,
  obj: KubeObject,
  rev: number,
  opts: DeleteOptions,
): Promise<{ obj: KubeObject; gone: boolean }> {
  const t = { ...r.target, name: obj.metadata.name };
  const pre = opts.preconditions;
  if (pre?.uid && pre.uid !== obj.metadata.uid)
    throw errConflict(
      t,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`,
    );
  if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion)
    throw errConflict(
      t,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
    );
  for (const a of r.ctx.admission) await a('delete', r.def, obj, undefined, r.user);
  const grace = podGracePeriod(r, obj, opts);
  if (grace > 0) {
    // Graceful deletion of a pod on a node: its agent stops it, then deletes it with grace 0.
    const cur = obj.metadata.deletionGracePeriodSeconds;
    if (obj.metadata.deletionTimestamp && cur !== undefined && cur <= grace) return { obj, gone: false };
    const next = structuredClone(obj);
    next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    next.metadata.deletionGracePeriodSeconds = grace;
    const fin = [...(obj.metadata.finalizers ?? [])];
    if (opts.propagationPolicy === 'Orphan' && !fin.includes('orphan')) fin.push('orphan');
    if (opts.propagationPolicy === 'Foreground' && !fin.includes('foregroundDeletion')) fin.push('foregroundDeletion');
    if (fin.length) next.metadata.finalizers = fin;
    return { obj: await storeUpdate(r, next, rev), gone: false };
  }
  const finalizers = [...(obj.metadata.finalizers ?? [])];
  if (opts.propagationPolicy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
  if (opts.propagationPolicy === 'Foreground' && !finalizers.includes('foregroundDeletion'))
    finalizers.push('foregroundDeletion');
  const isNamespace =
    r.def.group === '' &&
    r.def.kind === 'Namespace' &&
    ((obj.spec as { finalizers?: string[] } | undefined)?.finalizers?.length ?? 0) > 0;
  if (finalizers.length || isNamespace) {
    if (obj.metadata.deletionTimestamp && finalizers.length === (obj.metadata.finalizers ?? []).length)
      return { obj, gone: false };
    const next = structuredClone(obj);
    next.metadata.finalizers = finalizers.length ? finalizers : undefined;
    if (!next.metadata.finalizers) delete next.metadata.finalizers;
    next.metadata.deletionTimestamp ??= nowRFC3339();
    next.metadata.deletionGracePeriodSeconds = 0;
    if (isNamespace) next.status = { ...((next.status as object) ?? {}), phase: 'Terminating' };
    const stored = await storeUpdate(r, next, rev);
    if (r.def.group === '' && r.def.kind === 'Namespace' && !dryRun(r))
      r.ctx.namespaces?.note(obj.metadata.name!, 'Terminating');
    return { obj: stored, gone: false };
  }
  await storeDelete(r, obj, rev);
  if (r.def.group === '' && r.def.kind === 'Namespace' && !dryRun(r))
    r.ctx.namespaces?.note(obj.metadata.name!, undefined);
  return { obj, gone: true };
}

/** Upstream's pod CheckGracefulDelete: the requested grace period, else the pod's
 *  terminationGracePeriodSeconds; 0 for a pod on no node or one that already finished. Other
 *  kinds are deleted at once (0). */
function podGracePeriod(r: RequestScope, obj: KubeObject, opts: DeleteOptions): number {
  if (r.def.group !== '' || r.def.kind !== 'Pod') return 0;
  const spec = (obj.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
  const phase = (obj.status as { phase?: string } | undefined)?.phase;
  let g = opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 0;
  if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') g = 0;
  if (!Number.isFinite(g) || g < 0) g = 1;
  return Math.floor(g);
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
  for (const o of items) {
    try {
      out.push((await deleteOne(r, o, Number(o.metadata.resourceVersion), opts)).obj);
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
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
