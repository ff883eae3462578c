// Turning a registry's error response into a Skiff error that names what failed; `reason` carries
// the distribution code (MANIFEST_UNKNOWN, DIGEST_INVALID, …) so callers can branch on it.
import { SkiffError, type ErrorCode } from '../../common/index.js';
import type { HttpRes } from './http.js';

export async function remoteError(res: HttpRes, what: string): Promise<SkiffError> {
  let code = '';
  let message = '';
  try {
    const body = JSON.parse((await res.buffer(1 << 20)).toString('utf8')) as {
      errors?: { code?: string; message?: string; detail?: unknown }[];
      details?: string;
    };
    const e = body.errors?.[0];
    if (e) {
      code = e.code ?? '';
      message = e.message ?? '';
    } else if (body.details) message = body.details;
  } catch {
    /* not JSON */
  }
  const status = res.status;
  const kind: ErrorCode =
    status === 404
      ? 'NotFound'
      : status === 401 || status === 403
        ? 'FailedPrecondition'
        : status === 429 || status >= 500
          ? 'Unavailable'
          : status === 409
            ? 'Conflict'
            : 'InvalidArgument';
  const reason =
    code ||
    (status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : status === 404 ? 'NOT_FOUND' : `HTTP_${status}`);
  const text =
    status === 401
      ? `${what}: unauthorized: authentication required${message ? ` (${message})` : ''}`
      : `${what}: ${res.url.host} answered ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
  return new SkiffError(kind, text, { reason });
}
