// LimitRanger (upstream's plugin): the namespace's LimitRanges default and bound resources. A new
// Pod's containers and init containers get the `Container` items' default limits and default
// requests for what they leave unset (recorded in the kubernetes.io/limit-ranger annotation);
// then every Pod (on create) and PersistentVolumeClaim (create, update) is checked against the
// min / max / maxLimitRequestRatio of the `Container`, `Pod` and `PersistentVolumeClaim` items,
// refused with upstream's messages (all of them, as one aggregate).
import type { KubeObject } from '../../api/index.js';
import { errForbidden } from '../status.js';
import { addLists, cmp, parseList, q, str, type ResourceList } from './quantities.js';
import type { Quantity } from '../../api/index.js';
import type { AdmissionAttributes, AdmissionPlugin } from './types.js';
import { isResource } from './types.js';

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';

interface LimitItem {
  type?: string;
  max?: ResourceList;
  min?: ResourceList;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}
interface Container {
  name?: string;
  resources?: { requests?: ResourceList; limits?: ResourceList };
}

const itemsOf = (lr: KubeObject) => ((lr.spec as { limits?: LimitItem[] } | undefined)?.limits ?? []).filter(Boolean);
const sorted = (l: ResourceList | undefined) => Object.entries(l ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
const MAX_MILLI = 9223372036854775807n / 1000n;

/** Quantity.Value (scale 0) / MilliValue (scale 3): rounded up, as upstream. */
function scaled(x: Quantity | undefined, scale: number): bigint {
  if (!x) return 0n;
  const e = x.exponent + scale;
  if (e >= 0) return x.mantissa * 10n ** BigInt(e);
  const d = 10n ** BigInt(-e);
  const n = x.mantissa / d;
  return x.mantissa > 0n && x.mantissa % d !== 0n ? n + 1n : n;
}

/** Upstream's requestLimitEnforcedValues: milli precision unless a value would overflow it. */
function values(req: Quantity | undefined, lim: Quantity | undefined, enforced: Quantity): [bigint, bigint, bigint] {
  const plain: [bigint, bigint, bigint] = [scaled(req, 0), scaled(lim, 0), scaled(enforced, 0)];
  if (plain.every((x) => x <= MAX_MILLI)) return [scaled(req, 3), scaled(lim, 3), scaled(enforced, 3)];
  return plain;
}

function minConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  req?: Quantity,
  lim?: Quantity,
): string | undefined {
  const [r, l, e] = values(req, lim, enforced);
  if (!req) return `minimum ${name} usage per ${type} is ${str(enforced)}.  No request is specified`;
  if (r < e) return `minimum ${name} usage per ${type} is ${str(enforced)}, but request is ${str(req)}`;
  if (lim && l < e) return `minimum ${name} usage per ${type} is ${str(enforced)}, but limit is ${str(lim)}`;
  return undefined;
}

function maxConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  req?: Quantity,
  lim?: Quantity,
): string | undefined {
  const [r, l, e] = values(req, lim, enforced);
  if (!lim) return `maximum ${name} usage per ${type} is ${str(enforced)}.  No limit is specified`;
  if (l > e) return `maximum ${name} usage per ${type} is ${str(enforced)}, but limit is ${str(lim)}`;
  if (req && r > e) return `maximum ${name} usage per ${type} is ${str(enforced)}, but request is ${str(req)}`;
  return undefined;
}

function maxRequestConstraint(type: string, name: string, enforced: Quantity, req?: Quantity): string | undefined {
  const [r, , e] = values(req, undefined, enforced);
  if (!req) return `maximum ${name} usage per ${type} is ${str(enforced)}.  No request is specified`;
  if (r > e) return `maximum ${name} usage per ${type} is ${str(enforced)}, but request is ${str(req)}`;
  return undefined;
}

function ratioConstraint(
  type: string,
  name: string,
  enforced: Quantity,
  req?: Quantity,
  lim?: Quantity,
): string | undefined {
  const [r, l] = values(req, lim, enforced);
  const e = str(enforced);
  if (!req || r === 0n)
    return `${name} max limit to request ratio per ${type} is ${e}, but no request is specified or request is 0`;
  if (!lim || l === 0n)
    return `${name} max limit to request ratio per ${type} is ${e}, but no limit is specified or limit is 0`;
  const ratio = Number(l) / Number(r);
  const over =
    scaled(enforced, 0) <= MAX_MILLI ? ratio * 1000 > Number(scaled(enforced, 3)) : ratio > Number(scaled(enforced, 0));
  if (over) return `${name} max limit to request ratio per ${type} is ${e}, but provided ratio is ${ratio.toFixed(6)}`;
  return undefined;
}

