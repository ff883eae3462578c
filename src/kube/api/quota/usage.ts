// What an object counts against a ResourceQuota (upstream's quota evaluators,
// pkg/quota/v1/evaluator/core): the resource names each kind is measured in, its usage, which
// quotas' scopes select it, and the pods' "must specify" constraint. Shared by the API server's
// ResourceQuota admission and the quota controller, so both count the same way.
import { qosClass } from '../resources/core/pod-defaults.js';
import {
  compareQuantity,
  formatQuantity,
  isValidQuantity,
  parseQuantity,
  type Quantity,
} from '../quantity/quantity.js';

export type Usage = Record<string, Quantity>;
type Obj = Record<string, any>;

const one = (): Quantity => ({ mantissa: 1n, exponent: 0, format: 'DecimalSI' });
const zero = (): Quantity => ({ mantissa: 0n, exponent: 0, format: 'DecimalSI' });
export const STORAGE_CLASS_SUFFIX = '.storageclass.storage.k8s.io/';

export function addQuantity(a: Quantity, b: Quantity): Quantity {
  const e = Math.min(a.exponent, b.exponent);
  const m = a.mantissa * 10n ** BigInt(a.exponent - e) + b.mantissa * 10n ** BigInt(b.exponent - e);
  return { mantissa: m, exponent: e, format: a.mantissa === 0n ? b.format : a.format };
}
export const subQuantity = (a: Quantity, b: Quantity) => addQuantity(a, { ...b, mantissa: -b.mantissa });

function parseList(l: unknown): Usage {
  const out: Usage = {};
  if (l && typeof l === 'object' && !Array.isArray(l))
    for (const [k, v] of Object.entries(l as Obj)) if (isValidQuantity(v)) out[k] = parseQuantity(v as string);
  return out;
}
function addInto(into: Usage, l: Usage): void {
  for (const [k, v] of Object.entries(l)) into[k] = into[k] ? addQuantity(into[k], v) : v;
}
function maxInto(into: Usage, l: Usage): void {
  for (const [k, v] of Object.entries(l)) if (!into[k] || compareQuantity(v, into[k]) > 0) into[k] = v;
}

/** A pod's effective requests or limits (upstream's PodRequests/PodLimits: containers summed,
 *  restartable init containers (sidecars) added, the largest init container step, overhead). */
export function podResources(pod: Obj, kind: 'requests' | 'limits'): Usage {
  const spec = pod.spec ?? {};
  const total: Usage = {};
  for (const c of spec.containers ?? []) if (c) addInto(total, parseList(c.resources?.[kind]));
  const sidecars: Usage = {};
  const initMax: Usage = {};
  for (const c of spec.initContainers ?? []) {
    if (!c) continue;
    const own = parseList(c.resources?.[kind]);
    let step: Usage;
    if (c.restartPolicy === 'Always') {
      addInto(total, own);
      addInto(sidecars, own);
      step = { ...sidecars };
    } else {
      step = { ...own };
      addInto(step, sidecars);
    }
    maxInto(initMax, step);
  }
  maxInto(total, initMax);
  if (kind === 'requests') addInto(total, parseList(spec.overhead));
  return total;
}

const isExtended = (name: string) =>
  name.includes('/') && !name.startsWith('kubernetes.io/') && !name.startsWith('requests.');

/** Compute usage from requests and limits (upstream's podComputeUsageHelper). */
function computeUsage(requests: Usage, limits: Usage): Usage {
  const u: Usage = { pods: one() };
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    if (requests[r]) {
      u[r] = requests[r];
      u[`requests.${r}`] = requests[r];
    }
    if (limits[r]) u[`limits.${r}`] = limits[r];
  }
  for (const [r, v] of Object.entries(requests)) {
    if (r.startsWith('hugepages-')) {
      u[r] = v;
      u[`requests.${r}`] = v;
    }
    if (isExtended(r)) u[`requests.${r}`] = v;
  }
  return u;
}

/** Whether a pod still holds compute resources (not Succeeded/Failed, not past its deletion). */
export function podCountsCompute(pod: Obj, now = Date.now()): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const del = pod.metadata?.deletionTimestamp;
  const grace = pod.metadata?.deletionGracePeriodSeconds;
  if (del && typeof grace === 'number' && now > Date.parse(del) + grace * 1000) return false;
  return true;
}

/** `count/<plural>.<group>` (core kinds: `count/<plural>`). */
export const countName = (group: string, plural: string) => (group ? `count/${plural}.${group}` : `count/${plural}`);
/** The names kinds were counted by before count/… existed. */
const LEGACY: Record<string, string> = {
  '/configmaps': 'configmaps',
  '/secrets': 'secrets',
  '/replicationcontrollers': 'replicationcontrollers',
  '/resourcequotas': 'resourcequotas',
};

