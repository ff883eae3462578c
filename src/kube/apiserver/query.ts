// Query parameters decoded as upstream's parameter codec does (k8s.io/apimachinery runtime
// conversions from url.Values): a boolean is false only when absent, "0" or "false" in any case —
// every other value, the empty string included, is true (so Python's `watch=True` is a watch);
// integers go through strconv.ParseInt, and a malformed one is a 400 with Go's message.
import { errBadRequest } from './status.js';

/** undefined when absent; the first value otherwise, decoded as upstream's Convert_Slice_string_To_bool. */
export function queryBool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** undefined when absent; a 64-bit decimal integer (strconv.ParseInt(v, 10, 64)) otherwise. */
export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^[+-]?\d+$/.test(v)) throw errBadRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = BigInt(v);
  if (n > 9223372036854775807n || n < -9223372036854775808n)
    throw errBadRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  return Number(n);
}
