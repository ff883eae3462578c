// Predicates over the Store's errors, for the API server's mapping.
import { isSkiffError } from '../../common/index.js';

export const isCompacted = (e: unknown): boolean => isSkiffError(e, 'FailedPrecondition') && e.reason === 'Compacted';
export const isKeyExists = (e: unknown): boolean => isSkiffError(e, 'AlreadyExists') && e.reason === 'KeyExists';
export const isFutureRevision = (e: unknown): boolean =>
  isSkiffError(e, 'InvalidArgument') && e.reason === 'FutureRevision';
