// application/json-patch+json (RFC 6902) through fast-json-patch.
import fjp from 'fast-json-patch';
import { ApiError, errBadRequest } from '../status.js';

export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw errBadRequest('json patch must be an array of operations');
  const err = fjp.validate(patch as fjp.Operation[], undefined);
  if (err)
    throw errBadRequest(
      `the server rejected our request due to an error in our request: ${err.name}: ${err.message.split('\n')[0]}`,
    );
  try {
    return fjp.applyPatch(structuredClone(doc), patch as fjp.Operation[], true, true, true).newDocument;
  } catch {
    // Upstream's generic 422 for an operation that cannot apply (a missing path, a failed test):
    // its own words only, with empty details.
    throw new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
  }
}
