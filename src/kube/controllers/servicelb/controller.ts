// Service load balancer (k3s's ServiceLB role): a Service of type LoadBalancer gets the addresses
// of the cluster's ready nodes as its `status.loadBalancer.ingress`, and every node's service proxy
// answers the Service's ports on them (src/kube/proxy treats ingress IPs as external traffic). A
// Service with a `loadBalancerClass` belongs to another implementation and is left alone; one that
// stops being a LoadBalancer has its ingress cleared, as upstream's service controller does.
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { putStatus } from '../shared/control.js';
import { R } from '../shared/resources.js';
import type { KubeObject } from '../shared/types.js';

type Obj = Record<string, unknown>;

/** A node's address for load-balancer traffic: its ExternalIP, else its InternalIP. */
export function nodeIngressIP(node: KubeObject): string | undefined {
  const addrs = (((node.status ?? {}) as Obj).addresses ?? []) as { type?: string; address?: string }[];
  if (!Array.isArray(addrs)) return undefined;
  const v4 = (t: string) =>
    addrs.find((a) => a?.type === t && /^\d{1,3}(\.\d{1,3}){3}$/.test(a.address ?? ''))?.address;
  return v4('ExternalIP') ?? v4('InternalIP');
}

function ready(node: KubeObject): boolean {
  const conds = (((node.status ?? {}) as Obj).conditions ?? []) as { type?: string; status?: string }[];
  return Array.isArray(conds) && conds.some((c) => c?.type === 'Ready' && c.status === 'True');
}

export function startServiceLBController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'servicelb' });
  const services = ctx.informers.for(R.services);
  const nodes = ctx.informers.for(R.nodes);
  const loop = new Loop({ ...ctx, log }, { name: 'servicelb', sync });
  const isLB = (s: KubeObject) => ((s.spec ?? {}) as Obj).type === 'LoadBalancer';
  services.addHandlers({ add: (s) => loop.add(keyOf(s)), update: (_o, s) => loop.add(keyOf(s)) });
  const all = () => {
    for (const s of services.list()) if (isLB(s)) loop.add(keyOf(s));
  };
  nodes.addHandlers({ add: all, update: all, delete: all });

  async function sync(key: string): Promise<void> {
    const [ns, name] = key.split('/');
    const svc = services.get(ns, name);
    if (!svc) return;
    const spec = (svc.spec ?? {}) as Obj;
    const status = (svc.status ?? {}) as Obj;
    const current = (((status.loadBalancer ?? {}) as Obj).ingress ?? []) as Obj[];
    let ingress: Obj[];
    if (!isLB(svc)) {
      if (!Array.isArray(current) || current.length === 0) return;
      ingress = [];
    } else {
      if (typeof spec.loadBalancerClass === 'string' && spec.loadBalancerClass) return;
      const ips = [...new Set(nodes.list().filter(ready).map(nodeIngressIP))].filter((ip): ip is string => !!ip);
      ingress = ips.sort().map((ip) => ({ ip, ipMode: 'VIP' }));
    }
    if (JSON.stringify(current) === JSON.stringify(ingress)) return;
    await putStatus(ctx.client, R.services, svc, { ...status, loadBalancer: ingress.length ? { ingress } : {} });
  }

  return { name: 'servicelb', run: () => loop.run(), stop: () => loop.stop(), resync: all };
}
