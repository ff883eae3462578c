// The one place errors become Kubernetes `Status` objects (apimachinery meta/v1 Status). Handlers
// throw SkiffErrors (from src/common, or from the store) or ApiErrors made with the helpers below;
// `toStatus` turns either into {code, body} with upstream's reasons, messages and causes.
import { SkiffError, isSkiffError } from '../../common/index.js';
import type { FieldError } from '../api/index.js';

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'Expired'
  | 'Gone'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'TooManyRequests';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** An error that already knows its Kubernetes reason and code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }
}

/** What a Status' details name: the resource (plural), its group and the object's name. */
export interface ErrorTarget {
  resource?: string;
  group?: string;
  name?: string;
  kind?: string;
}

const qualified = (t: ErrorTarget) => (t.group ? `${t.resource}.${t.group}` : (t.resource ?? 'resource'));

export const errNotFound = (t: ErrorTarget) =>
  new ApiError(404, 'NotFound', `${qualified(t)} "${t.name ?? ''}" not found`, {
    name: t.name,
    group: t.group,
    kind: t.resource,
  });
export const errAlreadyExists = (t: ErrorTarget) =>
  new ApiError(409, 'AlreadyExists', `${qualified(t)} "${t.name ?? ''}" already exists`, {
    name: t.name,
    group: t.group,
    kind: t.resource,
  });
export const errConflict = (
  t: ErrorTarget,
  why = 'the object has been modified; please apply your changes to the latest version and try again',
) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${t.name ?? ''}": ${why}`, {
    name: t.name,
    group: t.group,
    kind: t.resource,
  });
export const errBadRequest = (message: string) => new ApiError(400, 'BadRequest', message);
/** A 409 AlreadyExists, whether an ApiError or the store's KeyExists. */
export const isAlreadyExists = (e: unknown) =>
  (e instanceof ApiError && e.reason === 'AlreadyExists') || isSkiffError(e, 'AlreadyExists');
export const errExpired = (message: string) => new ApiError(410, 'Expired', message);
export const errMethodNotAllowed = (message: string) => new ApiError(405, 'MethodNotAllowed', message);
/** A method the resource path does not serve (POST to an object, PUT to a collection): upstream's
 *  generic 405, with empty details. */
export const errMethodNotServed = () =>
  new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
export const errForbidden = (message: string, t?: ErrorTarget) =>
  new ApiError(403, 'Forbidden', message, t ? { name: t.name, group: t.group, kind: t.resource } : undefined);

/** 422 Invalid, in upstream's words: `Kind "name" is invalid: field: message` (several: `[a, b]`). */
export function errInvalid(t: ErrorTarget, errors: FieldError[]): ApiError {
  const parts = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  // Upstream names the kind qualified by its group (`Deployment.apps "x" is invalid`).
  const kind = t.kind ? (t.group ? `${t.kind}.${t.group}` : t.kind) : qualified(t);
  const msg = `${kind} "${t.name ?? ''}" is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`}`;
  return new ApiError(422, 'Invalid', msg, {
    name: t.name || undefined,
    group: t.group,
    kind: t.kind ?? t.resource,
    causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  });
}

/** 422 Invalid of a request's options (`ListOptions.meta.k8s.io "" is invalid: …`), as upstream
 *  validates the decoded query parameters. */
export const errInvalidOptions = (kind: string, error: FieldError) =>
  errInvalid({ kind, group: 'meta.k8s.io' }, [error]);

/** The options object a write verb decodes its query into. */
export const optionsKind = (verb: string) =>
  verb === 'update'
    ? 'UpdateOptions'
    : verb === 'patch'
      ? 'PatchOptions'
      : verb === 'delete' || verb === 'deletecollection'
        ? 'DeleteOptions'
        : 'CreateOptions';

/** A resourceVersion that is no number: upstream's storage fails it as an internal error (500, no
 *  reason) in strconv's words. */
export const errBadResourceVersion = (rv: string) =>
  new ApiError(
    500,
    '' as StatusReason,
    `resourceVersion: Invalid value: "${rv}": strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`,
  );

export function statusOf(
  code: number,
  reason: StatusReason | undefined,
  message: string,
  details?: StatusDetails,
): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code };
  if (reason) s.reason = reason;
  // Every field of upstream's StatusDetails is omitempty: the core group's "" is left out.
  if (details?.group === '') {
    details = { ...details };
    delete details.group;
  }
  if (details && Object.values(details).some((v) => v !== undefined)) s.details = details;
  // An explicit {} stays: upstream's generic errors ("the server could not find the requested
  // resource") carry an empty details object, and kubectl debug reads details.name unchecked.
  else if (details && Object.keys(details).length === 0) s.details = {};
  return s;
}

export function successStatus(details?: StatusDetails): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 } as Status;
}

/** Maps anything thrown to a Status. `target` fills in resource/name for bare store errors. */
export function toStatus(e: unknown, target: ErrorTarget = {}): Status {
  if (e instanceof ApiError) return statusOf(e.code, e.reason, e.message, e.details);
  if (isSkiffError(e)) return fromSkiff(e, target);
  return statusOf(500, 'InternalError', `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
}

function fromSkiff(e: SkiffError, t: ErrorTarget): Status {
  switch (e.code) {
    case 'NotFound':
      return toStatus(errNotFound(t));
    case 'AlreadyExists':
      return toStatus(errAlreadyExists(t));
    case 'Conflict':
      return toStatus(errConflict(t));
    case 'InvalidArgument':
      if (e.details?.length || e.field) {
        const errs: FieldError[] = (e.details ?? [{ field: e.field!, message: e.message }]).map((d) => ({
          type: 'FieldValueInvalid',
          field: d.field,
          message: d.message,
        }));
        return toStatus(errInvalid(t, errs));
      }
      return statusOf(400, 'BadRequest', e.message);
    case 'FailedPrecondition':
      if (e.reason === 'Compacted') return statusOf(410, 'Expired', `too old resource version: ${e.message}`);
      if (e.reason === 'FutureRevision')
        return statusOf(504, 'Timeout', `Too large resource version: ${e.message}`, { retryAfterSeconds: 1 });
      return statusOf(409, 'Conflict', e.message);
    case 'Unavailable':
      return statusOf(503, 'ServiceUnavailable', e.message);
    case 'NotImplemented':
      return statusOf(405, 'MethodNotAllowed', e.message);
    case 'Internal':
      return statusOf(500, 'InternalError', `Internal error occurred: ${e.message}`);
  }
}
