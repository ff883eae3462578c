// Shape checks for the small request specs the auth endpoints read (TokenReview, TokenRequest,
// SubjectAccessReview): plain functions instead of a schema library, so that the server does not
// load and build one at start for three endpoints. Errors name the field (`spec.audiences.0`).
import { invalidArgument } from '../../../common/index.js';

export type Check = (v: unknown, field: string) => void;

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const fail = (field: string, msg: string): never => {
  throw invalidArgument(`${field}: Invalid value: ${msg}`, { field });
};

export const str: Check = (v, f) => {
  if (typeof v !== 'string') fail(f, `expected string, received ${kind(v)}`);
};
export const nonEmptyStr: Check = (v, f) => {
  str(v, f);
  if (v === '') fail(f, 'must not be empty');
};
export const int: Check = (v, f) => {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(f, `expected integer, received ${kind(v)}`);
};
export const oneOf =
  (values: string[]): Check =>
  (v, f) => {
    if (typeof v !== 'string' || !values.includes(v))
      fail(f, `expected one of ${values.map((x) => `"${x}"`).join('|')}`);
  };
export const arrayOf =
  (c: Check): Check =>
  (v, f) => {
    if (!Array.isArray(v)) fail(f, `expected array, received ${kind(v)}`);
    (v as unknown[]).forEach((x, i) => c(x, `${f}.${i}`));
  };
export const recordOf =
  (c: Check): Check =>
  (v, f) => {
    if (kind(v) !== 'object') fail(f, `expected object, received ${kind(v)}`);
    for (const [k, x] of Object.entries(v as object)) c(x, `${f}.${k}`);
  };
/** An object whose listed fields are optional (absent or null) or pass their check; other fields pass. */
export const object =
  (fields: Record<string, Check>, required: string[] = []): Check =>
  (v, f) => {
    if (kind(v) !== 'object') fail(f, `expected object, received ${kind(v)}`);
    const o = v as Record<string, unknown>;
    for (const [k, c] of Object.entries(fields)) {
      if (o[k] === undefined || o[k] === null) {
        if (required.includes(k)) fail(`${f}.${k}`, 'required');
        continue;
      }
      c(o[k], `${f}.${k}`);
    }
  };

/** Checks `value` (absent → {}) against `check` at `spec`; returns it typed. */
export function parseSpec<T>(check: Check, value: unknown, field = 'spec'): T {
  const v = value ?? {};
  check(v, field);
  return v as T;
}
