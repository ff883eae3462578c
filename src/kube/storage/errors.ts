// The Store's errors, all from the closed set in common, told apart by `reason` so that the API
// server maps them once: KeyExists → 409 AlreadyExists, Conflict → 409, Compacted → 410 Expired,
// FutureRevision → 504/400 "Too large resource version", NotFound → 404.
import {
  alreadyExists,
  conflict,
  failedPrecondition,
  invalidArgument,
  notFound,
  type SkiffError,
} from '../../common/index.js';

export function keyExists(key: string): SkiffError {
  return alreadyExists(`key ${JSON.stringify(key)} already exists`, { reason: 'KeyExists', field: 'key' });
}

export function keyNotFound(key: string): SkiffError {
  return notFound(`key ${JSON.stringify(key)} not found`, { reason: 'KeyNotFound', field: 'key' });
}

export function revisionConflict(key: string, expected: number, actual: number): SkiffError {
  return conflict(`key ${JSON.stringify(key)} is at revision ${actual}, not the expected ${expected}`, {
    reason: 'RevisionMismatch',
    field: 'expectedRevision',
  });
}

export function compacted(revision: number, compactRevision: number): SkiffError {
  return failedPrecondition(`revision ${revision} has been compacted (compacted up to ${compactRevision})`, {
    reason: 'Compacted',
    field: 'revision',
  });
}

export function futureRevision(revision: number, current: number): SkiffError {
  return invalidArgument(`revision ${revision} is in the future (current revision is ${current})`, {
    reason: 'FutureRevision',
    field: 'revision',
  });
}

export function badRevision(field: string, value: unknown): SkiffError {
  return invalidArgument(`${field} must be a non-negative safe integer, got ${JSON.stringify(value)}`, { field });
}

export function checkRevision(field: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isSafeInteger(v) || v < 0) throw badRevision(field, value);
  return v;
}

export function checkKey(key: unknown, field = 'key'): string {
  if (typeof key !== 'string' || key.length === 0)
    throw invalidArgument(`${field} must be a non-empty string`, { field });
  if (key.includes('\u0000')) throw invalidArgument(`${field} must not contain NUL characters`, { field });
  return key;
}
