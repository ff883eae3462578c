// Runs the admission chain's phases for one write (plugins in the server's order).
import type { KubeObject } from '../../api/index.js';
import type { AdmissionAttributes, Operation, SystemWriter } from '../admission/types.js';
import { readObject } from '../rest.js';
import { errNotFound } from '../status.js';
import { systemScope } from '../system.js';
import { updateObject } from './update.js';
import type { WriteContext } from './strategy.js';

export function attributesOf(
  w: WriteContext,
  operation: Operation,
  object: KubeObject | undefined,
  oldObject: KubeObject | undefined,
): AdmissionAttributes {
  const o = object ?? oldObject;
  return {
    operation,
    def: w.def,
    subresource: w.subresource,
    namespace: w.def.namespaced ? (o?.metadata.namespace ?? w.r.info.namespace) : undefined,
    name: o?.metadata.name ?? w.r.info.name,
    object,
    oldObject,
    user: w.r.user,
    dryRun: w.dryRun,
    warnings: w.r.warnings,
    auditAnnotations: {},
    reader: w.reader,
    system: systemWriter(w),
  };
}

function systemWriter(w: WriteContext): SystemWriter {
  return {
    async updateStatus(group, plural, obj) {
      const def = w.r.ctx.registry.preferred(group, plural);
      if (!def) throw errNotFound({ resource: plural, group, name: obj.metadata.name });
      const s = systemScope(w.r.ctx, def, obj.metadata.namespace);
      s.info = { ...s.info, verb: 'update', name: obj.metadata.name, subresource: 'status' };
      s.target.name = obj.metadata.name;
      const got = await readObject(w.r.ctx, def, obj.metadata.namespace, obj.metadata.name ?? '');
      if (!got) throw errNotFound({ resource: plural, group, name: obj.metadata.name });
      return (await updateObject(s, got.obj, got.kv, obj, { subresource: 'status' })).obj;
    },
  };
}

/** The mutating phase (plugins' `admit`, in order). */
export async function mutate(w: WriteContext, a: AdmissionAttributes): Promise<void> {
  for (const p of w.r.ctx.admission) if (p.admit) await p.admit(a);
}

/** The validating phase (plugins' `validate`, in order); logs what plugins asked to audit. */
export async function validate(w: WriteContext, a: AdmissionAttributes): Promise<void> {
  for (const p of w.r.ctx.admission) if (p.validate) await p.validate(a);
  if (Object.keys(a.auditAnnotations).length)
    w.r.ctx.log.debug('admission audit annotations', {
      resource: w.def.plural,
      namespace: a.namespace,
      name: a.name,
      annotations: a.auditAnnotations,
    });
}
