// Docker's `filters` (moby's api/types/filters): the two JSON encodings a client may send, the check
// of an endpoint's accepted keys, boolean filter values and `label` matching. Domain helpers used by
// the services' list and prune operations and by the event bus; the HTTP layer (api/query.ts) only
// hands them the raw parameter.
import { invalidArgument } from '../../../common/index.js';

/** Docker's `filters` query parameter, normalised: key → list of values. */
export type Filters = Record<string, string[]>;

/** moby's filters.FromJSON: both encodings; a malformed value is "invalid filter". */
export function parseFilters(text: string | null | undefined): Filters {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalidFilterJson();
  }
  if (raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalidFilterJson();
  const entries = Object.entries(raw as Record<string, unknown>);
  // The current encoding: every value an object of booleans (or null).
  const asMaps = entries.every(
    ([, v]) =>
      v === null ||
      (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((b) => typeof b === 'boolean')),
  );
  if (asMaps) return Object.fromEntries(entries.map(([k, v]) => [k, Object.keys((v as object | null) ?? {})]));
  // The legacy encoding: every value a list of strings (or null).
  const asLists = entries.every(([, v]) => v === null || (Array.isArray(v) && v.every((x) => typeof x === 'string')));
  if (asLists) return Object.fromEntries(entries.map(([k, v]) => [k, [...new Set((v as string[] | null) ?? [])]]));
  throw invalidFilterJson();
}

function invalidFilterJson() {
  return invalidArgument(
    'invalid filter: filters must be a JSON object of {"key":{"value":true}} or {"key":["value"]}',
    {
      field: 'filters',
    },
  );
}

/** moby's Args.Validate: a key the endpoint does not know is "invalid filter 'key'". */
export function validateFilters(f: Filters, accepted: readonly string[]): Filters {
  for (const k of Object.keys(f))
    if (!accepted.includes(k)) throw invalidArgument(`Invalid filter '${k}'`, { field: `filters.${k}` });
  return f;
}

/** moby's Args.ExactMatch / boolean filter values ("true"/"1" and "false"/"0"). */
export function filterBool(f: Filters, key: string): boolean | undefined {
  const v = f[key];
  if (!v?.length) return undefined;
  const want = v.map((x) => x.toLowerCase());
  if (want.every((x) => x === 'true' || x === '1')) return true;
  if (want.every((x) => x === 'false' || x === '0')) return false;
  throw invalidArgument(`Invalid filter '${key}=[${v.join(',')}]'`, { field: `filters.${key}` });
}

/** `label` filter semantics (Docker): "key" means present, "key=value" means equal. */
export function matchLabels(labels: Record<string, string> | undefined, wanted: string[] | undefined): boolean {
  if (!wanted?.length) return true;
  const l = labels ?? {};
  return wanted.every((w) => {
    const i = w.indexOf('=');
    if (i < 0) return w in l;
    return l[w.slice(0, i)] === w.slice(i + 1);
  });
}
