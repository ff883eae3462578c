// Who may use the node's HTTPS server, decided as kubelet's webhook authn/authz does: a client
// certificate signed by the cluster CA (user = CN, groups = O) or a bearer token checked with a
// TokenReview; then a SubjectAccessReview for `nodes/<subresource>` of this node with the verb of
// the HTTP method (stats, metrics, log, spec, or proxy for everything else). Answers are cached
// (allowed 5 min, denied 30 s; tokens 2 min), as kubelet's defaults.
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { KubeClient } from '../../client/index.js';

export interface NodeUser {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

const ALLOW_TTL = 5 * 60_000;
const DENY_TTL = 30_000;
const TOKEN_TTL = 2 * 60_000;

/** kubelet's path → subresource mapping. */
export function subresourceFor(path: string): string {
  if (path.startsWith('/stats')) return 'stats';
  if (path.startsWith('/metrics')) return 'metrics';
  if (path.startsWith('/logs')) return 'log';
  if (path.startsWith('/spec')) return 'spec';
  if (path.startsWith('/checkpoint')) return 'checkpoint';
  return 'proxy';
}

export function verbFor(method: string): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'get';
  }
}

export class NodeAuth {
  private tokens = new Map<string, { user?: NodeUser; until: number }>();
  private decisions = new Map<string, { allowed: boolean; until: number }>();

  constructor(
    private client: KubeClient,
    private nodeName: string,
  ) {}

  async authenticate(req: http.IncomingMessage): Promise<NodeUser | undefined> {
    const sock = req.socket as TLSSocket;
    if (sock.authorized) {
      const cert = sock.getPeerCertificate?.();
      const cn = cert?.subject?.CN;
      if (cn) {
        const o = cert.subject.O;
        const groups = Array.isArray(o) ? o : o ? [o] : [];
        return { username: Array.isArray(cn) ? cn[0] : cn, groups: [...groups, 'system:authenticated'] };
      }
    }
    const auth = req.headers.authorization;
    const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
    if (!m) return undefined;
    const token = m[1];
    const hit = this.tokens.get(token);
    if (hit && hit.until > Date.now()) return hit.user;
    const res = await this.client.request<{ status: { authenticated?: boolean; user?: NodeUser } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/tokenreviews',
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } },
    );
    const user =
      res.status.authenticated && res.status.user
        ? { ...res.status.user, groups: res.status.user.groups ?? [] }
        : undefined;
    if (this.tokens.size > 1000) this.tokens.clear();
    this.tokens.set(token, { user, until: Date.now() + TOKEN_TTL });
    return user;
  }

  async authorize(
    user: NodeUser,
    method: string,
    path: string,
  ): Promise<{ allowed: boolean; verb: string; subresource: string }> {
    const verb = verbFor(method);
    const subresource = subresourceFor(path);
    const key = JSON.stringify([user.username, user.groups, verb, subresource]);
    const hit = this.decisions.get(key);
    if (hit && hit.until > Date.now()) return { allowed: hit.allowed, verb, subresource };
    const res = await this.client.request<{ status: { allowed?: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            uid: user.uid,
            groups: user.groups,
            extra: user.extra,
            resourceAttributes: { verb, group: '', version: 'v1', resource: 'nodes', subresource, name: this.nodeName },
          },
        },
      },
    );
    const allowed = res.status.allowed === true;
    if (this.decisions.size > 1000) this.decisions.clear();
    this.decisions.set(key, { allowed, until: Date.now() + (allowed ? ALLOW_TTL : DENY_TTL) });
    return { allowed, verb, subresource };
  }
}
