// Field errors worded as upstream's `field.Error.ErrorBody()`, so kubectl prints the same
// `spec.x: Invalid value: 0: must be ...` lines users know. Values are rendered the way Go's
// fmt does for the types involved (%q for strings, %v for numbers, %#v for maps and slices).
import type { FieldError } from '../types.js';

export type Errs = FieldError[];

const quote = (s: string) => JSON.stringify(s);

function goMapType(v: Record<string, unknown>): string {
  const vals = Object.values(v);
  if (vals.every((x) => typeof x === 'string')) return 'map[string]string';
  return 'map[string]interface {}';
}

/** Renders a value as Go's fmt would in a field error. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) {
    const t = v.every((x) => typeof x === 'string') ? '[]string' : '[]interface {}';
    return `${t}{${v.map(goValue).join(', ')}}`;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    return `${goMapType(o)}{${keys.map((k) => `${quote(k)}:${goValue(o[k])}`).join(', ')}}`;
  }
  return String(v);
}

const withDetail = (s: string, detail?: string) => (detail ? `${s}: ${detail}` : s);

export const required = (field: string, detail?: string): FieldError => ({
  type: 'FieldValueRequired',
  field,
  message: withDetail('Required value', detail),
});
export const invalid = (field: string, value: unknown, detail?: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  message: withDetail(`Invalid value: ${goValue(value)}`, detail),
});
/** Like `invalid`, with the value already rendered (Go struct values, Stringer output). */
export const invalidRaw = (field: string, rendered: string, detail?: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  message: withDetail(`Invalid value: ${rendered}`, detail),
});

/** A LabelSelector pointer as Go's %#v prints it in field errors. */
export function goLabelSelector(sel: unknown): string {
  if (!sel || typeof sel !== 'object') return '(*v1.LabelSelector)(nil)';
  const s = sel as {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const ml = s.matchLabels && Object.keys(s.matchLabels).length ? goValue(s.matchLabels) : 'map[string]string(nil)';
  const me =
    Array.isArray(s.matchExpressions) && s.matchExpressions.length
      ? `[]v1.LabelSelectorRequirement{${s.matchExpressions.map((e) => `v1.LabelSelectorRequirement{Key:${goValue(e.key)}, Operator:${goValue(e.operator)}, Values:${e.values?.length ? goValue(e.values) : '[]string(nil)'}}`).join(', ')}}`
      : '[]v1.LabelSelectorRequirement(nil)';
  // (field.Invalid prints a pointer's value: no `&`)
  return `v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`;
}

/** An intstr.IntOrString value as Go's %#v prints it (upstream passes the struct itself). */
export function goIntOrString(v: unknown): string {
  if (typeof v === 'number') return `intstr.IntOrString{Type:0, IntVal:${v}, StrVal:""}`;
  return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${JSON.stringify(String(v ?? ''))}}`;
}

/** A string map as Go's %#v prints it, `map[string]string(nil)` when absent. */
export const goStringMap = (m: unknown): string =>
  m && typeof m === 'object' && Object.keys(m).length ? goValue(m) : 'map[string]string(nil)';

/** Like `notSupported`, with the value already rendered. */
export const notSupportedRaw = (field: string, rendered: string, valid: string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  message: `Unsupported value: ${rendered}: supported values: ${valid.map(quote).join(', ')}`,
});
export const notSupported = (field: string, value: unknown, valid: string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  message: `Unsupported value: ${goValue(value)}${valid.length ? `: supported values: ${valid.map(quote).join(', ')}` : ''}`,
});
export const duplicate = (field: string, value: unknown): FieldError => ({
  type: 'FieldValueDuplicate',
  field,
  message: `Duplicate value: ${goValue(value)}`,
});
export const forbidden = (field: string, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  message: withDetail('Forbidden', detail),
});
export const notFoundValue = (field: string, value: unknown): FieldError => ({
  type: 'FieldValueNotFound',
  field,
  message: `Not found: ${goValue(value)}`,
});
export const tooLong = (field: string, max: number): FieldError => ({
  type: 'FieldValueTooLong',
  field,
  message: `Too long: may not be more than ${max} bytes`,
});
export const tooMany = (field: string, actual: number, max: number): FieldError => ({
  type: 'FieldValueTooMany',
  field,
  message: `Too many: ${actual}: must have at most ${max} items`,
});
export const typeInvalid = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueTypeInvalid',
  field,
  message: `Invalid value: ${goValue(value)}: ${detail}`,
});

/** Upstream's `ValidateImmutableField`. */
export function immutable(field: string, now: unknown, old: unknown): FieldError[] {
  return deepEqual(now, old) ? [] : [invalid(field, now, 'field is immutable')];
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
    // Treat absent and undefined alike.
    return (a === undefined || a === null) && (b === undefined || b === null)
      ? a === b || (a == null && b == null)
      : false;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>,
    bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}
