// Turns schema issues into one InvalidArgument naming every bad field (`process.args: required`).
import { invalidArgument } from '../common/index.js';
import { issuesOf, type Schema, type PathPart } from './check.js';

export function fieldPath(path: readonly PathPart[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

/** Checks `value`; returns it typed, or throws InvalidArgument whose message lists `field: problem` pairs. */
export function parseOrThrow<T>(schema: Schema<T, boolean>, value: unknown, what: string, prefix = ''): T {
  const issues = issuesOf(schema, value);
  if (issues.length === 0) return value as T;
  const details = issues.map((i) => ({
    field: fieldPath([...(prefix ? [prefix] : []), ...i.path]) || '(root)',
    message: i.message,
  }));
  const msg = `invalid ${what}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`;
  throw invalidArgument(msg, { field: details[0]?.field, details });
}