/** The defaults of the `Container` items, merged into a pod's containers (and the annotation). */
function applyDefaults(pod: KubeObject, ranges: KubeObject[]): void {
  const limits: ResourceList = {};
  const requests: ResourceList = {};
  for (const lr of ranges)
    for (const item of itemsOf(lr))
      if (item.type === 'Container') {
        // (LimitRanges apply in turn: the first to default a resource wins)
        for (const [k, v] of Object.entries(item.defaultRequest ?? {})) requests[k] ??= v;
        for (const [k, v] of Object.entries(item.default ?? {})) limits[k] ??= v;
      }
  if (!Object.keys(limits).length && !Object.keys(requests).length) return;
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  const notes: string[] = [];
  /** Sets the defaults a container leaves unset; returns the names set. */
  const fill = (
    c: { requests?: ResourceList; limits?: ResourceList },
    field: 'requests' | 'limits',
    d: ResourceList,
  ) => {
    const set: string[] = [];
    for (const [k, v] of Object.entries(d))
      if (!(k in (c[field] ?? {}))) {
        c[field] = { ...(c[field] ?? {}), [k]: v };
        set.push(k);
      }
    return set.sort();
  };
  const merge = (c: Container, what: string) => {
    c.resources ??= {};
    const setL = fill(c.resources, 'limits', limits);
    const setR = fill(c.resources, 'requests', requests);
    if (setR.length) notes.push(`${setR.join(', ')} request for ${what} ${c.name}`);
    if (setL.length) notes.push(`${setL.join(', ')} limit for ${what} ${c.name}`);
  };
  for (const c of spec.containers ?? []) if (c) merge(c, 'container');
  for (const c of spec.initContainers ?? []) if (c) merge(c, 'init container');
  if (notes.length)
    pod.metadata.annotations = {
      ...(pod.metadata.annotations ?? {}),
      [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}`,
    };
}

type Constraint = (
  type: string,
  name: string,
  enforced: Quantity,
  req?: Quantity,
  lim?: Quantity,
) => string | undefined;

/** An item's bounds for `type`, checked in upstream's order (min, max, then the limit/request
 *  ratio; a claim has only requests and no ratio); each violation's message is added to `errs`. */
function checkItem(
  type: string,
  item: LimitItem,
  req: Record<string, Quantity>,
  lim: Record<string, Quantity>,
  errs: string[],
): void {
  const bounds: [ResourceList | undefined, Constraint][] =
    type === 'PersistentVolumeClaim'
      ? [
          [item.min, minConstraint],
          [item.max, (t, n, e, r) => maxRequestConstraint(t, n, e, r)],
        ]
      : [
          [item.min, minConstraint],
          [item.max, maxConstraint],
          [item.maxLimitRequestRatio, ratioConstraint],
        ];
  for (const [list, check] of bounds)
    for (const [k, v] of sorted(list)) {
      const e = q(v);
      const m = e && check(type, k, e, req[k], lim[k]);
      if (m) errs.push(m);
    }
}

/** Raises each resource of `into` to `l`'s when larger (a pod's init containers run one at a time). */
function maxInto(into: Record<string, Quantity>, l: Record<string, Quantity>): void {
  for (const [k, v] of Object.entries(l)) if (!into[k] || cmp(v, into[k]) > 0) into[k] = v;
}

function checkPod(pod: KubeObject, ranges: KubeObject[]): string[] {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[] };
  const containers = (spec.containers ?? []).filter(Boolean);
  const inits = (spec.initContainers ?? []).filter(Boolean);
  const errs: string[] = [];
  for (const lr of ranges)
    for (const item of itemsOf(lr)) {
      if (item.type === 'Container')
        for (const c of [...containers, ...inits])
          checkItem('Container', item, parseList(c.resources?.requests), parseList(c.resources?.limits), errs);
      if (item.type === 'Pod') {
        let req: Record<string, Quantity> = {},
          lim: Record<string, Quantity> = {};
        for (const c of containers) {
          req = addLists(req, parseList(c.resources?.requests));
          lim = addLists(lim, parseList(c.resources?.limits));
        }
        // max(sum of containers, any init container)
        for (const c of inits) {
          maxInto(req, parseList(c.resources?.requests));
          maxInto(lim, parseList(c.resources?.limits));
        }
        checkItem('Pod', item, req, lim, errs);
      }
    }
  return errs;
}

function checkClaim(pvc: KubeObject, ranges: KubeObject[]): string[] {
  const req = parseList((pvc.spec as { resources?: { requests?: unknown } } | undefined)?.resources?.requests);
  const errs: string[] = [];
  for (const lr of ranges)
    for (const item of itemsOf(lr))
      if (item.type === 'PersistentVolumeClaim') checkItem(item.type, item, req, {}, errs);
  return errs;
}

/** Upstream's aggregate: one message as is, several as `[a, b]` (each once). */
export function aggregate(msgs: string[]): string {
  const uniq = [...new Set(msgs)];
  return uniq.length === 1 ? uniq[0] : `[${uniq.join(', ')}]`;
}

function relevant(a: AdmissionAttributes): 'pod' | 'pvc' | undefined {
  if (!a.object || a.operation === 'DELETE') return undefined;
  if (isResource(a, '', 'pods') && a.operation === 'CREATE') return 'pod';
  if (isResource(a, '', 'persistentvolumeclaims')) return 'pvc';
  return undefined;
}

export const limitRanger: AdmissionPlugin = {
  name: 'LimitRanger',
  async admit(a) {
    if (relevant(a) !== 'pod') return;
    const ranges = await a.reader.list('', 'limitranges', a.namespace);
    if (ranges.length) applyDefaults(a.object!, ranges);
  },
  async validate(a) {
    const kind = relevant(a);
    if (!kind) return;
    const ranges = await a.reader.list('', 'limitranges', a.namespace);
    if (!ranges.length) return;
    const errs = kind === 'pod' ? checkPod(a.object!, ranges) : checkClaim(a.object!, ranges);
    if (errs.length) {
      const plural = kind === 'pod' ? 'pods' : 'persistentvolumeclaims';
      throw errForbidden(`${plural} "${a.name ?? ''}" is forbidden: ${aggregate(errs)}`, {
        resource: plural,
        name: a.name,
      });
    }
  },
};
