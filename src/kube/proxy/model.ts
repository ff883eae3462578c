// What the proxy programs, derived from Services and EndpointSlices: one ServicePort per
// (Service, port), with the endpoints that serve it on this node's view. Pure functions; the
// proxier feeds them from informers and turns the result into nftables rules.
import type { KubeObject } from '../api/index.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface ProxyEndpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** Whether the endpoint's Pod runs on this node (for traffic policy Local). */
  local: boolean;
}

export interface ServicePort {
  /** `namespace/name/portName` (portName may be empty): stable across updates. */
  key: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  port: number;
  clusterIPs: string[];
  nodePort?: number;
  /** spec.externalIPs and status.loadBalancer.ingress IPs: answered as the cluster IP, "external" traffic. */
  externalIPs: string[];
  loadBalancerIPs: string[];
  /** The port of a LoadBalancer Service the built-in ServiceLB serves (no loadBalancerClass, an
   *  ingress assigned): answered on every local address of the node, as k3s's ServiceLB opens it
   *  with a hostPort on each node. */
  serviceLBPort?: number;
  affinityTimeout?: number;
  internalLocal: boolean;
  externalLocal: boolean;
  endpoints: ProxyEndpoint[];
}

type Obj = Record<string, unknown>;
const isIPv4 = (s: unknown): s is string => typeof s === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
const proto = (p: unknown): Protocol | undefined => {
  const v = typeof p === 'string' ? p.toLowerCase() : 'tcp';
  return v === 'tcp' || v === 'udp' || v === 'sctp' ? v : undefined;
};

/** The Services this proxy ignores: headless, ExternalName, and those labelled for another proxy. */
export function proxied(svc: KubeObject): boolean {
  const spec = (svc.spec ?? {}) as Obj;
  if (spec.type === 'ExternalName') return false;
  if (spec.clusterIP === 'None' || spec.clusterIP === undefined || spec.clusterIP === '') return false;
  if (svc.metadata.labels?.['service.kubernetes.io/service-proxy-name']) return false;
  // The cluster DNS answers on its Service address on every node itself (node-local).
  if (svc.metadata.labels?.['skiff.io/node-local'] === 'true') return false;
  return true;
}

/** Endpoints of one Service port, from the Service's slices, as kube-proxy selects them. */
function endpointsFor(slices: KubeObject[], portName: string, protocol: Protocol, nodeName: string): ProxyEndpoint[] {
  const out: ProxyEndpoint[] = [];
  const seen = new Set<string>();
  for (const sl of slices) {
    if (sl.addressType !== undefined && sl.addressType !== 'IPv4') continue;
    const ports = Array.isArray(sl.ports) ? (sl.ports as Obj[]) : [];
    const p = ports.find(
      (x) => (typeof x.name === 'string' ? x.name : '') === portName && proto(x.protocol) === protocol,
    );
    const port = Number(p?.port);
    if (!p || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    for (const e of Array.isArray(sl.endpoints) ? (sl.endpoints as Obj[]) : []) {
      const cond = (e.conditions ?? {}) as Obj;
      const ready = cond.ready !== false;
      const serving = cond.serving === undefined ? ready : cond.serving === true;
      const terminating = cond.terminating === true;
      const ip = (Array.isArray(e.addresses) ? e.addresses : []).find(isIPv4);
      if (!ip || seen.has(`${ip}:${port}`)) continue;
      seen.add(`${ip}:${port}`);
      out.push({ ip, port, ready, serving, terminating, local: e.nodeName === nodeName });
    }
  }
  return out.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
}

/** The ServicePorts of one Service (none for Services the proxy ignores). */
export function servicePorts(svc: KubeObject, slices: KubeObject[], nodeName: string): ServicePort[] {
  if (!proxied(svc)) return [];
  const spec = (svc.spec ?? {}) as Obj;
  const status = (svc.status ?? {}) as Obj;
  const clusterIPs = (Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP]).filter(isIPv4);
  const externalIPs = (Array.isArray(spec.externalIPs) ? spec.externalIPs : []).filter(isIPv4);
  const lb = ((status.loadBalancer ?? {}) as Obj).ingress;
  const loadBalancerIPs =
    spec.type === 'LoadBalancer' && Array.isArray(lb) ? (lb as Obj[]).map((i) => i.ip).filter(isIPv4) : [];
  const affinity = spec.sessionAffinity === 'ClientIP';
  const timeout = Number(
    (((spec.sessionAffinityConfig ?? {}) as Obj).clientIP as Obj | undefined)?.timeoutSeconds ?? 10800,
  );
  const out: ServicePort[] = [];
  for (const p of Array.isArray(spec.ports) ? (spec.ports as Obj[]) : []) {
    const protocol = proto(p.protocol);
    const port = Number(p.port);
    if (!protocol || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    const portName = typeof p.name === 'string' ? p.name : '';
    const nodePort = Number(p.nodePort);
    out.push({
      key: `${svc.metadata.namespace}/${svc.metadata.name}/${portName}`,
      namespace: svc.metadata.namespace ?? '',
      name: svc.metadata.name ?? '',
      portName,
      protocol,
      port,
      clusterIPs,
      nodePort:
        (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && Number.isInteger(nodePort) && nodePort > 0
          ? nodePort
          : undefined,
      externalIPs,
      loadBalancerIPs,
      serviceLBPort: loadBalancerIPs.length > 0 && spec.loadBalancerClass === undefined ? port : undefined,
      affinityTimeout: affinity ? Math.max(1, Math.min(86400, timeout || 10800)) : undefined,
      internalLocal: spec.internalTrafficPolicy === 'Local',
      externalLocal: spec.externalTrafficPolicy === 'Local',
      endpoints: endpointsFor(slices, portName, protocol, nodeName),
    });
  }
  return out;
}

/**
 * The endpoints traffic goes to, as kube-proxy picks them (KEP-1669): the ready ones; when none is
 * ready, the serving-and-terminating ones (so connections drain during a rollout). `localOnly`
 * narrows to this node's endpoints (traffic policy Local).
 */
export function usable(eps: ProxyEndpoint[], localOnly: boolean): ProxyEndpoint[] {
  const pool = localOnly ? eps.filter((e) => e.local) : eps;
  const ready = pool.filter((e) => e.ready);
  if (ready.length) return ready;
  return pool.filter((e) => e.serving && e.terminating);
}
