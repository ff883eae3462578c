// Walking the definitions' OpenAPI schemas: $ref resolution, unknown-field detection (for
// fieldValidation), pruning, structural validation (types, required, enum, bounds, patterns) and
// list/merge semantics for strategic merge patch and server-side apply.
import type { FieldError, JSONSchemaProps } from '../api/index.js';
import { isObject } from '../../common/index.js';

export interface SchemaContext {
  defs: Record<string, JSONSchemaProps>;
  /** CRD (structural) semantics: an object schema without properties keeps no unknown fields. */
  structural?: boolean;
}

/** Resolved schemas per context, by the schema object asked about (schemas are never mutated). */
const resolvedCache = new WeakMap<SchemaContext, WeakMap<JSONSchemaProps, JSONSchemaProps>>();

export function resolve(s: JSONSchemaProps | undefined, ctx: SchemaContext): JSONSchemaProps | undefined {
  if (!s || (!s.$ref && !s.allOf)) return s;
  let m = resolvedCache.get(ctx);
  if (!m) resolvedCache.set(ctx, (m = new WeakMap()));
  let r = m.get(s);
  if (!r) {
    r = resolveUncached(s, ctx) ?? {};
    m.set(s, r);
  }
  return r;
}

function resolveUncached(s: JSONSchemaProps | undefined, ctx: SchemaContext): JSONSchemaProps | undefined {
  for (let i = 0; s && i < 20; i++) {
    if (s.$ref) {
      const name = s.$ref.replace(/^#\/(components\/schemas|definitions)\//, '');
      const target = ctx.defs[name];
      const { $ref: _r, ...rest } = s;
      s = target ? { ...target, ...rest, ...(rest.description ? {} : {}) } : rest;
      continue;
    }
    if (s.allOf?.length === 1 && !s.properties && !s.type) {
      const { allOf, ...rest } = s;
      s = { ...allOf[0], ...rest };
      continue;
    }
    return s;
  }
  return s;
}

export function propertySchema(
  s: JSONSchemaProps | undefined,
  key: string,
  ctx: SchemaContext,
): JSONSchemaProps | undefined {
  const r = resolve(s, ctx);
  if (!r) return undefined;
  if (r.properties && key in r.properties) return resolve(r.properties[key], ctx);
  if (r.additionalProperties && typeof r.additionalProperties === 'object') return resolve(r.additionalProperties, ctx);
  return undefined;
}
export function itemSchema(s: JSONSchemaProps | undefined, ctx: SchemaContext): JSONSchemaProps | undefined {
  return resolve(resolve(s, ctx)?.items, ctx);
}

/** `map` lists carry their key fields' schema defaults: an item that omits a defaulted key
 *  (ports[].protocol) is keyed by the default, as structured-merge-diff does. */
export type ListSemantics =
  | { type: 'map'; keys: string[]; defaults?: Record<string, unknown> }
  | { type: 'set' }
  | { type: 'atomic' };

function keyDefaults(r: JSONSchemaProps, keys: string[], ctx: SchemaContext): Record<string, unknown> | undefined {
  const is = resolve(r.items, ctx);
  let out: Record<string, unknown> | undefined;
  for (const k of keys) {
    const d = propertySchema(is, k, ctx)?.default;
    if (d !== undefined) (out ??= {})[k] = d;
  }
  return out;
}

/** How a list merges: SSA's list-type wins, then strategic merge patch's strategy/merge key. */
export function listSemantics(s: JSONSchemaProps | undefined, ctx: SchemaContext): ListSemantics {
  const r = resolve(s, ctx);
  if (!r) return { type: 'atomic' };
  const mergeKey = r['x-kubernetes-patch-merge-key'];
  const strategy = r['x-kubernetes-patch-strategy'] ?? '';
  if (r['x-kubernetes-list-type'] === 'map') {
    const keys = r['x-kubernetes-list-map-keys'] ?? (mergeKey ? [mergeKey] : []);
    return { type: 'map', keys, defaults: keyDefaults(r, keys, ctx) };
  }
  if (r['x-kubernetes-list-type'] === 'set') return { type: 'set' };
  if (strategy.split(',').includes('merge')) return mergeKey ? { type: 'map', keys: [mergeKey] } : { type: 'set' };
  return { type: 'atomic' };
}

function freeForm(r: JSONSchemaProps, ctx: SchemaContext): boolean {
  if (r['x-kubernetes-preserve-unknown-fields'] || (r['x-kubernetes-embedded-resource'] && !r.properties)) return true;
  if (r.additionalProperties === true) return true;
  if (!r.properties && !r.additionalProperties) return !ctx.structural;
  return false;
}

const childPath = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** Unknown fields of `value` under schema `s` (paths as upstream prints them); removes them when prune. */
export function unknownFields(
  value: unknown,
  s: JSONSchemaProps | undefined,
  ctx: SchemaContext,
  prune: boolean,
  path = '',
  out: string[] = [],
): string[] {
  const r = resolve(s, ctx);
  if (!r || value === null || value === undefined) return out;
  if (Array.isArray(value)) {
    if (r.items) value.forEach((v, i) => unknownFields(v, r.items, ctx, prune, `${path}[${i}]`, out));
    return out;
  }
  if (!isObject(value)) return out;
  if (r['x-kubernetes-int-or-string']) return out;
  const preserve = freeForm(r, ctx);
  for (const key of Object.keys(value)) {
    const p = r.properties?.[key];
    if (p && value[key] === null && !ctx.structural) {
      // Built-in kinds decode into Go structs, where a JSON null leaves the field unset (kubectl
      // sends `creationTimestamp: null` inside pod templates, e.g. in `rollout undo`'s patch).
      delete value[key];
      continue;
    }
    if (p) {
      unknownFields(value[key], p, ctx, prune, childPath(path, key), out);
      continue;
    }
    if (r.additionalProperties && typeof r.additionalProperties === 'object') {
      unknownFields(value[key], r.additionalProperties, ctx, prune, childPath(path, key), out);
      continue;
    }
    if (preserve) continue;
    out.push(childPath(path, key));
    if (prune) delete value[key];
  }
  return out;
}

const typeName = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
const show = (v: unknown) =>
  typeof v === 'string' ? JSON.stringify(v) : isObject(v) || Array.isArray(v) ? JSON.stringify(typeName(v)) : String(v);

/** The JSON kind Go's decoder names ("cannot unmarshal string into …"). */
const goJsonKind = (v: unknown) => (Array.isArray(v) ? 'array' : isObject(v) ? 'object' : typeof v);
/** The Go type a schema stands for, as far as the decoder's message needs it. */
function goType(r: JSONSchemaProps): string {
  if (r.type === 'integer') return r.format === 'int32' ? 'int32' : 'int64';
  if (r.type === 'number') return 'float64';
  if (r.type === 'boolean') return 'bool';
  if (r.type === 'array') return '[]';
  if (r.type === 'object') return r.additionalProperties ? 'map' : 'struct';
  return r.type ?? 'interface {}';
}

/** A schema's compiled `pattern` (undefined when it does not compile), once per schema node. */
const patterns = new WeakMap<JSONSchemaProps, RegExp | undefined>();
function patternOf(r: JSONSchemaProps): RegExp | undefined {
  if (patterns.has(r)) return patterns.get(r);
  let re: RegExp | undefined;
  try {
    re = new RegExp(r.pattern!, 'u');
  } catch {
    re = undefined;
  }
  patterns.set(r, re);
  return re;
}

/** Structural validation with upstream's (CRD validation) messages. */
/** The Go struct a schema names by reference (`…apps.v1.DeploymentSpec` → `DeploymentSpec`). */
function structName(s: JSONSchemaProps | undefined): string | undefined {
  const ref = s?.$ref ?? (s?.allOf?.length === 1 ? s.allOf[0].$ref : undefined);
  return ref ? ref.slice(ref.lastIndexOf('.') + 1).replace(/^.*\//, '') : undefined;
}

/** `go`: where Go's decoder would be (the innermost struct and its path without list indexes or
 *  map keys), for the words of a decode error. */
export function validateSchema(
  value: unknown,
  s: JSONSchemaProps | undefined,
  ctx: SchemaContext,
  path = '',
  out: FieldError[] = [],
  go: { struct?: string; path: string } = { path: '' },
): FieldError[] {
  const r = resolve(s, ctx);
  if (!r || value === undefined) return out;
  if (value === null) {
    // Built-in kinds decode null as the field's zero value (Go structs; `lastProbeTime: null` is
    // what every client writes); CRDs' structural schemas refuse it unless nullable.
    if (r.nullable || !r.type || !ctx.structural) return out;
    out.push({
      type: 'FieldValueTypeInvalid',
      field: path,
      message: `Invalid value: "null": ${path} in body must be of type ${r.type}: "null"`,
    });
    return out;
  }
  const t = typeName(value);
  if (r['x-kubernetes-int-or-string']) {
    if (t !== 'string' && t !== 'integer')
      out.push({
        type: 'FieldValueTypeInvalid',
        field: path,
        message: `Invalid value: ${show(value)}: ${path} in body must be of type integer,string: ${JSON.stringify(t)}`,
      });
    return out;
  }
  const okType =
    !r.type || r.type === t || (r.type === 'number' && t === 'integer') || (r.type === 'object' && t === 'object');
  if (!okType) {
    out.push({
      type: 'FieldValueTypeInvalid',
      field: path,
      message: `Invalid value: ${show(value)}: ${path} in body must be of type ${r.type}: ${JSON.stringify(t)}`,
      decode: { got: goJsonKind(value), want: goType(r), struct: go.struct, goPath: go.path },
    });
    return out;
  }
  if (r.enum && !r.enum.some((e) => e === value)) {
    out.push({
      type: 'FieldValueNotSupported',
      field: path,
      message: `Unsupported value: ${show(value)}: supported values: ${r.enum.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  }
  if (typeof value === 'number') {
    if (r.maximum !== undefined && value > r.maximum)
      out.push({
        type: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be less than or equal to ${r.maximum}`,
      });
    if (r.minimum !== undefined && value < r.minimum)
      out.push({
        type: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${r.minimum}`,
      });
  }
  if (typeof value === 'string') {
    if (r.maxLength !== undefined && value.length > r.maxLength)
      out.push({
        type: 'FieldValueTooLong',
        field: path,
        message: `Too long: may not be more than ${r.maxLength} bytes`,
      });
    if (r.minLength !== undefined && value.length < r.minLength)
      out.push({
        type: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${show(value)}: ${path} in body should be at least ${r.minLength} chars long`,
      });
    if (r.pattern) {
      const re = patternOf(r);
      if (re && !re.test(value))
        out.push({
          type: 'FieldValueInvalid',
          field: path,
          message: `Invalid value: ${show(value)}: ${path} in body should match '${r.pattern}'`,
        });
    }
  }
  if (Array.isArray(value)) {
    if (r.maxItems !== undefined && value.length > r.maxItems)
      out.push({
        type: 'FieldValueTooMany',
        field: path,
        message: `Too many: ${value.length}: must have at most ${r.maxItems} items`,
      });
    if (r.minItems !== undefined && value.length < r.minItems)
      out.push({
        type: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${value.length}: ${path} in body should have at least ${r.minItems} items`,
      });
    if (r.items) {
      const g = { struct: structName(r.items) ?? go.struct, path: go.path };
      value.forEach((v, i) => validateSchema(v, r.items, ctx, `${path}[${i}]`, out, g));
    }
    return out;
  }
  if (isObject(value)) {
    for (const req of r.required ?? []) {
      if (value[req] === undefined)
        out.push({ type: 'FieldValueRequired', field: childPath(path, req), message: 'Required value' });
    }
    for (const k in value) {
      const prop = r.properties?.[k];
      const p = prop ?? (typeof r.additionalProperties === 'object' ? r.additionalProperties : undefined);
      // A struct's field extends Go's path; a map's value keeps the map field's.
      const gp = prop ? (go.path ? `${go.path}.${k}` : k) : go.path;
      if (p)
        validateSchema(value[k], p, ctx, childPath(path, k), out, { struct: structName(p) ?? go.struct, path: gp });
    }
  }
  return out;
}

/** Fills `default`s from the schema (CRD defaulting). */
export function applyDefaults(value: unknown, s: JSONSchemaProps | undefined, ctx: SchemaContext): void {
  const r = resolve(s, ctx);
  if (!r) return;
  if (Array.isArray(value)) {
    if (r.items) for (const v of value) applyDefaults(v, r.items, ctx);
    return;
  }
  if (!isObject(value)) return;
  for (const [k, p] of Object.entries(r.properties ?? {})) {
    const pr = resolve(p, ctx);
    if (value[k] === undefined && pr?.default !== undefined) value[k] = structuredClone(pr.default);
    if (value[k] !== undefined) applyDefaults(value[k], p, ctx);
  }
}
