// Request authentication, in upstream's order: a client certificate verified against the cluster
// CA, then a bearer token (Authorization header, or the WebSocket subprotocol
// `base64url.bearer.authorization.k8s.io.<token>` browsers use) looked up in the static token file
// or verified as a service-account JWT. Every authenticated user gets `system:authenticated`;
// requests without valid credentials yield undefined (the server answers 401).
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket, PeerCertificate } from 'node:tls';
import type { Pki, ServiceAccountKey } from './pki.js';
import { TokenTable } from './tokens.js';
import { decodeJwt } from 'jose';
import {
  verifyServiceAccountToken,
  looksLikeJwt,
  DEFAULT_ISSUER,
  type ServiceAccountLookups,
} from './serviceaccount.js';
import { type UserInfo, withAuthenticatedGroup } from './user.js';

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';
const WS_BEARER_PREFIX = 'base64url.bearer.authorization.k8s.io.';

export interface AuthenticatorOptions extends ServiceAccountLookups {
  pki: Pki;
  /** Static token file (default: the PKI's tokens.csv). */
  tokenFile?: string;
  /** Service-account signing key (default: the PKI's). */
  serviceAccountKey?: ServiceAccountKey;
  /** Service-account token issuer and accepted audiences (defaults: upstream's in-cluster issuer). */
  issuer?: string;
  audiences?: string[];
  /** Called with the reason when presented credentials are refused (for logging). */
  onReject?: (reason: string) => void;
  now?: () => Date;
}

/** What authentication reads from a request: an http.IncomingMessage or an http2 compat request. */
export interface AuthRequest {
  headers: IncomingHttpHeaders;
  socket: object | null;
}

export type TokenResult = { user: UserInfo; audiences: string[] } | { reason: string };

export interface Authenticator {
  /** The user a request authenticates as, or undefined (→ 401). */
  (req: AuthRequest): Promise<UserInfo | undefined>;
  /** Authenticates a bearer token alone (TokenReview): against `audiences`, default the API server's. */
  token(token: string, audiences?: string[]): Promise<TokenResult>;
}

/** TLS options for https.createServer / http2.createSecureServer: client certificates are requested
 *  but not required (tokens work too); authentication checks `socket.authorized` itself. */
export function serverTlsOptions(pki: Pki): {
  key: string;
  cert: string;
  ca: string;
  requestCert: true;
  rejectUnauthorized: false;
} {
  return {
    key: pki.server.keyPem,
    cert: pki.server.certPem,
    ca: pki.ca.certPem,
    requestCert: true,
    rejectUnauthorized: false,
  };
}

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** A connection's certificate does not change while it is open: decoding it (getPeerCertificate
 *  builds the whole certificate object) is done once per connection, not per request. */
const certUsers = new WeakMap<object, UserInfo | { reason: string } | undefined>();

/** The user a verified client certificate names, or a reason it does not count. */
export function userFromCertificate(socket: Partial<TLSSocket> | null): UserInfo | { reason: string } | undefined {
  if (!socket || typeof socket.getPeerCertificate !== 'function') return undefined; // plain HTTP
  if (certUsers.has(socket)) return certUsers.get(socket);
  const u = certificateUser(socket);
  certUsers.set(socket, u);
  return u;
}

function certificateUser(socket: Partial<TLSSocket>): UserInfo | { reason: string } | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate(false) as PeerCertificate & { ext_key_usage?: string[] };
  if (!cert || Object.keys(cert).length === 0) return undefined; // no certificate presented
  if (!socket.authorized)
    return {
      reason: `client certificate refused: ${String(socket.authorizationError ?? 'not signed by the cluster CA')}`,
    };
  if (cert.ext_key_usage && !cert.ext_key_usage.includes(CLIENT_AUTH_OID))
    return { reason: 'client certificate is not valid for client authentication' };
  const cn = asList(cert.subject?.CN)[0];
  if (!cn) return { reason: 'client certificate has no common name' };
  const u: UserInfo = { username: cn, groups: asList(cert.subject?.O) };
  // As upstream's x509 authenticator (1.32): the certificate's SHA-256 names the credential.
  if (cert.raw)
    u.extra = {
      'authentication.kubernetes.io/credential-id': [
        `X509SHA256=${createHash('sha256').update(cert.raw).digest('hex')}`,
      ],
    };
  return u;
}

/** The bearer token of a request, from `Authorization: Bearer` or the WebSocket subprotocol. */
export function bearerToken(req: AuthRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth) {
    const parts = auth.trim().split(/\s+/);
    if (parts.length === 2 && parts[0].toLowerCase() === 'bearer' && parts[1]) return parts[1];
    return undefined;
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    for (const p of protocols.split(',').map((s) => s.trim())) {
      if (!p.startsWith(WS_BEARER_PREFIX)) continue;
      const token = Buffer.from(p.slice(WS_BEARER_PREFIX.length), 'base64url').toString('utf8');
      if (token) return token;
    }
  }
  return undefined;
}

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const tokens = new TokenTable(opts.tokenFile ?? opts.pki.tokenFile, (m) => opts.onReject?.(m));
  const saKey = opts.serviceAccountKey ?? opts.pki.serviceAccountKey;
  const apiAudiences = opts.audiences?.length ? opts.audiences : [opts.issuer ?? DEFAULT_ISSUER];
  const reject = (reason: string) => {
    opts.onReject?.(reason);
    return undefined;
  };

  async function authenticateToken(token: string, audiences?: string[]): Promise<TokenResult> {
    const wanted = audiences?.length ? audiences : apiAudiences;
    const entry = await tokens.lookup(token);
    if (entry) {
      // Static tokens carry no audience: they are good for the API server's own audiences only.
      const common = wanted.filter((a) => apiAudiences.includes(a));
      if (common.length === 0) return { reason: 'token audiences are invalid for the static token authenticator' };
      return {
        user: withAuthenticatedGroup({
          username: entry.user,
          ...(entry.uid ? { uid: entry.uid } : {}),
          groups: entry.groups,
        }),
        audiences: common,
      };
    }
    if (!looksLikeJwt(token)) return { reason: 'invalid bearer token' };
    const sa = await verifyServiceAccountToken(saKey, token, {
      issuer: opts.issuer,
      audiences: wanted,
      now: opts.now,
      lookupServiceAccount: opts.lookupServiceAccount,
      lookupSecret: opts.lookupSecret,
      lookupPod: opts.lookupPod,
    });
    if (!('username' in sa)) return sa;
    return { user: sa, audiences: wanted.filter((a) => tokenAudiences(token).includes(a)) };
  }

  const authenticate = async (req: AuthRequest): Promise<UserInfo | undefined> => {
    const fromCert = userFromCertificate(req.socket as Partial<TLSSocket> | null);
    if (fromCert && 'username' in fromCert) return withAuthenticatedGroup(fromCert);
    if (fromCert) opts.onReject?.(fromCert.reason);

    const token = bearerToken(req);
    if (token === undefined)
      return fromCert ? undefined : req.headers.authorization ? reject('malformed Authorization header') : undefined;
    const r = await authenticateToken(token);
    return 'user' in r ? r.user : reject(r.reason);
  };
  return Object.assign(authenticate, { token: authenticateToken });
}

/** `aud` of a JWT (no verification; only for reporting matched audiences after verification). */
function tokenAudiences(token: string): string[] {
  try {
    const aud = decodeJwt(token).aud;
    return aud === undefined ? [] : Array.isArray(aud) ? aud : [aud];
  } catch {
    return [];
  }
}
