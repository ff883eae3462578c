// OCI specs: runtime-spec config/state types and schemas. (Image-spec types live with the image
// component until something below it needs them.)
export * from './runtime-spec.js';
export { parseOrThrow, fieldPath } from './validate.js';
import { SpecSchema, type Spec } from './runtime-spec.js';
import { parseOrThrow } from './validate.js';

/** Validates a parsed config.json; errors name the bad field. */
export function parseSpec(value: unknown): Spec {
  return parseOrThrow(SpecSchema, value, 'config.json');
}
