// Builds the object predicate for list and watch from labelSelector/fieldSelector (plus the name
// of a `/watch/.../name` path), checking field names against what the kind supports.
import type { KubeObject, ResourceDefinition } from '../api/index.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { errBadRequest } from './status.js';

export type Predicate = (o: KubeObject) => boolean;

export function fieldGetter(def: ResourceDefinition, o: KubeObject) {
  return (f: string): string | undefined => {
    if (f === 'metadata.name') return o.metadata.name;
    if (f === 'metadata.namespace') return o.metadata.namespace;
    return def.fieldSelectors?.[f]?.(o);
  };
}

export function buildPredicate(def: ResourceDefinition, query: URLSearchParams, name?: string): Predicate | undefined {
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'));
  if (name !== undefined) fields.push({ field: 'metadata.name', op: '=', value: name });
  for (const f of fields) {
    if (f.field !== 'metadata.name' && f.field !== 'metadata.namespace' && !def.fieldSelectors?.[f.field]) {
      // Kinds with field selectors of their own refuse others with their conversion func's words;
      // the rest with the scheme's default conversion's.
      throw errBadRequest(
        def.fieldSelectors && Object.keys(def.fieldSelectors).length
          ? `field label not supported: ${f.field}`
          : `"${f.field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
      );
    }
  }
  if (labels.length === 0 && fields.length === 0) return undefined;
  return (o) => matchLabels(labels, o.metadata.labels) && matchFields(fields, fieldGetter(def, o));
}
