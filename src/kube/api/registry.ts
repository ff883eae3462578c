// The list of kinds Skiff serves and lookups over it.
import type { ResourceDefinition } from './types.js';
import { namespace } from './resources/core/namespace.js';
import { configMap } from './resources/core/configmap.js';
import { secret } from './resources/core/secret.js';
import { pod } from './resources/core/pod.js';

const ALL: ResourceDefinition[] = [
  namespace, pod, configMap, secret,
];

/** Every kind Skiff serves, in discovery order. */
export function allResources(): ResourceDefinition[] {
  return ALL;
}

/** Finds a kind by group, version and plural, singular, kind or short name (case-insensitive
 *  for kind/singular/short names, as kubectl resolves them). */
export function findResource(group: string, version: string, pluralOrKind: string): ResourceDefinition | undefined {
  const n = pluralOrKind.toLowerCase();
  return ALL.find((r) => r.group === group && r.version === version
    && (r.plural === pluralOrKind || r.kind === pluralOrKind || r.singular === n || r.kind.toLowerCase() === n
      || (r.shortNames ?? []).includes(n)));
}
