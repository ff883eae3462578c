// The process-wide map of named schemas (OpenAPI `components.schemas`), filled as resource modules
// load. Each ResourceDefinition receives only the definitions its schema reaches (see `closure`).
import type { JSONSchemaProps } from '../types.js';

export const DEFINITIONS: Record<string, JSONSchemaProps> = {};

const PREFIX = '#/components/schemas/';

/** Name of the definition a `$ref` (or an `allOf: [{$ref}]` wrapper) points to, if any. */
export function refName(s: JSONSchemaProps | undefined): string | undefined {
  if (!s) return undefined;
  if (s.$ref?.startsWith(PREFIX)) return s.$ref.slice(PREFIX.length);
  if (s.allOf?.length === 1) return refName(s.allOf[0]);
  return undefined;
}

/** Follows `$ref` / single-`allOf` wrappers to the schema that describes the value. */
export function resolveSchema(
  s: JSONSchemaProps | undefined,
  defs: Record<string, JSONSchemaProps> = DEFINITIONS,
): JSONSchemaProps | undefined {
  for (let i = 0; s && i < 32; i++) {
    const name = refName(s);
    if (!name) return s;
    const target = defs[name];
    if (!target) return undefined;
    // A wrapper's own list/map extensions win over the target's (upstream puts them on the field).
    if (s.allOf) {
      const ext = Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith('x-kubernetes-')));
      s = Object.keys(ext).length ? { ...target, ...ext } : target;
    } else s = target;
  }
  return s;
}

/** All definitions reachable from a schema. */
export function closure(
  root: JSONSchemaProps,
  defs: Record<string, JSONSchemaProps> = DEFINITIONS,
): Record<string, JSONSchemaProps> {
  const out: Record<string, JSONSchemaProps> = {};
  const walk = (s: JSONSchemaProps | undefined): void => {
    if (!s || typeof s !== 'object') return;
    if (s.$ref?.startsWith(PREFIX)) {
      const n = s.$ref.slice(PREFIX.length);
      if (!out[n] && defs[n]) {
        out[n] = defs[n];
        walk(defs[n]);
      }
    }
    for (const p of Object.values(s.properties ?? {})) walk(p);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties);
    walk(s.items);
    for (const x of [...(s.allOf ?? []), ...(s.anyOf ?? []), ...(s.oneOf ?? [])]) walk(x);
  };
  walk(root);
  return out;
}
