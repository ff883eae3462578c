// What the Endpoints and EndpointSlice controllers share: which Services select which pods, which
// pods are endpoints at all, and how a Service port resolves on a pod (a named targetPort is
// looked up among the pod's container ports, per protocol).
import { isIP } from 'node:net';
import { mapSelectorMatches } from '../../api/index.js';
import type { SharedInformer } from './informers.js';
import { isPodReady } from './pods.js';
import type { KubeObject, Pod } from './types.js';

export interface ServicePort {
  name?: string;
  protocol?: string;
  port: number;
  targetPort?: number | string;
  appProtocol?: string;
}
export interface Service extends KubeObject {
  spec?: {
    selector?: Record<string, string>;
    ports?: ServicePort[];
    clusterIP?: string;
    type?: string;
    publishNotReadyAddresses?: boolean;
    ipFamilies?: string[];
  };
}

/** A selector-less Service's endpoints belong to the user; `{}` decodes to none upstream too. */
export const hasSelector = (s: Service) =>
  Boolean(s.spec?.selector && typeof s.spec.selector === 'object' && Object.keys(s.spec.selector).length);

export const isHeadless = (s: Service) => s.spec?.clusterIP === 'None';

/** Services of the pod's namespace whose selector matches the pod's labels. */
export function servicesFor(svcInf: SharedInformer<Service>, pod: Pod): Service[] {
  return svcInf
    .list(pod.metadata.namespace ?? '')
    .filter((s) => hasSelector(s) && mapSelectorMatches(s.spec!.selector!, pod.metadata.labels));
}

/** The pods a Service selects. */
export function podsFor(podInf: SharedInformer<Pod>, svc: Service): Pod[] {
  if (!hasSelector(svc)) return [];
  const sel = svc.spec!.selector!;
  return podInf.list(svc.metadata.namespace ?? '').filter((p) => mapSelectorMatches(sel, p.metadata.labels));
}

/** Whether a pod is an endpoint at all: it has an IP, is not finished, and (unless terminating pods are wanted) is not being deleted. */
export function shouldBeEndpoint(p: Pod, includeTerminating: boolean): boolean {
  if (!p.status?.podIP) return false;
  const phase = p.status.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!includeTerminating && p.metadata.deletionTimestamp) return false;
  return true;
}

/** The pod's port for a Service port, or undefined when a named targetPort is not on the pod. */
export function resolvePort(p: Pod, sp: ServicePort): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  const proto = sp.protocol ?? 'TCP';
  for (const c of p.spec?.containers ?? [])
    for (const cp of c?.ports ?? []) if (cp?.name === tp && (cp.protocol ?? 'TCP') === proto) return cp.containerPort;
  return undefined;
}

/** The pod's addresses of one family (podIPs, falling back to podIP). */
export function podAddresses(p: Pod, family: 'IPv4' | 'IPv6'): string[] {
  const ips = p.status?.podIPs?.length ? p.status.podIPs.map((x) => x?.ip) : [p.status?.podIP];
  return ips.filter((ip): ip is string => typeof ip === 'string' && isIP(ip) === (family === 'IPv4' ? 4 : 6));
}

/** Hostname for DNS: only when the pod's subdomain is this Service. */
export function endpointHostname(p: Pod, svc: Service): string | undefined {
  return p.spec?.hostname && p.spec.subdomain === svc.metadata.name ? p.spec.hostname : undefined;
}

export const podReady = isPodReady;
