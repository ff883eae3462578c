// The field manager of a write: `fieldManager`, else the client's user agent (as upstream).
import type { OperationScope } from '../context.js';
import { errBadRequest } from '../status.js';

export function managerName(r: OperationScope, required = false): string {
  const m = r.query.get('fieldManager');
  if (m !== null && m !== '') {
    if (m.length > 128) throw errBadRequest(`fieldManager: Too long: may not be more than 128 bytes`);
    return m;
  }
  if (required)
    throw errBadRequest(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  const ua = String(r.req.headers['user-agent'] ?? 'unknown');
  return ua.split('/')[0].slice(0, 128) || 'unknown';
}
