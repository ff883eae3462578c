// A small, dependency-free schema checker for the runtime's edges (config.json, process.json,
// resources, the monitor's exit file). Schemas are also the types (`Infer<typeof S>`), as with zod,
// but it costs nothing to load: the runtime CLI is started per container operation by containerd,
// and zod's bundle was a third of its start-up. Values are checked, not copied: a valid input is
// returned as is (unknown fields included).

export type PathPart = string | number;
export interface Issue {
  path: PathPart[];
  message: string;
}

export interface Schema<T, O extends boolean = false> {
  /** Type carrier only. */
  readonly _type?: T;
  readonly optional: O;
  check(value: unknown, path: PathPart[], issues: Issue[]): void;
}
export type Infer<S> = S extends Schema<infer T, boolean> ? T : never;

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const bad = (issues: Issue[], path: PathPart[], message: string) => {
  issues.push({ path, message });
};
const typeIssue = (issues: Issue[], path: PathPart[], want: string, v: unknown) =>
  bad(issues, path, v === undefined ? 'required' : `expected ${want}, received ${kind(v)}`);

function schema<T>(check: Schema<T>['check']): Schema<T> {
  return { optional: false, check };
}

/** The key may be absent (or undefined). */
export function optional<T>(s: Schema<T, boolean>): Schema<T | undefined, true> {
  return {
    optional: true,
    check: (v, p, i) => {
      if (v !== undefined) s.check(v, p, i);
    },
  };
}

/** Required, and may be null. */
export function nullable<T>(s: Schema<T, boolean>): Schema<T | null> {
  return schema((v, p, i) => {
    if (v !== null) s.check(v, p, i);
  });
}

/** The key may be absent, undefined or null. */
export function nullish<T>(s: Schema<T, boolean>): Schema<T | null | undefined, true> {
  return {
    optional: true,
    check: (v, p, i) => {
      if (v !== undefined && v !== null) s.check(v, p, i);
    },
  };
}

export interface StringOptions {
  min?: number;
  pattern?: RegExp;
  message?: string;
  refine?: (s: string) => string | undefined;
}
export function string(o: StringOptions = {}): Schema<string> {
  return schema((v, p, i) => {
    if (typeof v !== 'string') return typeIssue(i, p, 'string', v);
    if (o.min !== undefined && v.length < o.min)
      return bad(i, p, o.min === 1 ? 'must not be empty' : `must have at least ${o.min} characters`);
    if (o.pattern && !o.pattern.test(v)) return bad(i, p, o.message ?? `must match ${o.pattern}`);
    const m = o.refine?.(v);
    if (m) bad(i, p, m);
  });
}

export interface NumberOptions {
  int?: boolean;
  min?: number;
  max?: number;
}
export function number(o: NumberOptions = {}): Schema<number> {
  return schema((v, p, i) => {
    if (typeof v !== 'number' || Number.isNaN(v)) return typeIssue(i, p, 'number', v);
    if (o.int && !Number.isInteger(v)) return bad(i, p, 'must be an integer');
    if (o.min !== undefined && v < o.min) return bad(i, p, `must be >= ${o.min}`);
    if (o.max !== undefined && v > o.max) bad(i, p, `must be <= ${o.max}`);
  });
}
export const int = (o: Omit<NumberOptions, 'int'> = {}) => number({ ...o, int: true });
/** Non-negative integer. */
export const uint = (o: Omit<NumberOptions, 'int'> = {}) => number({ min: 0, ...o, int: true });

export function boolean(): Schema<boolean> {
  return schema((v, p, i) => {
    if (typeof v !== 'boolean') typeIssue(i, p, 'boolean', v);
  });
}

export function literal<const L extends readonly string[]>(
  values: L,
  message?: (v: unknown) => string,
): Schema<L[number]> {
  return schema((v, p, i) => {
    if (!values.includes(v as string))
      bad(i, p, v === undefined ? 'required' : (message?.(v) ?? `must be one of ${values.join(', ')}`));
  });
}

export function array<T>(item: Schema<T, boolean>, o: { min?: number } = {}): Schema<T[]> {
  return schema((v, p, i) => {
    if (!Array.isArray(v)) return typeIssue(i, p, 'array', v);
    if (o.min !== undefined && v.length < o.min)
      bad(i, p, o.min === 1 ? 'must not be empty' : `must have at least ${o.min} items`);
    v.forEach((x, n) => item.check(x, [...p, n], i));
  });
}

export function record<T>(value: Schema<T, boolean>): Schema<Record<string, T>> {
  return schema((v, p, i) => {
    if (kind(v) !== 'object') return typeIssue(i, p, 'object', v);
    for (const [k, x] of Object.entries(v as object)) value.check(x, [...p, k], i);
  });
}

type Shape = Record<string, Schema<unknown, boolean>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Schema<unknown, true> ? K : never }[keyof S];
type Flat<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Flat<
  { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

/** An object with the given fields; unknown fields are allowed and kept. */
export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  return schema((v, p, i) => {
    if (kind(v) !== 'object') return typeIssue(i, p, 'object', v);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(shape)) shape[k].check(o[k], [...p, k], i);
  });
}

/** Like object, and the type also admits unknown fields (a config written by a newer client). */
export function looseObject<S extends Shape>(shape: S): Schema<ObjectOf<S> & { [k: string]: unknown }> {
  return object(shape) as Schema<ObjectOf<S> & { [k: string]: unknown }>;
}

/** Every issue of `value` against `s` (empty when valid). */
export function issuesOf(s: Schema<unknown, boolean>, value: unknown): Issue[] {
  const out: Issue[] = [];
  s.check(value, [], out);
  return out;
}
