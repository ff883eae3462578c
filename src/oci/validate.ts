// Turns zod issues into one InvalidArgument naming every bad field (`process.args: required`).
import type { z } from 'zod';
import { invalidArgument } from '../common/index.js';

export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/** Parses `value`; throws InvalidArgument whose message lists `field: problem` pairs. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string, prefix = ''): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => {
    const field = fieldPath([...(prefix ? [prefix] : []), ...i.path]) || '(root)';
    const missing = i.code === 'invalid_type' && /received undefined/.test(i.message);
    return { field, message: missing ? 'required' : i.message };
  });
  const msg = `invalid ${what}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`;
  return (() => { throw invalidArgument(msg, { field: details[0]?.field, details }); })();
}
