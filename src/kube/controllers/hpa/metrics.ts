// Where the HPA reads pod usage: a small interface, with the implementation that reads the
// resource metrics API (metrics.k8s.io/v1beta1 PodMetrics, as metrics-server or the node agent
// serve it). Tests pass a fake below this interface.
import { parseQuantity, quantityMilliValue } from '../../api/index.js';
import type { KubeClient } from '../../client/index.js';

export interface PodUsage {
  /** Per container: usage in milli-units (cpu: millicores; memory: milli-bytes, as Quantity.MilliValue). */
  containers: Map<string, Record<string, number>>;
  /** When the sample was taken (ms) and over which window (ms). */
  timestamp: number;
  windowMs: number;
}

export interface PodMetricsSource {
  /** Usage of the pods `labelSelector` selects in `namespace`, by pod name. */
  podMetrics(namespace: string, labelSelector: string): Promise<Map<string, PodUsage>>;
}

interface PodMetricsList {
  items: {
    metadata: { name: string };
    timestamp?: string;
    window?: string;
    containers?: { name: string; usage?: Record<string, string> }[];
  }[];
}

const windowMs = (w: string | undefined) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(w ?? '');
  if (!m) return 30_000;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
};

/** Reads metrics.k8s.io through the API server (the aggregated resource metrics API). */
export class ApiMetricsSource implements PodMetricsSource {
  constructor(private client: KubeClient) {}

  async podMetrics(namespace: string, labelSelector: string): Promise<Map<string, PodUsage>> {
    const list = await this.client.request<PodMetricsList>(
      'GET',
      `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods`,
      { query: { labelSelector } },
    );
    const out = new Map<string, PodUsage>();
    for (const it of list.items ?? []) {
      const containers = new Map<string, Record<string, number>>();
      for (const c of it.containers ?? []) {
        const usage: Record<string, number> = {};
        for (const [k, v] of Object.entries(c.usage ?? {})) {
          try {
            usage[k] = Number(quantityMilliValue(parseQuantity(v)));
          } catch {
            /* a malformed value is left out */
          }
        }
        containers.set(c.name, usage);
      }
      out.set(it.metadata.name, {
        containers,
        timestamp: Date.parse(it.timestamp ?? '') || Date.now(),
        windowMs: windowMs(it.window),
      });
    }
    return out;
  }
}
