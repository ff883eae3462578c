// The create pipeline (POST, and server-side apply of an object that does not exist), in
// upstream's order: the object's identity (namespace from the URL, generateName) and system
// fields, with what a client may not set dropped → defaulting (once) → mutating admission → the
// strategy's prepareForCreate → validation (every error at once) → validating admission →
// managedFields → the strategy's claims (e.g. a Service's IPs) → the store write (skipped on
// dry-run) → after-create hooks.
import type { KubeObject, ManagedFieldsEntry } from '../../api/index.js';
import type { OperationScope } from '../context.js';
import { generateNameSuffix, initSystemMeta } from '../meta.js';
import { recordUpdate } from '../patch/apply.js';
import { dryRun, refuseResourceVersion, schemaCtx, storeCreate } from '../rest.js';
import { errBadRequest } from '../status.js';
import { strategyFor } from '../strategies/index.js';
import { attributesOf, mutate, validate } from './admit.js';
import { managerName } from './manager.js';
import type { WriteContext } from './strategy.js';
import { defaultObject, validateWrite } from './validate.js';

export interface CreateOptions {
  /** managedFields to store instead of an Update entry for this request's manager (apply). */
  managed?: ManagedFieldsEntry[];
}

export function writeContext(r: OperationScope, subresource = ''): WriteContext {
  return { r, def: r.def, dryRun: dryRun(r), reader: r.ctx.reader, subresource };
}

export async function createObject(r: OperationScope, obj: KubeObject, opts: CreateOptions = {}): Promise<KubeObject> {
  const def = r.def;
  const w = writeContext(r);
  const strategy = strategyFor(def);
  refuseResourceVersion(obj);
  if (def.namespaced) {
    const ns = r.info.namespace;
    if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns) {
      throw errBadRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = ns ?? obj.metadata.namespace;
  } else delete obj.metadata.namespace;
  if (!obj.metadata.name && typeof obj.metadata.generateName === 'string' && obj.metadata.generateName) {
    obj.metadata.name = obj.metadata.generateName + generateNameSuffix();
  }
  r.target.name = obj.metadata.name;

  // What a client may not set goes before defaulting (which fills a status of its own).
  initSystemMeta(obj, def);
  if (def.subresources?.status && !strategy.keepStatusOnCreate) delete obj.status;
  delete obj.metadata.managedFields;

  defaultObject(obj, def);
  const attrs = attributesOf(w, 'CREATE', obj, undefined);
  await mutate(w, attrs);
  strategy.prepareForCreate?.(obj, w);

  validateWrite(obj, undefined, strategy, w);
  for (const m of strategy.warningsOnCreate?.(obj, w) ?? []) r.warnings.push(m);
  strategy.canonicalize?.(obj);
  await validate(w, attrs);

  if (opts.managed) obj.metadata.managedFields = opts.managed;
  else recordUpdate(def, schemaCtx(def), undefined, obj, { manager: managerName(r), apiVersion: obj.apiVersion! });

  const claim = await strategy.beginCreate?.(obj, w);
  let created: KubeObject;
  try {
    created = await storeCreate(r, obj);
  } catch (e) {
    await claim?.undo();
    throw e;
  }
  await claim?.commit();
  if (!w.dryRun) {
    r.ctx.caches.get(`${def.group}/${def.plural}`)?.note(created);
    await strategy.afterCreate?.(created, w);
  }
  return created;
}
