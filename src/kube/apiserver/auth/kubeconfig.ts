// kubeconfig files (clientcmd v1) for the admin identity: one cluster with the CA inline
// (certificate-authority-data), one user with the client certificate and key inline or a bearer
// token, one context `skiff`, selected as current-context. Written atomically, 0600.
import { stringify } from 'yaml';
import { invalidArgument } from '../../../common/index.js';
import { writeFileAtomic } from './files.js';
import type { Pki } from './pki.js';

export interface KubeconfigOptions {
  /** API server URL, e.g. `https://127.0.0.1:6443`. */
  server: string;
  pki: Pki;
  /** Name of the user entry (default `admin`). */
  user?: string;
  /** Use the admin bearer token instead of the client certificate. */
  useToken?: boolean;
  /** Explicit credentials (another identity than the admin): a token or a certificate pair. */
  credentials?: { token: string } | { certPem: string; keyPem: string };
  /** Context name (default `skiff`). */
  context?: string;
  namespace?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function kubeconfigObject(opts: KubeconfigOptions): Record<string, unknown> {
  let url: URL;
  try {
    url = new URL(opts.server);
  } catch {
    throw invalidArgument(`server "${opts.server}" is not a URL`, { field: 'server' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidArgument(`server "${opts.server}" must be an http(s) URL`, { field: 'server' });
  }
  const cluster = opts.pki.clusterName;
  const user = opts.user ?? 'admin';
  const context = opts.context ?? 'skiff';
  const creds =
    opts.credentials ??
    (opts.useToken
      ? { token: opts.pki.admin.token }
      : { certPem: opts.pki.admin.certPem, keyPem: opts.pki.admin.keyPem });
  const userEntry =
    'token' in creds
      ? { token: creds.token }
      : { 'client-certificate-data': b64(creds.certPem), 'client-key-data': b64(creds.keyPem) };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [
      { name: cluster, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.pki.ca.certPem) } },
    ],
    users: [{ name: user, user: userEntry }],
    contexts: [{ name: context, context: { cluster, user, ...(opts.namespace ? { namespace: opts.namespace } : {}) } }],
    'current-context': context,
  };
}

export async function writeKubeconfig(path: string, opts: KubeconfigOptions): Promise<void> {
  await writeFileAtomic(path, stringify(kubeconfigObject(opts)), 0o600);
}
