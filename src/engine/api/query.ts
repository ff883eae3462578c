// The Engine API's query parameters, parsed as dockerd parses them (moby's api/server/httputils and
// api/types/filters), so that every client's habits work: dockerode's `tail=-1`, docker-py's
// `stream=True`, `filters` as JSON maps or legacy lists. Every route reads its query through this one
// class; nothing else parses a query string.
//
// - A parameter's value is its first occurrence (Go's r.Form.Get); `all()` gives every occurrence.
// - Booleans (BoolValue): anything but "", "0", "no", "false" and "none" (trimmed, any case) is true;
//   a missing parameter is false, or the route's default (BoolValueOrDefault).
// - Integers (strconv.ParseInt/Atoi): an optional sign and decimal digits; "" and missing give the
//   route's default; anything else is an InvalidArgument with Go's message.
// - Filters (filters.FromJSON): `{"key":{"value":true}}` (every listed value counts, whatever its
//   boolean) or the legacy `{"key":["value"]}`; anything else is "invalid filter".
import { invalidArgument } from '../../common/index.js';
import { parseFilters, validateFilters, type Filters } from '../services/common/filters.js';

export { parseFilters, validateFilters, filterBool, type Filters } from '../services/common/filters.js';

const FALSE_WORDS = new Set(['', '0', 'no', 'false', 'none']);
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** moby's httputils.BoolValue over one raw value (null: the parameter is absent). */
export function boolValue(v: string | null): boolean {
  return v !== null && !FALSE_WORDS.has(v.trim().toLowerCase());
}

/** Go's strconv.ParseInt(v, 10, 64); `fn` names the Go function in the message as dockerd prints it. */
export function parseGoInt(v: string, field: string, fn = 'strconv.ParseInt'): number {
  if (!/^[+-]?[0-9]+$/.test(v)) throw invalidArgument(`${fn}: parsing ${JSON.stringify(v)}: invalid syntax`, { field });
  const n = BigInt(v);
  if (n > INT64_MAX || n < INT64_MIN)
    throw invalidArgument(`${fn}: parsing ${JSON.stringify(v)}: value out of range`, { field });
  return Number(n);
}

export class Query {
  constructor(readonly params: URLSearchParams) {}

  has(name: string): boolean {
    return this.params.has(name);
  }
  /** The first value (r.Form.Get), undefined when absent. */
  str(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }
  /** Every value of a repeated parameter, in order (r.Form[name]). */
  all(name: string): string[] {
    return this.params.getAll(name);
  }
  /** BoolValue; with `dflt`, BoolValueOrDefault (the default when the parameter is absent). */
  bool(name: string, dflt = false): boolean {
    const v = this.params.get(name);
    return v === null ? dflt : boolValue(v);
  }
  /** Int64ValueOrDefault / strconv.Atoi: the default when absent or empty, an error when malformed. */
  int(name: string, dflt?: number): number | undefined {
    const v = this.params.get(name);
    if (v === null || v === '') return dflt;
    return parseGoInt(v, name, 'strconv.Atoi');
  }
  /** Int64ValueOrZero: 0 when absent, empty or malformed. */
  intOrZero(name: string): number {
    const v = this.params.get(name);
    try {
      return v ? parseGoInt(v, name) : 0;
    } catch {
      return 0;
    }
  }
  /** A JSON-encoded parameter (buildargs, labels, cachefrom, …); undefined when absent or empty. */
  json<T = unknown>(name: string): T | undefined {
    const v = this.params.get(name);
    if (v === null || v === '') return undefined;
    try {
      return JSON.parse(v) as T;
    } catch {
      throw invalidArgument(`query parameter ${name} is not valid JSON`, { field: name });
    }
  }
  /** `filters`, both encodings; with `accepted`, unknown keys are refused as dockerd does. */
  filters(accepted?: readonly string[]): Filters {
    const f = parseFilters(this.params.get('filters'));
    return accepted ? validateFilters(f, accepted) : f;
  }
}
