// Continue tokens for paginated lists. Like Kubernetes' own, a token carries the revision the
// first page was read at and the key to resume from, so every page of one list is read at the
// same revision (a consistent snapshot even while writes happen). The token is opaque to clients:
// base64url of a small JSON object, validated on the way back in.
import { invalidArgument } from '../../common/index.js';

interface Token {
  v: 1;
  rv: number;
  start: string;
  rem?: number;
}

/** `remaining` (optional): keys from startKey on at that revision, so later pages need not count again. */
export function encodeContinue(revision: number, startKey: string, remaining?: number): string {
  const t: Token = { v: 1, rv: revision, start: startKey };
  if (remaining !== undefined) t.rem = remaining;
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

/** Decodes a token and checks that it belongs to a list of `prefix`. */
export function decodeContinue(
  token: string,
  prefix: string,
): { revision: number; startKey: string; remaining?: number } {
  let t: Partial<Token>;
  try {
    t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Token>;
  } catch {
    throw invalidArgument('continue token is malformed', { field: 'continue', reason: 'InvalidContinue' });
  }
  if (
    t === null ||
    typeof t !== 'object' ||
    t.v !== 1 ||
    typeof t.rv !== 'number' ||
    !Number.isSafeInteger(t.rv) ||
    t.rv <= 0 ||
    typeof t.start !== 'string'
  ) {
    throw invalidArgument('continue token is malformed', { field: 'continue', reason: 'InvalidContinue' });
  }
  if (!t.start.startsWith(prefix)) {
    throw invalidArgument(`continue token does not belong to a list of ${JSON.stringify(prefix)}`, {
      field: 'continue',
      reason: 'InvalidContinue',
    });
  }
  const remaining = typeof t.rem === 'number' && Number.isSafeInteger(t.rem) && t.rem >= 0 ? t.rem : undefined;
  return { revision: t.rv, startKey: t.start, remaining };
}

/** The smallest key greater than every key that starts with `key` (for "resume after key"). */
export function keyAfter(key: string): string {
  return key + '\u0000';
}

/** The exclusive upper bound of the keys under `prefix` (etcd's range_end for a prefix), or
 *  undefined when every key from `prefix` on is included. Works on UTF-16 code units; keys are
 *  ASCII in practice (Kubernetes registry paths). */
export function prefixEnd(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return undefined;
}