/** The usage of one object of group/plural. */
export function objectUsage(group: string, plural: string, obj: Obj, now = Date.now()): Usage {
  const u: Usage = { [countName(group, plural)]: one() };
  const legacy = LEGACY[`${group}/${plural}`];
  if (legacy) u[legacy] = one();
  if (group !== '') return u;
  if (plural === 'pods') {
    if (!podCountsCompute(obj, now)) return u;
    return { ...u, ...computeUsage(podResources(obj, 'requests'), podResources(obj, 'limits')) };
  }
  if (plural === 'services') {
    const s = obj.spec ?? {};
    const ports = Array.isArray(s.ports) ? s.ports : [];
    u.services = one();
    u['services.loadbalancers'] = zero();
    u['services.nodeports'] = zero();
    const n = (k: number): Quantity => ({ mantissa: BigInt(k), exponent: 0, format: 'DecimalSI' });
    if (s.type === 'NodePort') u['services.nodeports'] = n(ports.length);
    if (s.type === 'LoadBalancer') {
      u['services.loadbalancers'] = one();
      u['services.nodeports'] = n(
        s.allocateLoadBalancerNodePorts === false ? ports.filter((p: Obj) => p?.nodePort).length : ports.length,
      );
    }
    return u;
  }
  if (plural === 'persistentvolumeclaims') {
    const s = obj.spec ?? {};
    u.persistentvolumeclaims = one();
    const cls: string | undefined =
      s.storageClassName ?? obj.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'];
    if (cls) u[`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`] = one();
    const req = parseList(s.resources?.requests).storage;
    const alloc = parseList(obj.status?.allocatedResources).storage;
    const storage = req && alloc ? (compareQuantity(req, alloc) >= 0 ? req : alloc) : (req ?? alloc);
    if (storage) {
      u['requests.storage'] = storage;
      if (cls) u[`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`] = storage;
    }
    return u;
  }
  return u;
}

const POD_RESOURCES = new Set([
  'pods',
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
]);

/** Of the quota's resource names, those that objects of group/plural are measured in. */
export function matchingResources(group: string, plural: string, names: string[]): string[] {
  const count = countName(group, plural);
  const legacy = LEGACY[`${group}/${plural}`];
  return names.filter((n) => {
    if (n === count || n === legacy) return true;
    if (group !== '') return false;
    if (plural === 'pods')
      return (
        POD_RESOURCES.has(n) ||
        n.startsWith('hugepages-') ||
        n.startsWith('requests.hugepages-') ||
        (n.startsWith('requests.') && isExtended(n.slice('requests.'.length)))
      );
    if (plural === 'services') return ['services', 'services.loadbalancers', 'services.nodeports'].includes(n);
    if (plural === 'persistentvolumeclaims')
      return (
        n === 'persistentvolumeclaims' ||
        n === 'requests.storage' ||
        n.endsWith(`${STORAGE_CLASS_SUFFIX}requests.storage`) ||
        n.endsWith(`${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`)
      );
    return false;
  });
}

interface ScopeRequirement {
  scopeName?: string;
  operator?: string;
  values?: string[];
}

/** The quota's scope requirements: spec.scopes (each "Exists") and spec.scopeSelector. */
export function quotaScopes(quota: Obj): ScopeRequirement[] {
  const out: ScopeRequirement[] = (quota.spec?.scopes ?? []).map((s: string) => ({ scopeName: s, operator: 'Exists' }));
  for (const r of quota.spec?.scopeSelector?.matchExpressions ?? []) if (r) out.push(r);
  return out;
}

function podMatchesScope(pod: Obj, r: ScopeRequirement): boolean {
  const spec = pod.spec ?? {};
  const terminating = typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds >= 0;
  const bestEffort = qosClass(spec) === 'BestEffort';
  switch (r.scopeName) {
    case 'Terminating':
      return terminating;
    case 'NotTerminating':
      return !terminating;
    case 'BestEffort':
      return bestEffort;
    case 'NotBestEffort':
      return !bestEffort;
    case 'PriorityClass': {
      const pc = spec.priorityClassName ?? '';
      const vals = r.values ?? [];
      if (r.operator === 'Exists') return pc !== '';
      if (r.operator === 'DoesNotExist') return pc === '';
      if (r.operator === 'In') return vals.includes(pc);
      if (r.operator === 'NotIn') return !vals.includes(pc);
      return false;
    }
    case 'CrossNamespacePodAffinity': {
      const terms = [
        ...(spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
        ...(spec.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map(
          (w: Obj) => w?.podAffinityTerm,
        ),
        ...(spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
        ...(spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map(
          (w: Obj) => w?.podAffinityTerm,
        ),
      ];
      return terms.some((t: Obj) => t && ((t.namespaces ?? []).length > 0 || t.namespaceSelector));
    }
    default:
      return false;
  }
}

/** Whether the quota's scopes select the object (scopes only narrow pods; other kinds always match). */
export function matchesScopes(quota: Obj, group: string, plural: string, obj: Obj): boolean {
  if (group !== '' || plural !== 'pods') return true;
  return quotaScopes(quota).every((r) => podMatchesScope(obj, r));
}

/** Upstream's backward-compatible pod constraint: when a quota limits cpu or memory (requests or
 *  limits), every container must state it. Returns the message after "must specify", or undefined. */
export function podConstraint(pod: Obj, required: string[]): string | undefined {
  const validation = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];
  const req = required.filter((r) => validation.includes(r));
  if (!req.length) return undefined;
  const missing = new Map<string, Set<string>>();
  const spec = pod.spec ?? {};
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    if (!c) continue;
    const own = computeUsage(parseList(c.resources?.requests), parseList(c.resources?.limits));
    for (const r of req) if (!own[r]) missing.set(r, (missing.get(r) ?? new Set()).add(String(c.name)));
  }
  if (!missing.size) return undefined;
  return [...missing.keys()]
    .sort()
    .map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`)
    .join('; ');
}

/** `a=1,b=2` sorted by name (upstream's prettyPrint of a ResourceList). */
export function formatUsage(u: Usage): string {
  return Object.keys(u)
    .sort()
    .map((k) => `${k}=${formatQuantity(u[k])}`)
    .join(',');
}
