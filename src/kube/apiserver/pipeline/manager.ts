// The field manager of a write: `fieldManager`, else the client's user agent (as upstream); the
// other served versions' views of an object, for managedFields entries written in them.
import type { OperationScope } from '../context.js';
import type { VersionView } from '../patch/apply.js';
import { leaves } from '../patch/fieldset.js';
import { schemaCtx } from '../rest.js';
import { errBadRequest } from '../status.js';

export function managerName(r: OperationScope, required = false): string {
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

/** How another served version of the written kind sees an object (for managedFields entries
 *  written in that version): only for kinds served through a conversion (autoscaling/v1 HPAs over
 *  the stored v2); versions of one shape compare as they are. */
export function versionViews(r: OperationScope): ((apiVersion: string) => VersionView | undefined) | undefined {
  const def = r.def;
  const registry = r.ctx.registry;
  return (apiVersion) => {
    const [g, v] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    if (g !== def.group || v === def.version) return undefined;
    const other = registry.lookup(g, v, def.plural);
    if (!other || (!other.conversion && !def.conversion)) return undefined;
    const octx = schemaCtx(other);
    return {
      leaves(obj) {
        const stored = def.conversion ? def.conversion.toStored(structuredClone(obj)) : obj;
        const seen = other.conversion ? other.conversion.fromStored(structuredClone(stored)) : stored;
        return leaves(seen, other.schema, octx);
      },
    };
  };
}
