// metrics.k8s.io/v1beta1 (metrics-server's role, built in): NodeMetrics and PodMetrics, read-only,
// computed at request time from each node agent's /stats/summary (CPU as a rate in nanocores,
// memory as the working set), so `kubectl top node|pod` works without another component.
import type { KubeObject, ResourceDefinition } from '../api/index.js';
import { parseSelector, selectorMatches } from '../api/index.js';
import type { ApiContext, HandlerResult, RequestScope } from './context.js';
import { nodeEndpoint, nodeGet, type KubeletClientConfig } from './node-client.js';
import { errBadRequest, errNotFound } from './status.js';
import type { VirtualHandler } from './virtual.js';

const GROUP = 'metrics.k8s.io';
const VERSION = 'v1beta1';

const def = (kind: string, plural: string, namespaced: boolean): ResourceDefinition => ({
  group: GROUP,
  version: VERSION,
  kind,
  listKind: `${kind}List`,
  plural,
  singular: kind.toLowerCase(),
  namespaced,
  verbs: ['get', 'list'],
  schema: {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      timestamp: { type: 'string', format: 'date-time' },
      window: { type: 'string' },
      usage: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      containers: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    },
  },
  columns: [],
  row: (o) => [o.metadata.name],
});

export const NODE_METRICS = def('NodeMetrics', 'nodes', false);
export const POD_METRICS = def('PodMetrics', 'pods', true);

interface Usage {
  cpu: { time: string; usageNanoCores: number };
  memory: { workingSetBytes: number };
}
interface Summary {
  node: Usage & { nodeName: string };
  pods: (Usage & { podRef: { name: string; namespace: string }; containers: (Usage & { name: string })[] })[];
}

const usage = (u: Usage) => ({
  cpu: `${Math.max(0, Math.round(u.cpu.usageNanoCores))}n`,
  memory: `${Math.floor(u.memory.workingSetBytes / 1024)}Ki`,
});

async function listStored(ctx: ApiContext, plural: string, ns?: string): Promise<KubeObject[]> {
  const d = ctx.registry.lookup('', 'v1', plural);
  if (!d) return [];
  const out: KubeObject[] = [];
  let cont: string | undefined;
  do {
    const page = await ctx.store.list(ctx.registry.prefix(d, ns), { limit: 1000, continue: cont });
    for (const kv of page.items) out.push(await ctx.registry.decode(d, kv));
    cont = page.continue;
  } while (cont);
  return out;
}

async function summaries(
  ctx: ApiContext,
  tls: KubeletClientConfig | undefined,
): Promise<{ node: KubeObject; s?: Summary }[]> {
  const nodes = await listStored(ctx, 'nodes');
  return Promise.all(
    nodes.map(async (node) => {
      const ep = tls ? nodeEndpoint(node, tls) : undefined;
      if (!ep) return { node };
      try {
        return { node, s: await nodeGet<Summary>(ep, '/stats/summary', 5000) };
      } catch (e) {
        ctx.log.debug('no metrics from node', { node: node.metadata.name, error: String(e) });
        return { node };
      }
    }),
  );
}

function selector(r: RequestScope) {
  const ls = r.query.get('labelSelector');
  if (!ls) return () => true;
  try {
    const sel = parseSelector(ls);
    return (labels: Record<string, string> | undefined) => selectorMatches(sel, labels ?? {});
  } catch (e) {
    throw errBadRequest(`unable to parse requirement: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const list = (kind: string, items: unknown[]): HandlerResult => ({
  code: 200,
  body: { kind: `${kind}List`, apiVersion: `${GROUP}/${VERSION}`, metadata: {}, items },
});

export function metricsReaders(
  tls: KubeletClientConfig | undefined,
): { def: ResourceDefinition; handle: VirtualHandler }[] {
  const nodes: VirtualHandler = async (r) => {
    const match = selector(r);
    const items = (await summaries(r.ctx, tls))
      .filter((x) => x.s && (!r.info.name || x.node.metadata.name === r.info.name) && match(x.node.metadata.labels))
      .map((x) => ({
        kind: 'NodeMetrics',
        apiVersion: `${GROUP}/${VERSION}`,
        metadata: {
          name: x.node.metadata.name,
          creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
          labels: x.node.metadata.labels,
        },
        timestamp: x.s!.node.cpu.time,
        window: '10s',
        usage: usage(x.s!.node),
      }));
    if (r.info.name) {
      if (!items.length) throw errNotFound({ resource: 'nodemetrics', group: GROUP, name: r.info.name });
      return { code: 200, body: items[0] };
    }
    return list('NodeMetrics', items);
  };
  const pods: VirtualHandler = async (r) => {
    const match = selector(r);
    const ns = r.info.namespace;
    const stored = new Map(
      (await listStored(r.ctx, 'pods', ns)).map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]),
    );
    const items = (await summaries(r.ctx, tls))
      .flatMap((x) => x.s?.pods ?? [])
      .filter((p) => (!ns || p.podRef.namespace === ns) && (!r.info.name || p.podRef.name === r.info.name))
      .flatMap((p) => {
        const obj = stored.get(`${p.podRef.namespace}/${p.podRef.name}`);
        if (!obj || !match(obj.metadata.labels)) return [];
        return [
          {
            kind: 'PodMetrics',
            apiVersion: `${GROUP}/${VERSION}`,
            metadata: {
              name: p.podRef.name,
              namespace: p.podRef.namespace,
              creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
              labels: obj.metadata.labels,
            },
            timestamp: p.cpu.time,
            window: '10s',
            containers: p.containers.map((c) => ({ name: c.name, usage: usage(c) })),
          },
        ];
      });
    if (r.info.name) {
      if (!items.length) throw errNotFound({ resource: 'podmetrics', group: GROUP, name: r.info.name });
      return { code: 200, body: items[0] };
    }
    return list('PodMetrics', items);
  };
  return [
    { def: NODE_METRICS, handle: nodes },
    { def: POD_METRICS, handle: pods },
  ];
}
