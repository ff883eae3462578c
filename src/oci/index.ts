// OCI specs: runtime-spec config/state types and schemas. (Image-spec types live with the image
// component until something below it needs them.) No third-party validation library: the runtime
// CLI loads this per call (see check.ts).
export * from './runtime-spec.js';
export { parseOrThrow, fieldPath } from './validate.js';
export * as check from './check.js';
export type { Schema, Infer, Issue } from './check.js';
import { SpecSchema, type Spec } from './runtime-spec.js';
import { parseOrThrow } from './validate.js';

/** Validates a parsed config.json; errors name the bad field. */
export function parseSpec(value: unknown): Spec {
  return parseOrThrow(SpecSchema, value, 'config.json');
}
