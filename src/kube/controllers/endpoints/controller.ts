// Endpoints controller (upstream's pkg/controller/endpoint): for every Service with a selector,
// an Endpoints object of the same name listing the selected pods' IPs per resolved port set —
// ready pods as addresses, others as notReadyAddresses (all as addresses with
// publishNotReadyAddresses), terminating pods left out. Truncated to 1000 addresses with the
// over-capacity annotation, as upstream. Selector-less Services' Endpoints are the user's.
import { resourcePath } from '../../client/index.js';
import { isAlreadyExists, isNotFound } from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import {
  endpointHostname,
  hasSelector,
  isHeadless,
  podAddresses,
  podReady,
  podsFor,
  resolvePort,
  servicesFor,
  shouldBeEndpoint,
  type Service,
} from '../shared/endpoints.js';
import { splitKey } from '../shared/pods.js';
import { TRIGGER_TIME, TriggerTimeTracker, withTriggerTime } from '../shared/triggertime.js';
import { R } from '../shared/resources.js';
import type { KubeObject, Pod } from '../shared/types.js';
import { isSkiffError } from '../../../common/index.js';

const MAX_ADDRESSES = 1000;
const OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
const HEADLESS = 'service.kubernetes.io/headless';
const LEADER = 'control-plane.alpha.kubernetes.io/leader';

interface Address {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace?: string; name?: string; uid?: string };
}
interface Port {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}
interface Subset {
  addresses?: Address[];
  notReadyAddresses?: Address[];
  ports?: Port[];
}
interface Endpoints extends KubeObject {
  subsets?: Subset[];
}

/** Upstream's subsets for a Service: addresses grouped by identical port sets, sorted. */
export function computeSubsets(svc: Service, pods: Pod[]): { subsets: Subset[]; truncated: boolean } {
  const tolerate = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: Port[]; ready: Map<string, Address>; notReady: Map<string, Address> }>();
  for (const p of pods) {
    if (!shouldBeEndpoint(p, tolerate)) continue;
    const ip = podAddresses(p, 'IPv4')[0] ?? podAddresses(p, 'IPv6')[0];
    if (!ip) continue;
    const addr: Address = {
      ip,
      ...(endpointHostname(p, svc) ? { hostname: endpointHostname(p, svc) } : {}),
      ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid },
    };
    const ports: Port[] = [];
    for (const sp of svc.spec?.ports ?? []) {
      const port = resolvePort(p, sp);
      if (port === undefined) continue; // a named port this pod does not have
      ports.push({
        ...(sp.name ? { name: sp.name } : {}),
        port,
        protocol: sp.protocol ?? 'TCP',
        ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
      });
    }
    if ((svc.spec?.ports ?? []).length && !ports.length) continue;
    ports.sort((a, b) =>
      (a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : a.port - b.port,
    );
    const k = JSON.stringify(ports);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { ports, ready: new Map(), notReady: new Map() }));
    if (tolerate || podReady(p)) g.ready.set(ip, addr);
    else g.notReady.set(ip, addr);
  }
  let budget = MAX_ADDRESSES;
  let truncated = false;
  const byIp = (a: Address, b: Address) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0);
  const subsets: Subset[] = [];
  for (const g of [...groups.values()].sort((a, b) => (JSON.stringify(a.ports) < JSON.stringify(b.ports) ? -1 : 1))) {
    let ready = [...g.ready.values()].sort(byIp);
    let notReady = [...g.notReady.values()].sort(byIp);
    if (ready.length > budget) {
      ready = ready.slice(0, budget);
      truncated = true;
    }
    budget -= ready.length;
    if (notReady.length > budget) {
      notReady = notReady.slice(0, budget);
      truncated = true;
    }
    budget -= notReady.length;
    if (!ready.length && !notReady.length) continue;
    subsets.push({
      ...(ready.length ? { addresses: ready } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady } : {}),
      ...(g.ports.length ? { ports: g.ports } : {}),
    });
  }
  return { subsets, truncated };
}

