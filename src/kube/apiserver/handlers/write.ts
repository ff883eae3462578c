// The write path shared by update, patch and apply: given the stored object and the proposed new
// one, keep system metadata, bump generation, record managedFields, validate, and store it
// (or finish a pending deletion when the last finalizer went away).
import type { KubeObject } from '../../api/index.js';
import type { KeyValue } from '../../storage/index.js';
import type { RequestScope } from '../context.js';
import { keepSystemMeta } from '../meta.js';
import { recordUpdate } from '../patch/apply.js';
import { gvString } from '../registry.js';
import { admitObject, defaultObject, dryRun, schemaCtx, specPart, storeDelete, storeUpdate } from '../rest.js';
import { isService } from '../service-ips.js';
import { errBadRequest } from '../status.js';

export function managerName(r: RequestScope, required = false): string {
  const m = r.query.get('fieldManager');
  if (m !== null && m !== '') {
    if (m.length > 128) throw errBadRequest(`fieldManager: Too long: may not be more than 128 bytes`);
    return m;
  }
  if (required)
    throw errBadRequest(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  const ua = String(r.req.headers['user-agent'] ?? 'unknown');
  return ua.split('/')[0].slice(0, 128) || 'unknown';
}

export interface WriteOptions {
  subresource?: 'status' | 'scale';
  skipManaged?: boolean;
}

/** Applies the update rules to `next` against the stored `old`; returns the stored result. */
export async function writeUpdate(
  r: RequestScope,
  old: KubeObject,
  kv: KeyValue,
  next: KubeObject,
  opts: WriteOptions = {},
): Promise<{ obj: KubeObject; deleted: boolean }> {
  const def = r.def;
  next.apiVersion = gvString(def.group, def.version);
  next.kind = def.kind;
  if (next.metadata.name !== old.metadata.name) {
    throw errBadRequest(
      `the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${String(old.metadata.name)})`,
    );
  }
  if (def.namespaced) {
    if (next.metadata.namespace && next.metadata.namespace !== old.metadata.namespace) {
      throw errBadRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    next.metadata.namespace = old.metadata.namespace;
  }
  const rv = next.metadata.resourceVersion;
  let expected = kv.modRevision;
  if (rv !== undefined && rv !== '' && rv !== String(kv.modRevision)) expected = Number(rv) || -1;
  keepSystemMeta(next, old);
  if (def.subresources?.status) {
    if (opts.subresource === 'status') {
      // The status endpoint changes status (and metadata labels/annotations); spec stays.
      const { status, metadata } = next;
      next = {
        ...structuredClone(old),
        status,
        metadata: {
          ...old.metadata,
          labels: metadata.labels,
          annotations: metadata.annotations,
          managedFields: metadata.managedFields,
          resourceVersion: metadata.resourceVersion,
        },
      };
      if (status === undefined) delete next.status;
    } else if (opts.subresource !== 'scale') {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
  }
  // The kind's own update rules (server-assigned values a full replace may omit, fields a type
  // change invalidates), then defaulting, before "did the spec change": a PUT that omits
  // defaulted fields is not a spec change (upstream defaults at decode time).
  // (patches may share nested values with `old`: the hook gets a copy it may change freely)
  if (opts.subresource === undefined && def.prepareForUpdate) {
    next = structuredClone(next);
    def.prepareForUpdate(next, old);
  }
  defaultObject(next, def);
  // (/status never moves generation, even when defaulting fills a field an older server left out)
  if (def.hasGeneration && opts.subresource !== 'status' && specPart(next) !== specPart(old))
    next.metadata.generation = (old.metadata.generation ?? 0) + 1;
  admitObject(r, next, old);
  for (const a of r.ctx.admission) await a('update', def, next, old, r.user);
  if (!opts.skipManaged)
    recordUpdate(def, schemaCtx(def), old, next, {
      manager: managerName(r),
      apiVersion: next.apiVersion!,
      subresource: opts.subresource,
    });

  // A deletion pending on finalizers completes when the last one is removed. A graceful deletion
  // (a pod waiting for its node, deletionGracePeriodSeconds > 0) is not completed by updates: its
  // agent deletes it with grace 0 (upstream's shouldDeleteDuringUpdate).
  const nsFinalizers =
    def.group === '' && def.kind === 'Namespace'
      ? ((next.spec as { finalizers?: string[] } | undefined)?.finalizers?.length ?? 0)
      : 0;
  const graceful = (old.metadata.deletionGracePeriodSeconds ?? 0) > 0;
  if (old.metadata.deletionTimestamp && !graceful && !next.metadata.finalizers?.length && nsFinalizers === 0) {
    await storeDelete(r, next, expected);
    return { obj: next, deleted: true };
  }
  if (expected === kv.modRevision && unchanged(old, next)) return { obj: old, deleted: false };
  const alloc =
    isService(def) && opts.subresource === undefined ? await r.ctx.services?.allocate(next, old, dryRun(r)) : undefined;
  let stored: KubeObject;
  try {
    stored = await storeUpdate(r, next, expected);
  } catch (e) {
    await alloc?.undo();
    throw e;
  }
  if (alloc && !dryRun(r)) for (const k of alloc.released) await r.ctx.services!.release(k, old.metadata.uid ?? '');
  return { obj: stored, deleted: false };
}

/** No-op updates are not written (upstream skips them too; resourceVersion stays). */
function unchanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { resourceVersion: _r, managedFields, ...m } = o.metadata;
    const mf = (managedFields ?? []).map(({ time: _t, ...e }) => e);
    return { ...o, metadata: { ...m, managedFields: mf } };
  };
  const sa = strip(a),
    sb = strip(b);
  const ja = JSON.stringify(sa),
    jb = JSON.stringify(sb);
  if (ja === jb) return true;
  // Same content in another key order serialises to the same length; a real change rarely does.
  if (ja.length !== jb.length) return false;
  return JSON.stringify(canonical(sa)) === JSON.stringify(canonical(sb));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}
