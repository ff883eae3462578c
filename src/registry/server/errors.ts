// Distribution error codes (OCI Distribution Spec §"Error Codes"). Handlers throw Skiff's closed-set
// errors with `reason` = the distribution code; `toWireError` maps them to status + JSON body once,
// at the HTTP edge.
import { SkiffError, isSkiffError, httpStatus, type ErrorCode } from '../../common/index.js';

export type DistCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  | 'PAGINATION_NUMBER_INVALID'
  | 'UNKNOWN';

const TABLE: Record<DistCode, [number, ErrorCode]> = {
  BLOB_UNKNOWN: [404, 'NotFound'],
  BLOB_UPLOAD_INVALID: [400, 'InvalidArgument'],
  BLOB_UPLOAD_UNKNOWN: [404, 'NotFound'],
  DIGEST_INVALID: [400, 'InvalidArgument'],
  MANIFEST_BLOB_UNKNOWN: [400, 'InvalidArgument'],
  MANIFEST_INVALID: [400, 'InvalidArgument'],
  MANIFEST_UNKNOWN: [404, 'NotFound'],
  NAME_INVALID: [400, 'InvalidArgument'],
  NAME_UNKNOWN: [404, 'NotFound'],
  SIZE_INVALID: [400, 'InvalidArgument'],
  UNAUTHORIZED: [401, 'FailedPrecondition'],
  DENIED: [403, 'FailedPrecondition'],
  UNSUPPORTED: [405, 'NotImplemented'],
  TOOMANYREQUESTS: [429, 'Unavailable'],
  RANGE_INVALID: [416, 'InvalidArgument'],
  PAGINATION_NUMBER_INVALID: [400, 'InvalidArgument'],
  UNKNOWN: [500, 'Internal'],
};

/** A Skiff error carrying a distribution code; `detail` lands in the wire body's `detail`. */
export function regError(
  code: DistCode,
  message: string,
  detail?: Record<string, unknown>,
  field?: string,
): SkiffError {
  const err = new SkiffError(TABLE[code][1], message, { reason: code, field });
  if (detail) (err as SkiffError & { detail?: unknown }).detail = detail;
  return err;
}

export interface WireError {
  status: number;
  body: { errors: { code: string; message: string; detail?: unknown }[] };
}

export function toWireError(e: unknown): WireError {
  if (isSkiffError(e)) {
    const reason = e.reason as DistCode | undefined;
    const detail =
      (e as SkiffError & { detail?: unknown }).detail ??
      (e.details ? { details: e.details } : e.field ? { field: e.field } : undefined);
    if (reason && reason in TABLE) {
      return {
        status: TABLE[reason][0],
        body: { errors: [{ code: reason, message: e.message, ...(detail ? { detail } : {}) }] },
      };
    }
    const status = httpStatus(e.code);
    const code = e.code === 'NotFound' ? 'NAME_UNKNOWN' : e.code === 'InvalidArgument' ? 'UNSUPPORTED' : 'UNKNOWN';
    return { status, body: { errors: [{ code, message: e.message, ...(detail ? { detail } : {}) }] } };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { status: 500, body: { errors: [{ code: 'UNKNOWN', message }] } };
}
