// Field-level validators shared by kinds: label maps, label selectors, numeric ranges, names.
// Each takes the value and its field path and returns upstream-worded FieldErrors.
import type { FieldError } from '../types.js';
import { invalid, notSupported, required } from './errors.js';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from './names.js';

export type Obj = Record<string, any>;

/** The value as a plain object, or undefined (never throws on malformed input). */
export const asObj = (v: unknown): Obj | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
/** The value as an array, or [] when absent or malformed. */
export const asArr = (v: unknown): any[] => (Array.isArray(v) ? v : []);
export const isStr = (v: unknown): v is string => typeof v === 'string';

export function validateLabels(labels: unknown, path: string): FieldError[] {
  const m = asObj(labels);
  if (!m) return [];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(m)) {
    for (const e of isQualifiedName(k)) errs.push(invalid(path, k, e));
    for (const e of isValidLabelValue(String(v))) errs.push(invalid(path, v, e));
  }
  return errs;
}

/** Annotation keys must be qualified names and the total size ≤ 256 KiB. */
export function validateAnnotations(ann: unknown, path: string): FieldError[] {
  const m = asObj(ann);
  if (!m) return [];
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(m)) {
    for (const e of isQualifiedName(k.toLowerCase())) errs.push(invalid(path, k, e));
    size += k.length + String(v).length;
  }
  if (size > 256 * 1024)
    errs.push({ type: 'FieldValueTooLong', field: path, message: `Too long: must have at most ${256 * 1024} bytes` });
  return errs;
}

const SELECTOR_OPS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export function validateLabelSelector(sel: unknown, path: string): FieldError[] {
  const s = asObj(sel);
  if (!s) return [];
  const errs: FieldError[] = [];
  asArr(s.matchExpressions).forEach((e: Obj, i: number) => {
    const p = `${path}.matchExpressions[${i}]`;
    const op = e?.operator;
    const vals = asArr(e?.values);
    if (op === 'In' || op === 'NotIn') {
      if (vals.length === 0) errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (vals.length > 0)
        errs.push({
          type: 'FieldValueForbidden',
          field: `${p}.values`,
          message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        });
    } else errs.push(notSupported(`${p}.operator`, op, SELECTOR_OPS));
    if (!isStr(e?.key)) errs.push(required(`${p}.key`));
    else for (const m of isQualifiedName(e.key)) errs.push(invalid(`${p}.key`, e.key, m));
    vals.forEach((v: unknown, j: number) => {
      for (const m of isValidLabelValue(String(v))) errs.push(invalid(`${p}.values[${j}]`, v, m));
    });
  });
  errs.push(...validateLabels(s.matchLabels, `${path}.matchLabels`));
  return errs;
}

export function nonNegative(v: unknown, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  return typeof v === 'number' && v >= 0 ? [] : [invalid(path, v, 'must be greater than or equal to 0')];
}

export function positive(v: unknown, path: string): FieldError[] {
  if (v === undefined || v === null) return [];
  return typeof v === 'number' && v > 0 ? [] : [invalid(path, v, 'must be greater than zero')];
}

export function dnsLabel(v: unknown, path: string): FieldError[] {
  if (!isStr(v) || v === '') return [required(path)];
  return isDNS1123Label(v).map((m) => invalid(path, v, m));
}

export function dnsSubdomain(v: unknown, path: string): FieldError[] {
  if (!isStr(v) || v === '') return [required(path)];
  return isDNS1123Subdomain(v).map((m) => invalid(path, v, m));
}

export function oneOf(v: unknown, path: string, values: string[], optional = true): FieldError[] {
  if (v === undefined || v === null || v === '') return optional ? [] : [required(path)];
  return values.includes(v as string) ? [] : [notSupported(path, v, values)];
}

/** Validates a pod template's or any embedded object's labels and annotations. */
export function validateEmbeddedMeta(meta: unknown, path: string): FieldError[] {
  const m = asObj(meta);
  if (!m) return [];
  return [...validateLabels(m.labels, `${path}.labels`), ...validateAnnotations(m.annotations, `${path}.annotations`)];
}
