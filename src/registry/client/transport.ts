// One registry host as seen by the client: picks https or http (plain HTTP only for loopback and
// configured insecure registries, after HTTPS failed, as Docker does), answers auth challenges
// (Bearer token fetch with service/scope, anonymous or with credentials; Basic), caches tokens per
// scope, follows redirects, and retries 5xx/429/network failures with exponential back-off.
import { isIP } from 'node:net';
import { unavailable, failedPrecondition, invalidArgument, sleep, isSkiffError } from '../../common/index.js';
import { sendRequest, type Body, type HttpRes } from './http.js';
import { parseChallenges, type Challenge } from './challenge.js';
import type { AuthConfig } from './credentials.js';

export interface TransportOptions {
  /** Registries (host[:port] or CIDR-less host) reached over plain HTTP / unverified TLS. */
  insecureRegistries?: string[];
  auth?: AuthConfig;
  retries?: number;
  /** First back-off delay in ms (doubles each attempt). */
  backoffMs?: number;
}

export interface CallOptions {
  scopes: string[];
  headers?: Record<string, string | number>;
  body?: Body;
  signal?: AbortSignal;
  /** Safe to resend on 5xx/network errors (default: GET/HEAD and requests without a stream body). */
  retry?: boolean;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export class RegistryTransport {
  private base?: URL;
  private insecureTls = false;
  private challenge?: Challenge;
  private tokens = new Map<string, { token: string; expires: number }>();
  private pinging?: Promise<void>;

  /** `endpoint`: "host[:port]" or a URL (mirrors). */
  constructor(
    readonly endpoint: string,
    private opts: TransportOptions = {},
  ) {
    if (/^https?:\/\//.test(endpoint)) this.base = new URL(endpoint.replace(/\/+$/, ''));
  }

  get host(): string {
    return this.base?.host ?? this.endpoint;
  }
  private insecure(): boolean {
    const h = this.host;
    return (
      isLoopback(h) ||
      (this.opts.insecureRegistries ?? []).some(
        (r) => normalizeHost(r) === h || normalizeHost(r) === h.replace(/:\d+$/, ''),
      )
    );
  }

  /** Finds the scheme (https first; http for insecure hosts) and the auth challenge. */
  private async ping(signal?: AbortSignal): Promise<void> {
    const schemes = this.base ? [this.base.protocol.slice(0, -1)] : this.insecure() ? ['https', 'http'] : ['https'];
    let lastErr: unknown;
    for (const scheme of schemes) {
      const url = new URL(
        `${scheme}://${this.base?.host ?? this.endpoint}${this.base?.pathname.replace(/\/$/, '') ?? ''}/v2/`,
      );
      const insecureTls = scheme === 'https' && this.insecure();
      try {
        // When plain HTTP is the fallback, a server that never answers the TLS hello must not stall us.
        const res = await sendRequest({
          method: 'GET',
          url,
          signal,
          insecureTls,
          timeoutMs: schemes.length > 1 && scheme === 'https' ? 5000 : undefined,
        });
        res.drain();
        this.base = new URL(`${scheme}://${url.host}${url.pathname.replace(/\/v2\/$/, '')}`);
        this.insecureTls = insecureTls;
        if (res.status === 401) this.challenge = pickChallenge(res);
        return;
      } catch (e) {
        lastErr = e;
        if (signal?.aborted) throw e;
      }
    }
    throw unavailable(`cannot reach registry ${this.endpoint}: ${(lastErr as Error)?.message ?? lastErr}`, {
      cause: lastErr,
    });
  }

  private pinged = false;
  private async ready(signal?: AbortSignal): Promise<URL> {
    if (!this.pinged) {
      this.pinging ??= this.ping(signal).then(
        () => {
          this.pinged = true;
        },
        (e) => {
          this.pinging = undefined;
          throw e;
        },
      );
      await this.pinging;
    }
    return this.base!;
  }

  /** For the raw fast path: the absolute URL and Authorization header of a request, when the
   *  registry is reached over plain HTTP; undefined otherwise. */
  async plainTarget(
    path: string,
    scopes: string[],
    signal?: AbortSignal,
  ): Promise<{ url: URL; headers: Record<string, string> } | undefined> {
    await this.ready(signal);
    if (this.base!.protocol !== 'http:') return undefined;
    const auth = await this.authHeader(scopes, signal);
    return { url: this.url(path), headers: auth ? { Authorization: auth } : {} };
  }

  url(path: string): URL {
    return new URL(`${this.base!.href.replace(/\/$/, '')}${path}`);
  }

  private async authHeader(scopes: string[], signal?: AbortSignal, force = false): Promise<string | undefined> {
    const c = this.challenge;
    const a = this.opts.auth;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (!a?.username) return undefined;
      return `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}`;
    }
    if (c.scheme !== 'bearer') return undefined;
    if (a?.registrytoken) return `Bearer ${a.registrytoken}`;
    const key = scopes.slice().sort().join(' ');
    const cached = this.tokens.get(key);
    if (cached && !force && cached.expires > Date.now() + 5000) return `Bearer ${cached.token}`;
    const token = await this.fetchToken(c, scopes, signal);
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  private async fetchToken(
    c: Challenge,
    scopes: string[],
    signal?: AbortSignal,
  ): Promise<{ token: string; expires: number }> {
    const realm = c.params.realm;
    if (!realm)
      throw invalidArgument(`registry ${this.host} sent a Bearer challenge without a realm`, {
        field: 'WWW-Authenticate',
      });
    const url = new URL(realm);
    const a = this.opts.auth;
    let res: HttpRes;
    if (a?.identitytoken) {
      // OAuth2 refresh-token grant (Docker's identity token).
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: a.identitytoken,
        client_id: 'skiff',
        service: c.params.service ?? '',
        scope: scopes.join(' '),
      });
      res = await sendRequest({
        method: 'POST',
        url,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        signal,
        insecureTls: this.insecureTls,
      });
    } else {
      if (c.params.service) url.searchParams.set('service', c.params.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (a?.username)
        headers.Authorization = `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`).toString('base64')}`;
      res = await sendRequest({ method: 'GET', url, headers, signal, insecureTls: this.insecureTls });
    }
    const text = await res.text();
    if (res.status !== 200) {
      throw failedPrecondition(
        `token request to ${url.host}${url.pathname} failed with ${res.status}: ${text.slice(0, 200)}`,
        { reason: res.status === 401 ? 'UNAUTHORIZED' : 'DENIED' },
      );
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(text);
    } catch {
      throw failedPrecondition(`token response from ${url.host} is not JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw failedPrecondition(`token response from ${url.host} has no token`);
    return { token, expires: Date.now() + Math.max(60, body.expires_in ?? 60) * 1000 };
  }

