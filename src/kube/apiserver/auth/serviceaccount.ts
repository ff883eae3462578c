// Service-account tokens: JWTs signed with the cluster's service-account key (ES256), in the two
// forms Kubernetes issues — bound tokens (TokenRequest / projected volumes: issuer, audiences,
// expiry, optionally bound to a pod) and legacy non-expiring tokens kept in Secrets of type
// kubernetes.io/service-account-token. Verification checks signature, issuer, audience, expiry,
// and that the service account (and the bound pod or secret) still exists with the same uid.
import { SignJWT, jwtVerify, decodeJwt, errors as joseErrors } from 'jose';
import { randomUUID } from 'node:crypto';
import { invalidArgument } from '../../../common/index.js';
import type { ServiceAccountKey } from './pki.js';
import type { UserInfo } from './user.js';
import { AUTHENTICATED_GROUP, SERVICE_ACCOUNTS_GROUP } from './user.js';

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';
const SA_PREFIX = 'system:serviceaccount:';
const MIN_EXPIRATION = 600; // upstream's minimum for TokenRequest.spec.expirationSeconds
const MAX_EXPIRATION = 2 ** 32;

export interface BoundObject {
  kind: 'Pod' | 'Secret' | 'Node';
  name: string;
  uid: string;
}

export interface SignOptions {
  namespace: string;
  name: string;
  uid: string;
  audiences?: string[];
  /** Default 3600; at least 600 (as upstream). */
  expirationSeconds?: number;
  boundObject?: BoundObject;
  /** Node the pod runs on (recorded like upstream's `kubernetes.io.node`). */
  node?: { name: string; uid: string };
  issuer?: string;
  now?: Date;
}

