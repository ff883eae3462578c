// authentication.k8s.io/v1 TokenReview (is this token valid, and whose is it) and TokenRequest
// (`POST …/serviceaccounts/NAME/token`, what `kubectl create token` and the kubelet's projected
// volumes call): spec validation and the status the server returns.
import { invalidArgument } from '../../../common/index.js';
import type { Authenticator } from './authn.js';
import type { ServiceAccountKey } from './pki.js';
import { signServiceAccountToken, DEFAULT_ISSUER, type BoundObject } from './serviceaccount.js';

import { arrayOf, int, nonEmptyStr, object, oneOf, parseSpec, str } from './shape.js';

const TokenReviewSpec = object({ token: str, audiences: arrayOf(str) });
interface TokenReviewSpec {
  token?: string;
  audiences?: string[] | null;
}

export interface TokenReviewStatus {
  authenticated: boolean;
  user?: { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> };
  audiences?: string[];
  error?: string;
}

/** TokenReview: authenticates spec.token against spec.audiences (default: the API server's). */
export async function reviewToken(authenticator: Authenticator, spec: unknown): Promise<TokenReviewStatus> {
  const s = parseSpec<TokenReviewSpec>(TokenReviewSpec, spec);
  if (!s.token) throw invalidArgument('spec.token: Required value: token must not be empty', { field: 'spec.token' });
  const r = await authenticator.token(s.token, s.audiences ?? undefined);
  if (!('user' in r)) return { authenticated: false, error: r.reason };
  return { authenticated: true, user: r.user, audiences: r.audiences };
}

const BoundObjectRef = object(
  { kind: oneOf(['Pod', 'Secret', 'Node']), apiVersion: str, name: nonEmptyStr, uid: str },
  ['kind', 'name'],
);
const TokenRequestSpec = object({ audiences: arrayOf(str), expirationSeconds: int, boundObjectRef: BoundObjectRef });
export interface TokenRequestSpec {
  audiences?: string[] | null;
  expirationSeconds?: number | null;
  boundObjectRef?: { kind: 'Pod' | 'Secret' | 'Node'; apiVersion?: string; name: string; uid?: string } | null;
  [k: string]: unknown;
}

export interface TokenRequestOptions {
  issuer?: string;
  /** Audiences used when the request names none (default: [issuer]). */
  defaultAudiences?: string[];
  /** Resolves the bound object's current uid (the server reads the pod/secret/node); undefined = missing. */
  lookupBoundObject?: (ref: { kind: string; name: string; namespace: string }) => Promise<{ uid: string } | undefined>;
  now?: Date;
}

/** TokenRequest for the service account `sa`: validates spec, signs, returns the status
 *  (`token`, `expirationTimestamp`). A bound object must exist (and match its uid when given). */
export async function requestServiceAccountToken(
  key: ServiceAccountKey,
  sa: { namespace: string; name: string; uid: string },
  spec: unknown,
  opts: TokenRequestOptions = {},
): Promise<{ token: string; expirationTimestamp: string }> {
  const s = parseSpec<TokenRequestSpec>(TokenRequestSpec, spec);
  let boundObject: BoundObject | undefined;
  if (s.boundObjectRef) {
    const ref = s.boundObjectRef;
    const found = opts.lookupBoundObject
      ? await opts.lookupBoundObject({ kind: ref.kind, name: ref.name, namespace: sa.namespace })
      : undefined;
    if (!found && opts.lookupBoundObject) {
      throw invalidArgument(`spec.boundObjectRef: Not found: ${ref.kind.toLowerCase()}s "${ref.name}" not found`, {
        field: 'spec.boundObjectRef.name',
      });
    }
    const uid = found?.uid ?? ref.uid ?? '';
    if (ref.uid && found && ref.uid !== found.uid) {
      throw invalidArgument(
        `spec.boundObjectRef.uid: Invalid value: "${ref.uid}": the ${ref.kind} has uid ${found.uid}`,
        { field: 'spec.boundObjectRef.uid' },
      );
    }
    boundObject = { kind: ref.kind, name: ref.name, uid };
  }
  const audiences = s.audiences?.length ? s.audiences : opts.defaultAudiences;
  return signServiceAccountToken(key, {
    namespace: sa.namespace,
    name: sa.name,
    uid: sa.uid,
    audiences,
    expirationSeconds: s.expirationSeconds ?? 3600,
    boundObject,
    issuer: opts.issuer,
    now: opts.now,
  });
}

/** Service-account issuer discovery (`/.well-known/openid-configuration`, `/openid/v1/jwks`), so
 *  other parties can verify the cluster's service-account tokens. `jwksUri` is the public URL of the
 *  JWKS document (default: `<issuer>/openid/v1/jwks`). */
export function serviceAccountIssuerDiscovery(
  key: ServiceAccountKey,
  opts: { issuer?: string; jwksUri?: string } = {},
) {
  const issuer = opts.issuer ?? DEFAULT_ISSUER;
  const jwk = key.publicKey.export({ format: 'jwk' });
  return {
    openidConfiguration: {
      issuer,
      jwks_uri: opts.jwksUri ?? `${issuer.replace(/\/$/, '')}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [key.alg],
    },
    jwks: { keys: [{ ...jwk, use: 'sig', kid: key.keyId, alg: key.alg }] },
  };
}
