// Access control: none, htpasswd basic auth, or bearer tokens (Docker token auth). In token mode the
// registry also serves the token endpoint at the realm's path: it authenticates the caller with
// htpasswd (or anonymously when no htpasswd is set), grants the requested actions, and signs an
// ES256 JWT (`access` claim as distribution's token auth) with a key made on first start and kept
// in the data root, so tokens handed out stay valid across a restart.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { generateKeyPair, SignJWT, jwtVerify, exportJWK, importJWK, type CryptoKey, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { regError } from './errors.js';
import { Htpasswd, parseBasic } from './htpasswd.js';
import { sendJson, readBody, type Ctx } from './http.js';

export interface Scope {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}
export interface AuthOptions {
  htpasswd?: string;
  /** Token realm: an absolute URL, or a path served by this registry (resolved against the request). */
  tokenRealm?: string;
  tokenService?: string;
  /** Let unauthenticated callers pull (token mode). */
  anonymousPull?: boolean;
  /** Where the token signing key is kept (a private JWK, mode 0600); without it, a key per start. */
  tokenKeyFile?: string;
}

const ISSUER = 'skiff-registry';

export function scopeString(s: Scope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}

function challenge(message: string, header: string, scopes: Scope[], extra?: Record<string, unknown>) {
  const err = regError('UNAUTHORIZED', message, {
    ...extra,
    access: scopes.map((s) => ({ Type: s.type, Name: s.name, Action: s.actions.join(',') })),
  });
  (err as unknown as { headers: Record<string, string> }).headers = { 'WWW-Authenticate': header };
  return err;
}

export class Auth {
  private keys?: { privateKey: CryptoKey; publicKey: CryptoKey };
  private htpasswd?: Htpasswd;
  readonly mode: 'none' | 'basic' | 'token';
  readonly service: string;
  constructor(private opts: AuthOptions) {
    this.htpasswd = opts.htpasswd ? new Htpasswd(opts.htpasswd) : undefined;
    this.mode = opts.tokenRealm ? 'token' : opts.htpasswd ? 'basic' : 'none';
    this.service = opts.tokenService ?? 'skiff-registry';
  }

  async init(): Promise<void> {
    if (this.mode !== 'token') return;
    const file = this.opts.tokenKeyFile;
    let jwk: JWK | undefined;
    if (file) {
      try {
        jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    if (jwk) {
      const { d: _d, ...pub } = jwk;
      this.keys = {
        privateKey: (await importJWK(jwk, 'ES256')) as CryptoKey,
        publicKey: (await importJWK(pub, 'ES256')) as CryptoKey,
      };
      return;
    }
    this.keys = (await generateKeyPair('ES256', { extractable: true })) as {
      privateKey: CryptoKey;
      publicKey: CryptoKey;
    };
    if (file) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(`${file}.tmp`, JSON.stringify(await exportJWK(this.keys.privateKey)), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    }
  }

  realm(ctx: Ctx): string {
    const r = this.opts.tokenRealm!;
    return r.startsWith('/') ? `${ctx.base}${r}` : r;
  }
  tokenPath(): string | undefined {
    if (this.mode !== 'token') return undefined;
    const r = this.opts.tokenRealm!;
    return r.startsWith('/') ? r : new URL(r).pathname;
  }

  /** Throws UNAUTHORIZED (with the challenge header) unless the request may do all of `scopes`. */
  async check(ctx: Ctx, scopes: Scope[]): Promise<void> {
    if (this.mode === 'none') return;
    const h = ctx.req.headers.authorization;
    if (this.mode === 'basic') {
      const b = parseBasic(h);
      if (b && (await this.htpasswd!.verify(b.user, b.password))) return;
      throw challenge(
        b ? 'invalid username or password' : 'authentication required',
        'Basic realm="skiff-registry"',
        scopes,
      );
    }
    const header = (err?: string) =>
      `Bearer realm="${this.realm(ctx)}",service="${this.service}"${scopes.length ? `,scope="${scopes.map(scopeString).join(' ')}"` : ''}${err ? `,error="${err}"` : ''}`;
    if (!h || !/^bearer /i.test(h)) {
      if (
        this.opts.anonymousPull &&
        scopes.every((s) => s.type === 'repository' && s.actions.every((a) => a === 'pull'))
      )
        return;
      throw challenge('authentication required', header(), scopes);
    }
    let access: Scope[];
    try {
      const { payload } = await jwtVerify(h.slice(7).trim(), this.keys!.publicKey, {
        issuer: ISSUER,
        audience: this.service,
      });
      access = (payload.access as Scope[] | undefined) ?? [];
    } catch (e) {
      throw challenge(`invalid token: ${(e as Error).message}`, header('invalid_token'), scopes);
    }
    for (const s of scopes) {
      const grant = access.find((a) => a.type === s.type && a.name === s.name);
      const missing = s.actions.filter((a) => !grant?.actions.includes(a) && !grant?.actions.includes('*'));
      if (missing.length)
        throw challenge(
          `token does not grant ${missing.join(',')} on ${s.type} ${s.name}`,
          header('insufficient_scope'),
          scopes,
        );
    }
  }

  /** The token endpoint: GET (docker token protocol) or POST (OAuth2 password grant). */
  async serveToken(ctx: Ctx): Promise<void> {
    const q = new URLSearchParams(ctx.url.search);
    let user: { user: string; password: string } | undefined;
    if (ctx.req.method === 'POST') {
      const form = new URLSearchParams((await readBody(ctx.req, 64 << 10)).toString('utf8'));
      for (const [k, v] of form) q.append(k, v);
      if (form.get('grant_type') === 'password')
        user = { user: form.get('username') ?? '', password: form.get('password') ?? '' };
    }
    user ??= parseBasic(ctx.req.headers.authorization);
    let subject = '';
    if (user) {
      if (this.htpasswd && !(await this.htpasswd.verify(user.user, user.password))) {
        throw Object.assign(regError('UNAUTHORIZED', 'invalid username or password'), {
          headers: { 'WWW-Authenticate': 'Basic realm="skiff-registry"' },
        });
      }
      subject = user.user;
    }
    const authenticated = subject !== '' || !this.htpasswd;
    const requested = q
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean)
      .map(parseScope)
      .filter((s): s is Scope => !!s);
    const access = requested
      .map((s) => ({
        ...s,
        actions: authenticated ? s.actions : this.opts.anonymousPull ? s.actions.filter((a) => a === 'pull') : [],
      }))
      .filter((s) => s.actions.length);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(subject)
      .setAudience(q.get('service') ?? this.service)
      .setIssuedAt(now)
      .setNotBefore(now - 10)
      .setExpirationTime(now + 300)
      .setJti(randomUUID())
      .sign(this.keys!.privateKey);
    sendJson(ctx.res, 200, {
      token,
      access_token: token,
      expires_in: 300,
      issued_at: new Date(now * 1000).toISOString(),
    });
  }
}

function parseScope(s: string): Scope | undefined {
  // repository:name:actions — the name may hold a port-less host path; actions are the last field.
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  const type = s.slice(0, first);
  if (type !== 'repository' && type !== 'registry') return undefined;
  return {
    type,
    name: s.slice(first + 1, last),
    actions: s
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

export type { IncomingMessage, ServerResponse };