export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SA_PREFIX}${namespace}:${name}`;
}

/** Splits `system:serviceaccount:ns:name`, or undefined for other users. */
export function parseServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SA_PREFIX)) return undefined;
  const [namespace, name, ...rest] = username.slice(SA_PREFIX.length).split(':');
  return namespace && name && rest.length === 0 ? { namespace, name } : undefined;
}

function requireName(v: string, field: string): void {
  if (!v || v.includes(':')) throw invalidArgument(`${field} must be a non-empty name without ':'`, { field });
}

/** Signs a bound service-account token (what TokenRequest returns). */
export async function signServiceAccountToken(
  key: ServiceAccountKey,
  opts: SignOptions,
): Promise<{ token: string; expirationTimestamp: string }> {
  requireName(opts.namespace, 'metadata.namespace');
  requireName(opts.name, 'metadata.name');
  const exp = opts.expirationSeconds ?? 3600;
  if (!Number.isInteger(exp) || exp < MIN_EXPIRATION || exp > MAX_EXPIRATION) {
    throw invalidArgument(
      `spec.expirationSeconds: Invalid value: ${exp}: may not specify a duration less than ${MIN_EXPIRATION} seconds or longer than 2^32 seconds`,
      { field: 'spec.expirationSeconds' },
    );
  }
  const issuer = opts.issuer ?? DEFAULT_ISSUER;
  const audiences = opts.audiences?.length ? opts.audiences : [issuer];
  const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const k8s: Record<string, unknown> = {
    namespace: opts.namespace,
    serviceaccount: { name: opts.name, uid: opts.uid },
  };
  if (opts.boundObject)
    k8s[opts.boundObject.kind.toLowerCase()] = { name: opts.boundObject.name, uid: opts.boundObject.uid };
  if (opts.node) k8s.node = opts.node;
  const token = await new SignJWT({ 'kubernetes.io': k8s })
    .setProtectedHeader({ alg: key.alg, kid: key.keyId })
    .setIssuer(issuer)
    .setSubject(serviceAccountUsername(opts.namespace, opts.name))
    .setAudience(audiences)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + exp)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { token, expirationTimestamp: new Date((iat + exp) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/** Signs a legacy, non-expiring token for a kubernetes.io/service-account-token Secret. */
export async function signLegacyServiceAccountToken(
  key: ServiceAccountKey,
  opts: { namespace: string; name: string; uid: string; secretName: string },
): Promise<string> {
  requireName(opts.namespace, 'metadata.namespace');
  requireName(opts.name, 'serviceAccountName');
  requireName(opts.secretName, 'secretName');
  return new SignJWT({
    'kubernetes.io/serviceaccount/namespace': opts.namespace,
    'kubernetes.io/serviceaccount/secret.name': opts.secretName,
    'kubernetes.io/serviceaccount/service-account.name': opts.name,
    'kubernetes.io/serviceaccount/service-account.uid': opts.uid,
  })
    .setProtectedHeader({ alg: key.alg, kid: key.keyId })
    .setIssuer(LEGACY_ISSUER)
    .setSubject(serviceAccountUsername(opts.namespace, opts.name))
    .sign(key.privateKey);
}

export interface ServiceAccountLookups {
  lookupServiceAccount?: (namespace: string, name: string) => Promise<{ uid: string } | undefined>;
  /** Legacy tokens: the Secret must still exist; when it reports its token, it must be this one. */
  lookupSecret?: (namespace: string, name: string) => Promise<{ uid?: string; token?: string } | undefined>;
  /** Pod-bound tokens: the pod must still exist with the same uid. */
  lookupPod?: (namespace: string, name: string) => Promise<{ uid: string } | undefined>;
}

export interface VerifyOptions extends ServiceAccountLookups {
  issuer?: string;
  /** Accepted audiences (default: [issuer]); a token is accepted when its `aud` names any of them. */
  audiences?: string[];
  now?: () => Date;
}

/** Looks like a JWT (three base64url parts, the first decoding to a JSON header). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/** Verifies a service-account token; the user, or `{ reason }` saying why it was refused. */
export async function verifyServiceAccountToken(
  key: ServiceAccountKey,
  token: string,
  opts: VerifyOptions = {},
): Promise<UserInfo | { reason: string }> {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(token);
  } catch {
    return { reason: 'malformed token' };
  }
  const legacy = claims.iss === LEGACY_ISSUER;
  const issuer = opts.issuer ?? DEFAULT_ISSUER;
  const currentDate = opts.now?.();
  try {
    ({ payload: claims } = await jwtVerify(
      token,
      key.publicKey,
      legacy
        ? { issuer: LEGACY_ISSUER, algorithms: [key.alg], currentDate }
        : {
            issuer,
            audience: opts.audiences?.length ? opts.audiences : [issuer],
            algorithms: [key.alg],
            requiredClaims: ['exp', 'sub'],
            currentDate,
            clockTolerance: 60,
          },
    ));
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) return { reason: 'service account token has expired' };
    if (e instanceof joseErrors.JWTClaimValidationFailed)
      return { reason: `invalid service account token: ${e.message}` };
    if (e instanceof joseErrors.JOSEError) return { reason: `invalid service account token: ${e.code}` };
    throw e;
  }
  const sub = typeof claims.sub === 'string' ? parseServiceAccountUsername(claims.sub) : undefined;
  if (!sub) return { reason: 'token subject is not a service account' };
  let namespace: string, name: string, uid: string;
  const extra: Record<string, string[]> = {};
  if (legacy) {
    namespace = String(claims['kubernetes.io/serviceaccount/namespace'] ?? '');
    name = String(claims['kubernetes.io/serviceaccount/service-account.name'] ?? '');
    uid = String(claims['kubernetes.io/serviceaccount/service-account.uid'] ?? '');
    const secretName = String(claims['kubernetes.io/serviceaccount/secret.name'] ?? '');
    if (!namespace || !name || !secretName) return { reason: 'legacy token is missing service account claims' };
    if (opts.lookupSecret) {
      const secret = await opts.lookupSecret(namespace, secretName);
      if (!secret) return { reason: `secret ${namespace}/${secretName} referenced by the token no longer exists` };
      if (secret.token !== undefined && secret.token !== token)
        return { reason: `the token does not match secret ${namespace}/${secretName}` };
    }
  } else {
    const k8s = (claims['kubernetes.io'] ?? {}) as Record<string, any>;
    namespace = String(k8s.namespace ?? '');
    name = String(k8s.serviceaccount?.name ?? '');
    uid = String(k8s.serviceaccount?.uid ?? '');
    if (!namespace || !name) return { reason: 'token is missing the kubernetes.io claims' };
    if (k8s.pod) {
      const pod = opts.lookupPod ? await opts.lookupPod(namespace, String(k8s.pod.name)) : { uid: String(k8s.pod.uid) };
      if (!pod || pod.uid !== String(k8s.pod.uid))
        return { reason: `pod ${namespace}/${k8s.pod.name} the token is bound to no longer exists` };
      extra['authentication.kubernetes.io/pod-name'] = [String(k8s.pod.name)];
      extra['authentication.kubernetes.io/pod-uid'] = [String(k8s.pod.uid)];
    }
    if (k8s.node?.name) {
      extra['authentication.kubernetes.io/node-name'] = [String(k8s.node.name)];
      extra['authentication.kubernetes.io/node-uid'] = [String(k8s.node.uid ?? '')];
    }
    if (typeof claims.jti === 'string') extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`];
  }
  if (sub.namespace !== namespace || sub.name !== name) return { reason: 'token subject does not match its claims' };
  if (opts.lookupServiceAccount) {
    const sa = await opts.lookupServiceAccount(namespace, name);
    if (!sa) return { reason: `service account ${namespace}/${name} no longer exists` };
    if (uid && sa.uid !== uid)
      return { reason: `service account ${namespace}/${name} was recreated (uid ${sa.uid}, token for ${uid})` };
  }
  return {
    username: serviceAccountUsername(namespace, name),
    ...(uid ? { uid } : {}),
    groups: [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`, AUTHENTICATED_GROUP],
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}
