// EndpointSlice controller (upstream's pkg/controller/endpointslice): for every Service with a
// selector, EndpointSlices (at most 100 endpoints each, one address type each, grouped by the
// resolved port set) listing the selected pods with the ready / serving / terminating
// conditions, owned by the Service and labelled kubernetes.io/service-name and managed-by.
// Reconciling keeps endpoints in the slice they are in (little churn), fills slices with room
// before creating new ones, deletes emptied slices, and keeps one empty placeholder slice for a
// Service without endpoints, as upstream. Expectations cover its own creates and deletes.
import { resourcePath } from '../../client/index.js';
import { isNotFound, ownerRefFor } from '../shared/control.js';
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
import { Expectations } from '../shared/expectations.js';
import { canonicalJSON, controllerRef, splitKey } from '../shared/pods.js';
import { TriggerTimeTracker, withTriggerTime } from '../shared/triggertime.js';
import { R } from '../shared/resources.js';
import type { KubeObject, Node, Pod } from '../shared/types.js';
import { isSkiffError } from '../../../common/index.js';

export const SERVICE_NAME = 'kubernetes.io/service-name';
export const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
const HEADLESS = 'service.kubernetes.io/headless';
const ZONE = 'topology.kubernetes.io/zone';

interface Endpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  targetRef: { kind: 'Pod'; namespace?: string; name?: string; uid?: string };
  nodeName?: string;
  zone?: string;
}
interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}
interface EndpointSlice extends KubeObject {
  addressType: string;
  endpoints?: Endpoint[];
  ports?: EndpointPort[];
}

export interface EndpointSliceOptions {
  maxEndpointsPerSlice?: number;
}

