// Service-account tokens for projected volumes (kubelet's token manager): a TokenRequest bound to
// the pod, cached per pod, service account, audience and expiry, and requested again once 80 % of
// its lifetime has passed (or after 24 h), so the file in the volume is refreshed in place.
import type { KubeClient } from '../../client/index.js';
import type { Pod } from '../types.js';
import type { TokenSource } from './projection.js';

interface Cached {
  token: string;
  issued: number;
  expires: number;
}

export class TokenManager implements TokenSource {
  private cache = new Map<string, Cached>();

  constructor(
    private client: KubeClient,
    private now: () => number = Date.now,
  ) {}

  async token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const sa = pod.spec.serviceAccountName || 'default';
    const key = [pod.metadata.namespace, sa, pod.metadata.uid, audience ?? '', expirationSeconds].join('/');
    const c = this.cache.get(key);
    const t = this.now();
    if (c && t < c.issued + (c.expires - c.issued) * 0.8 && t - c.issued < 24 * 3600_000) return c.token;
    const res = await this.client.request<{ status: { token: string; expirationTimestamp: string } }>(
      'POST',
      `/api/v1/namespaces/${encodeURIComponent(pod.metadata.namespace)}/serviceaccounts/${encodeURIComponent(sa)}/token`,
      {
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            ...(audience ? { audiences: [audience] } : {}),
            expirationSeconds: Math.max(expirationSeconds, 600),
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
          },
        },
      },
    );
    const expires = Date.parse(res.status.expirationTimestamp) || t + expirationSeconds * 1000;
    this.cache.set(key, { token: res.status.token, issued: t, expires });
    return res.status.token;
  }

  forget(uid: string): void {
    for (const k of this.cache.keys()) if (k.split('/')[2] === uid) this.cache.delete(k);
  }
}
