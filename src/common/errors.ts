// The closed set of errors every Skiff component throws. Each API edge maps them to HTTP once
// (Docker `{"message"}`, Kubernetes `Status`); the CLIs map them to exit codes.

export type ErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'Unavailable'
  | 'NotImplemented'
  | 'Internal';

export interface SkiffErrorOptions {
  cause?: unknown;
  /** Field path the error is about (for validation errors), e.g. `process.args`. */
  field?: string;
  /** Further per-field details (several validation failures at once). */
  details?: { field: string; message: string }[];
  /** Finer machine-readable reason within the code, e.g. `Compacted` (a FailedPrecondition that
   *  the Kubernetes edge maps to 410 Gone), `FutureRevision`, `KeyExists`. */
  reason?: string;
}

export class SkiffError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly details?: { field: string; message: string }[];
  readonly reason?: string;
  constructor(code: ErrorCode, message: string, opts: SkiffErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = code;
    this.code = code;
    this.field = opts.field;
    this.details = opts.details;
    this.reason = opts.reason;
  }
}

const make = (code: ErrorCode) => (message: string, opts?: SkiffErrorOptions) => new SkiffError(code, message, opts);

export const notFound = make('NotFound');
export const alreadyExists = make('AlreadyExists');
export const conflict = make('Conflict');
export const invalidArgument = make('InvalidArgument');
export const failedPrecondition = make('FailedPrecondition');
export const unavailable = make('Unavailable');
export const notImplemented = make('NotImplemented');
export const internal = make('Internal');

export function isSkiffError(e: unknown, code?: ErrorCode): e is SkiffError {
  return e instanceof SkiffError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a SkiffError (unknown errors become Internal, keeping the cause). */
export function toSkiffError(e: unknown): SkiffError {
  if (e instanceof SkiffError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOENT') return new SkiffError('NotFound', msg, { cause: e });
  if (errno === 'EEXIST') return new SkiffError('AlreadyExists', msg, { cause: e });
  if (errno === 'EINVAL') return new SkiffError('InvalidArgument', msg, { cause: e });
  if (errno === 'EBUSY' || errno === 'EAGAIN') return new SkiffError('Unavailable', msg, { cause: e });
  return new SkiffError('Internal', msg, { cause: e });
}

/** HTTP status for an error code; used by every API edge. */
export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case 'NotFound':
      return 404;
    case 'AlreadyExists':
      return 409;
    case 'Conflict':
      return 409;
    case 'InvalidArgument':
      return 400;
    case 'FailedPrecondition':
      return 409;
    case 'Unavailable':
      return 503;
    case 'NotImplemented':
      return 501;
    case 'Internal':
      return 500;
  }
}