export function startEndpointSliceController(ctx: ControllerContext, opts: EndpointSliceOptions = {}): Controller {
  const max = opts.maxEndpointsPerSlice ?? 100;
  const log = ctx.log.child({ controller: 'endpointslice' });
  const svcInf = ctx.informers.for<Service>(R.services);
  const podInf = ctx.informers.for<Pod>(R.pods);
  const nodeInf = ctx.informers.for<Node>(R.nodes);
  const sliceInf = ctx.informers.for<EndpointSlice>(R.endpointslices, {
    labelSelector: `${MANAGED_BY}=${CONTROLLER_NAME}`,
  });
  sliceInf.addIndexer('service', (s) => [`${s.metadata.namespace}/${s.metadata.labels?.[SERVICE_NAME] ?? ''}`]);
  const exp = new Expectations(ctx.now);
  const loop = new Loop({ ...ctx, log }, { name: 'endpointslice', workers: 4, sync });
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
  const svcKey = (s: EndpointSlice) => `${s.metadata.namespace}/${s.metadata.labels?.[SERVICE_NAME] ?? ''}`;
  sliceInf.addHandlers({
    add: (s) => {
      exp.creationObserved(svcKey(s));
      loop.add(svcKey(s));
    },
    update: (_o, s) => loop.add(svcKey(s)),
    delete: (s) => {
      exp.deletionObserved(svcKey(s));
      loop.add(svcKey(s));
    },
  });

  function desired(
    svc: Service,
    family: 'IPv4' | 'IPv6',
  ): Map<string, { ports: EndpointPort[]; eps: Map<string, Endpoint> }> {
    const tolerate = svc.spec?.publishNotReadyAddresses === true;
    const out = new Map<string, { ports: EndpointPort[]; eps: Map<string, Endpoint> }>();
    for (const p of podsFor(podInf, svc)) {
      if (!shouldBeEndpoint(p, true)) continue;
      const addrs = podAddresses(p, family);
      if (!addrs.length) continue;
      const ports: EndpointPort[] = [];
      for (const sp of svc.spec?.ports ?? []) {
        const port = resolvePort(p, sp);
        if (port === undefined) continue;
        ports.push({
          name: sp.name ?? '',
          port,
          protocol: sp.protocol ?? 'TCP',
          ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
        });
      }
      const key = canonicalJSON(
        [...ports].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.port - b.port)),
      );
      let g = out.get(key);
      if (!g) out.set(key, (g = { ports, eps: new Map() }));
      const terminating = Boolean(p.metadata.deletionTimestamp);
      const ready = podReady(p);
      const zone = p.spec?.nodeName ? nodeInf.get(undefined, p.spec.nodeName)?.metadata.labels?.[ZONE] : undefined;
      const hostname = endpointHostname(p, svc);
      g.eps.set(addrs[0], {
        addresses: [addrs[0]],
        conditions: { ready: tolerate || (ready && !terminating), serving: tolerate || ready, terminating },
        ...(hostname ? { hostname } : {}),
        targetRef: { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid },
        ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
        ...(zone ? { zone } : {}),
      });
    }
    return out;
  }

  const portsKey = (s: EndpointSlice) =>
    canonicalJSON([...(s.ports ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.port - b.port)));
  const byAddress = (a: Endpoint, b: Endpoint) => (a.addresses[0] < b.addresses[0] ? -1 : 1);

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const svc = svcInf.get(ns, name);
    if (!svc || svc.metadata.deletionTimestamp) {
      triggers.forget(key);
      return; // owned slices go with the Service (garbage collector)
    }
    if (!hasSelector(svc)) return;
    if (!exp.satisfied(key)) return;
    const at = triggers.compute(key, svc, podsFor(podInf, svc));
    const families = (svc.spec?.ipFamilies?.length ? svc.spec.ipFamilies : ['IPv4']).filter(
      (f): f is 'IPv4' | 'IPv6' => f === 'IPv4' || f === 'IPv6',
    );
    const owned = sliceInf
      .byIndex('service', key)
      .filter((s) => controllerRef(s)?.uid === svc.metadata.uid && !s.metadata.deletionTimestamp);
    const labels: Record<string, string> = {
      ...(svc.metadata.labels ?? {}),
      [SERVICE_NAME]: name,
      [MANAGED_BY]: CONTROLLER_NAME,
    };
    if (isHeadless(svc)) labels[HEADLESS] = '';
    else delete labels[HEADLESS];
    const toCreate: EndpointSlice[] = [];
    const toUpdate: EndpointSlice[] = [];
    const toDelete: EndpointSlice[] = [];
    for (const s of owned) if (!families.includes(s.addressType as 'IPv4')) toDelete.push(s);
    for (const family of families) {
      const want = desired(svc, family);
      const mine = owned.filter((s) => s.addressType === family);
      const kept: EndpointSlice[] = [];
      for (const s of mine) {
        const g = want.get(portsKey(s));
        if (!g) {
          toDelete.push(s);
          continue;
        }
        const next: Endpoint[] = [];
        for (const ep of s.endpoints ?? []) {
          const d = g.eps.get(ep?.addresses?.[0]);
          if (!d || next.length >= max) continue;
          next.push(d);
          g.eps.delete(ep.addresses[0]);
        }
        const copy = structuredClone(s);
        copy.endpoints = next.sort(byAddress);
        copy.metadata.labels = labels;
        if (!next.length) {
          toDelete.push(s);
          continue;
        }
        kept.push(copy);
        if (
          canonicalJSON(copy.endpoints) !== canonicalJSON(s.endpoints ?? []) ||
          canonicalJSON(labels) !== canonicalJSON(s.metadata.labels ?? {})
        )
          toUpdate.push(copy);
      }
      for (const [pk, g] of want) {
        const rest = [...g.eps.values()].sort(byAddress);
        // Fill slices of these ports that have room, those already being written first.
        const room = kept
          .filter((s) => portsKey(s) === pk && (s.endpoints?.length ?? 0) < max)
          .sort((a, b) => Number(toUpdate.includes(b)) - Number(toUpdate.includes(a)));
        for (const s of room) {
          if (!rest.length) break;
          const n = max - (s.endpoints?.length ?? 0);
          s.endpoints = [...(s.endpoints ?? []), ...rest.splice(0, n)].sort(byAddress);
          if (!toUpdate.includes(s)) toUpdate.push(s);
        }
        while (rest.length) toCreate.push(newSlice(svc, family, labels, g.ports, rest.splice(0, max).sort(byAddress)));
      }
    }
    const remaining = owned.length - toDelete.length + toCreate.length;
    if (remaining === 0) {
      // No endpoints: one empty placeholder slice, kept if one already exists.
      const placeholder = toDelete.findIndex((s) => !(s.ports ?? []).length && s.addressType === families[0]);
      if (placeholder >= 0) {
        const [s] = toDelete.splice(placeholder, 1);
        if ((s.endpoints ?? []).length) toUpdate.push({ ...structuredClone(s), endpoints: [] });
      } else toCreate.push(newSlice(svc, families[0] ?? 'IPv4', labels, [], []));
    } else {
      // A placeholder is not needed next to real slices.
      for (const s of owned)
        if (!(s.ports ?? []).length && !(s.endpoints ?? []).length && !toDelete.includes(s)) toDelete.push(s);
    }
    // What is written carries the trigger time (upstream's reconciler), or loses a stale one.
    for (const s of [...toUpdate, ...toCreate]) s.metadata.annotations = withTriggerTime(s.metadata.annotations, at);
    if (toCreate.length || toDelete.length) exp.expect(key, toCreate.length, toDelete.length);
    let created = 0,
      deleted = 0;
    try {
      for (const s of toUpdate)
        await ctx.client.request('PUT', resourcePath(R.endpointslices, ns, s.metadata.name), { body: s });
      for (const s of toCreate) {
        await ctx.client.request('POST', resourcePath(R.endpointslices, ns), { body: s });
        created++;
      }
      for (const s of toDelete) {
        try {
          await ctx.client.request('DELETE', resourcePath(R.endpointslices, ns, s.metadata.name), {
            body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: s.metadata.uid } },
          });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        deleted++;
      }
    } catch (e) {
      exp.lowerExpectations(key, toCreate.length - created, toDelete.length - deleted);
      if (isSkiffError(e, 'FailedPrecondition')) return; // namespace terminating
      throw e;
    }
  }

  return { name: 'endpointslice', run: () => loop.run(), stop: () => loop.stop() };
}

function newSlice(
  svc: Service,
  family: string,
  labels: Record<string, string>,
  ports: EndpointPort[],
  endpoints: Endpoint[],
): EndpointSlice {
  const prefix = `${svc.metadata.name}-`;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: prefix.length > 58 ? prefix.slice(0, 58) : prefix,
      namespace: svc.metadata.namespace,
      labels,
      ownerReferences: [ownerRefFor(svc, 'v1', 'Service')],
    },
    addressType: family,
    endpoints,
    ports,
  };
}
