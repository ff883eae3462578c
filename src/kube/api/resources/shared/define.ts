// Completes a ResourceDefinition from the fields that vary per kind.
import type { ResourceDefinition } from '../../types.js';
import { closure } from '../../schema/registry.js';

export const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export type Spec = Omit<ResourceDefinition, 'listKind' | 'verbs' | 'definitions'> & {
  listKind?: string;
  verbs?: string[];
};

export function resource(spec: Spec): ResourceDefinition {
  const def: ResourceDefinition = {
    listKind: `${spec.kind}List`,
    verbs: STANDARD_VERBS,
    ...spec,
  };
  // Computed lazily: definitions may be registered by modules that load after this one.
  let defs: ResourceDefinition['definitions'];
  Object.defineProperty(def, 'definitions', {
    enumerable: true,
    get: () => (defs ??= closure(def.schema)),
  });
  return def;
}

export const gv = (group: string, version: string) => (group ? `${group}/${version}` : version);