  /** Sends a request to `path` (e.g. "/v2/x/manifests/tag") or an absolute URL on this registry. */
  async call(method: string, path: string | URL, o: CallOptions): Promise<HttpRes> {
    await this.ready(o.signal);
    const retries = this.opts.retries ?? 3;
    const canRetry =
      o.retry ?? (method === 'GET' || method === 'HEAD' || o.body === undefined || Buffer.isBuffer(o.body));
    let url = typeof path === 'string' ? this.url(path) : path;
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      let res: HttpRes;
      try {
        const auth = url.host === this.base!.host ? await this.authHeader(o.scopes, o.signal) : undefined;
        res = await sendRequest({
          method,
          url,
          headers: { ...o.headers, ...(auth ? { Authorization: auth } : {}) },
          body: o.body,
          signal: o.signal,
          insecureTls: this.insecureTls,
        });
      } catch (e) {
        if (o.signal?.aborted || !canRetry || attempt >= retries || isSkiffError(e, 'FailedPrecondition')) throw e;
        await sleep((this.opts.backoffMs ?? 200) * 2 ** attempt, o.signal);
        o.signal?.throwIfAborted(); // an abort during the backoff ends the request
        continue;
      }
      if (res.status === 401 && !authRetried) {
        // New or changed challenge (first contact, expired token, wider scope): fetch and resend.
        const c = pickChallenge(res);
        res.drain();
        authRetried = true;
        if (c) {
          this.challenge = c;
          if (c.scheme === 'bearer') {
            const extra = c.params.scope?.split(' ').filter((s) => !o.scopes.includes(s)) ?? [];
            o = { ...o, scopes: [...o.scopes, ...extra] };
            this.tokens.delete(o.scopes.slice().sort().join(' '));
          }
          if (o.body === undefined || Buffer.isBuffer(o.body) || typeof o.body === 'function') {
            attempt--;
            continue;
          }
        }
        return res;
      }
      if ((res.status >= 500 || res.status === 429) && canRetry && attempt < retries) {
        res.drain();
        await sleep((this.opts.backoffMs ?? 200) * 2 ** attempt, o.signal);
        o.signal?.throwIfAborted(); // an abort during the backoff ends the request
        continue;
      }
      if (
        [301, 302, 303, 307, 308].includes(res.status) &&
        res.headers.location &&
        (method === 'GET' || method === 'HEAD')
      ) {
        res.drain();
        url = new URL(res.headers.location, url);
        if (attempt > 10) throw unavailable(`too many redirects from ${this.host}`);
        continue;
      }
      return res;
    }
  }
}

function pickChallenge(res: HttpRes): Challenge | undefined {
  const cs = parseChallenges(res.headers['www-authenticate']);
  return cs.find((c) => c.scheme === 'bearer') ?? cs.find((c) => c.scheme === 'basic');
}

function normalizeHost(r: string): string {
  return r
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}