export function startEndpointsController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'endpoints' });
  const svcInf = ctx.informers.for<Service>(R.services);
  const podInf = ctx.informers.for<Pod>(R.pods);
  const epInf = ctx.informers.for<Endpoints>(R.endpoints);
  const loop = new Loop({ ...ctx, log }, { name: 'endpoints', workers: 4, sync });
  const triggers = new TriggerTimeTracker();

  svcInf.addHandlers({
    add: (s) => loop.add(keyOf(s)),
    update: (_o, s) => loop.add(keyOf(s)),
    delete: (s) => loop.add(keyOf(s)),
  });
  const podChanged = (p: Pod) => {
    for (const s of servicesFor(svcInf, p)) loop.add(keyOf(s));
  };
  podInf.addHandlers({
    add: podChanged,
    update: (old, p) => {
      if (old.metadata.resourceVersion === p.metadata.resourceVersion) return;
      podChanged(p);
      if (JSON.stringify(old.metadata.labels) !== JSON.stringify(p.metadata.labels)) podChanged(old);
    },
    delete: podChanged,
  });
  // An edited or deleted Endpoints of a selected Service is put back.
  epInf.addHandlers({
    update: (_o, e) => {
      const s = svcInf.get(e.metadata.namespace, e.metadata.name ?? '');
      if (s && hasSelector(s)) loop.add(keyOf(e));
    },
    delete: (e) => loop.add(keyOf(e)),
  });

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const svc = svcInf.get(ns, name);
    const path = resourcePath(R.endpoints, ns, name);
    if (!svc) {
      // Service gone: its Endpoints go too, as upstream's (a leader-election record aside).
      triggers.forget(key);
      const ep = epInf.get(ns, name);
      if (ep && !ep.metadata.annotations?.[LEADER]) await ctx.client.request('DELETE', path).catch(ignoreGone);
      return;
    }
    if (!hasSelector(svc)) return;
    const pods = podsFor(podInf, svc);
    const at = triggers.compute(key, svc, pods);
    const { subsets, truncated } = computeSubsets(svc, pods);
    // The Service's labels (kube-controller-manager 1.32 adds no skip-mirror label).
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    if (isHeadless(svc)) labels[HEADLESS] = '';
    else delete labels[HEADLESS];
    const cur = epInf.get(ns, name);
    const annotations: Record<string, string> = { ...(cur?.metadata.annotations ?? {}) };
    if (truncated) annotations[OVER_CAPACITY] = 'truncated';
    else delete annotations[OVER_CAPACITY];
    const { [TRIGGER_TIME]: _t, ...compared } = annotations;
    const { [TRIGGER_TIME]: _c, ...had } = cur?.metadata.annotations ?? {};
    if (
      cur &&
      JSON.stringify(cur.subsets ?? []) === JSON.stringify(subsets) &&
      JSON.stringify(cur.metadata.labels ?? {}) === JSON.stringify(labels) &&
      JSON.stringify(had) === JSON.stringify(compared)
    )
      return;
    const body: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        ...(cur ? structuredClone(cur.metadata) : {}),
        name,
        namespace: ns,
        labels,
        annotations: withTriggerTime(annotations, at),
      },
      // An empty list is left out, as upstream's (omitempty).
      ...(subsets.length ? { subsets } : {}),
    };
    try {
      if (cur) await ctx.client.request('PUT', path, { body });
      else await ctx.client.request('POST', resourcePath(R.endpoints, ns), { body });
    } catch (e) {
      if (isAlreadyExists(e)) {
        loop.queue.addAfter(key, 100); // the cache has not seen it yet
        return;
      }
      if (isSkiffError(e, 'FailedPrecondition')) return; // namespace terminating
      throw e;
    }
  }

  return { name: 'endpoints', run: () => loop.run(), stop: () => loop.stop() };
}

const ignoreGone = (e: unknown) => {
  if (!isNotFound(e)) throw e;
};
