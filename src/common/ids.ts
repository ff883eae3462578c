// Branded identifiers: a plain string at run time, distinct types at compile time.
import { randomBytes } from 'node:crypto';
import { invalidArgument } from './errors.js';

export type Brand<T, B extends string> = T & { readonly __brand: B };
export type ContainerId = Brand<string, 'ContainerId'>;
export type Digest = Brand<string, 'Digest'>;
export type ResourceVersion = Brand<string, 'ResourceVersion'>;

/** 64 hex characters, as Docker container and image ids. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** A short random suffix for unique names (tests, temp files). */
export function randomSuffix(bytes = 4): string {
  return randomBytes(bytes).toString('hex');
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$/;

/** Ids that become path components: no separators, no `..`, no leading dot. */
export function checkSafeId(id: string, what = 'id'): string {
  if (!SAFE_ID.test(id) || id.includes('..')) {
    throw invalidArgument(
      `invalid ${what} ${JSON.stringify(id)}: use letters, digits, '_', '.', '+' or '-' (no path characters)`,
      { field: what },
    );
  }
  return id;
}
