// Validation of repository names, tags and digests, with the OCI Distribution Spec's grammar.
import { regError } from './errors.js';

// spec: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
export const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function checkName(name: string): string {
  if (name.length > 255 || !NAME_RE.test(name)) {
    throw regError(
      'NAME_INVALID',
      `invalid repository name ${JSON.stringify(name)}: lowercase letters, digits and separators (. _ __ -) between path components`,
      { name },
      'name',
    );
  }
  return name;
}

export function isDigest(ref: string): boolean {
  return ref.includes(':');
}

export function checkDigest(d: string, field = 'digest'): string {
  if (DIGEST_RE.test(d)) return d;
  if (ANY_DIGEST_RE.test(d) && !d.startsWith('sha256:')) {
    throw regError(
      'DIGEST_INVALID',
      `unsupported digest algorithm in ${JSON.stringify(d)}: only sha256 is supported`,
      { [field]: d },
      field,
    );
  }
  throw regError(
    'DIGEST_INVALID',
    `invalid digest ${JSON.stringify(d)}: want sha256:<64 lowercase hex>`,
    { [field]: d },
    field,
  );
}

export function checkTag(tag: string): string {
  if (!TAG_RE.test(tag))
    throw regError(
      'MANIFEST_INVALID',
      `invalid tag ${JSON.stringify(tag)}: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`,
      { tag },
      'tag',
    );
  return tag;
}

export function hexOf(digest: string): string {
  return digest.slice(7);
}
