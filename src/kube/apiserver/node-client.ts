// How the API server reaches a node's agent (upstream's kubelet client): the Node object's
// InternalIP (else Hostname, else ExternalIP) and its daemonEndpoints' kubelet port, over HTTPS with
// the API server's kubelet-client certificate, verifying the agent's serving certificate against
// the cluster CA.
import https from 'node:https';
import type { KubeObject } from '../api/index.js';
import type { ApiContext } from './context.js';
import { readObject } from './rest.js';
import { ApiError, errNotFound } from './status.js';

export interface KubeletClientConfig {
  ca: string;
  cert: string;
  key: string;
}

export interface NodeEndpoint {
  name: string;
  url: URL;
  tls: KubeletClientConfig;
}

interface NodeObj extends KubeObject {
  status?: {
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

const ORDER = ['InternalIP', 'Hostname', 'ExternalIP', 'InternalDNS', 'ExternalDNS'];

export function nodeEndpoint(node: NodeObj, tls: KubeletClientConfig): NodeEndpoint | undefined {
  const addrs = node.status?.addresses ?? [];
  const addr = ORDER.map((t) => addrs.find((a) => a.type === t)?.address).find(Boolean);
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!addr || !port) return undefined;
  const host = addr.includes(':') ? `[${addr}]` : addr;
  return { name: node.metadata.name ?? '', url: new URL(`https://${host}:${port}`), tls };
}

/** The endpoint of the named node's agent; 404 for a missing node, 503 for one without an agent. */
export async function lookupNode(
  ctx: ApiContext,
  name: string,
  tls: KubeletClientConfig | undefined,
): Promise<NodeEndpoint> {
  const def = ctx.registry.lookup('', 'v1', 'nodes');
  const got = def ? await readObject(ctx, def, undefined, name) : undefined;
  if (!got) throw errNotFound({ resource: 'nodes', name });
  const ep = tls ? nodeEndpoint(got.obj as NodeObj, tls) : undefined;
  if (!ep) throw new ApiError(503, 'ServiceUnavailable', `no node agent serves node "${name}"`);
  return ep;
}

/** GET a JSON document from a node's agent. */
export function nodeGet<T>(ep: NodeEndpoint, path: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      new URL(path, ep.url),
      { ca: ep.tls.ca, cert: ep.tls.cert, key: ep.tls.key, timeout: timeoutMs, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) !== 200) return reject(new Error(`node ${ep.name}: ${res.statusCode} ${text}`));
          try {
            resolve(JSON.parse(text) as T);
          } catch (e) {
            reject(e);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`node ${ep.name}: timed out`)));
    req.on('error', reject);
  });
}
