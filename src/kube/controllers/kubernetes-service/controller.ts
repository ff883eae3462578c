// The `kubernetes` Service in `default` and its Endpoints (what kube-apiserver's own reconciler
// keeps): clients in pods and tools such as `kubectl get svc` expect the API server there, at
// the first address of the service network. Reconciled at start and every minute, so a user who
// deletes or edits them gets them back, as upstream.
import type { Logger } from '../../../common/index.js';
import { isSkiffError } from '../../../common/index.js';
import type { KubeClient } from '../../client/index.js';

export interface KubernetesServiceOptions {
  /** The Service's cluster IP (the first address of the service network). */
  clusterIP: string;
  /** Where the API server is reached (its HTTPS address and port). */
  endpointIP: string;
  endpointPort: number;
  log: Logger;
  intervalMs?: number;
}

const SVC = '/api/v1/namespaces/default/services/kubernetes';
const EPS = '/api/v1/namespaces/default/endpoints/kubernetes';
const SLICE = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes';
const LABELS = { component: 'apiserver', provider: 'kubernetes' };

async function getOrUndefined<T>(client: KubeClient, path: string): Promise<T | undefined> {
  try {
    return await client.request<T>('GET', path);
  } catch (e) {
    if (isSkiffError(e, 'NotFound')) return undefined;
    throw e;
  }
}

interface Obj {
  metadata: { resourceVersion?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  subsets?: unknown[];
}

export async function reconcileKubernetesService(client: KubeClient, o: KubernetesServiceOptions): Promise<void> {
  const ports = [{ name: 'https', port: 443, protocol: 'TCP', targetPort: o.endpointPort }];
  const svc = await getOrUndefined<Obj>(client, SVC);
  if (!svc) {
    await client.request('POST', '/api/v1/namespaces/default/services', {
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kubernetes', namespace: 'default', labels: LABELS },
        spec: { type: 'ClusterIP', clusterIP: o.clusterIP, clusterIPs: [o.clusterIP], ports, sessionAffinity: 'None' },
      },
    });
  } else if (JSON.stringify(svc.spec?.ports) !== JSON.stringify(ports.map((p) => ({ ...p })))) {
    const want = { ...svc, spec: { ...svc.spec, ports } };
    await client.request('PUT', SVC, { body: want }).catch((e) => {
      if (!isSkiffError(e, 'Conflict')) throw e;
    });
  }
  const subsets = [
    { addresses: [{ ip: o.endpointIP }], ports: [{ name: 'https', port: o.endpointPort, protocol: 'TCP' }] },
  ];
  const eps = await getOrUndefined<Obj>(client, EPS);
  if (!eps) {
    await client.request('POST', '/api/v1/namespaces/default/endpoints', {
      body: {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
        },
        subsets,
      },
    });
  } else if (JSON.stringify(eps.subsets) !== JSON.stringify(subsets)) {
    await client.request('PUT', EPS, { body: { ...eps, subsets } }).catch((e) => {
      if (!isSkiffError(e, 'Conflict')) throw e;
    });
  }
  await reconcileSlice(client, o);
}

/** The EndpointSlice beside the Endpoints (upstream's reconciler writes both; the Endpoints are
 *  marked skip-mirror, so no controller makes it): the service proxy reads slices, and without it
 *  `kubernetes.default.svc` was refused in every pod (in-cluster clients could not start). */
async function reconcileSlice(client: KubeClient, o: KubernetesServiceOptions): Promise<void> {
  const want = {
    addressType: o.endpointIP.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [o.endpointIP], conditions: { ready: true } }],
    ports: [{ name: 'https', port: o.endpointPort, protocol: 'TCP' }],
  };
  const slice = await getOrUndefined<Obj & Record<string, unknown>>(client, SLICE);
  if (!slice) {
    await client.request('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      body: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
        ...want,
      },
    });
  } else if (
    slice.addressType !== want.addressType ||
    JSON.stringify([slice.endpoints, slice.ports]) !== JSON.stringify([want.endpoints, want.ports])
  ) {
    await client.request('PUT', SLICE, { body: { ...slice, ...want } }).catch((e) => {
      if (!isSkiffError(e, 'Conflict')) throw e;
    });
  }
}

export function startKubernetesService(client: KubeClient, o: KubernetesServiceOptions): { stop(): void } {
  const run = () =>
    reconcileKubernetesService(client, o).catch((e) =>
      o.log.warn('kubernetes Service reconcile failed', { error: e instanceof Error ? e.message : String(e) }),
    );
  void run();
  const t = setInterval(run, o.intervalMs ?? 60_000);
  t.unref();
  return {
    stop() {
      clearInterval(t);
    },
  };
}
