// Pod predicates and orderings every workload controller uses (upstream's pkg/controller and
// podutil helpers): active, ready, available, and the order in which extra pods are deleted.
import type { Condition, OwnerReference, Pod } from './types.js';

export const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
export const isTerminating = (p: Pod) => Boolean(p.metadata.deletionTimestamp);
/** Not terminal and not being deleted (upstream's IsPodActive). */
export const isPodActive = (p: Pod) => !isTerminal(p) && !isTerminating(p);

export function getCondition<C extends Condition>(conds: C[] | undefined, type: string): C | undefined {
  return Array.isArray(conds) ? conds.find((c) => c && c.type === type) : undefined;
}

export const isPodReady = (p: Pod) => getCondition(p.status?.conditions, 'Ready')?.status === 'True';

/** Ready for at least minReadySeconds at `now` (ms). */
export function isPodAvailable(p: Pod, minReadySeconds: number, now: number): boolean {
  const c = getCondition(p.status?.conditions, 'Ready');
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const t = Date.parse(c.lastTransitionTime ?? '');
  return Number.isFinite(t) && t + minReadySeconds * 1000 <= now;
}

/** ms until a ready pod becomes available, or undefined when it is not ready / already available. */
export function untilAvailable(p: Pod, minReadySeconds: number, now: number): number | undefined {
  const c = getCondition(p.status?.conditions, 'Ready');
  if (c?.status !== 'True' || !minReadySeconds) return undefined;
  const t = Date.parse(c.lastTransitionTime ?? '');
  if (!Number.isFinite(t)) return undefined;
  const left = t + minReadySeconds * 1000 - now;
  return left > 0 ? left : undefined;
}

export function controllerRef(o: { metadata: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  const refs = o.metadata.ownerReferences;
  return Array.isArray(refs) ? refs.find((r) => r && r.controller === true) : undefined;
}

const restarts = (p: Pod) =>
  (p.status?.containerStatuses ?? []).reduce((n, c) => n + (Number(c?.restartCount) || 0), 0);
const phaseRank = (p: Pod) => ({ Pending: 0, Unknown: 1, Running: 2 })[p.status?.phase ?? 'Pending'] ?? 0;
const readyTime = (p: Pod) => Date.parse(getCondition(p.status?.conditions, 'Ready')?.lastTransitionTime ?? '') || 0;
const created = (p: Pod) => Date.parse(p.metadata.creationTimestamp ?? '') || 0;

/**
 * Upstream's ActivePodsWithRanks order: the pods to delete first come first — unassigned before
 * assigned, pending before unknown before running, not ready before ready, pods sharing a node
 * with more of their siblings (`rank`) first, ready for less time first, more restarts first,
 * newer first.
 */
export function deletionOrder(rank: (p: Pod) => number = () => 0) {
  return (a: Pod, b: Pod): number => {
    const an = a.spec?.nodeName ? 1 : 0,
      bn = b.spec?.nodeName ? 1 : 0;
    if (an !== bn) return an - bn;
    if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
    const ar = isPodReady(a) ? 1 : 0,
      br = isPodReady(b) ? 1 : 0;
    if (ar !== br) return ar - br;
    if (rank(a) !== rank(b)) return rank(b) - rank(a);
    if (ar && br && readyTime(a) !== readyTime(b)) return readyTime(b) - readyTime(a);
    if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
    if (created(a) !== created(b)) return created(b) - created(a);
    return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
  };
}

/** The number of `value` (an int or a percentage string) of `total`; NaN when malformed. */
export function scaledValue(value: unknown, total: number, roundUp: boolean): number {
  if (value === undefined || value === null) return Number.NaN;
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number.NaN;
  const m = /^(\d+)%$/.exec(String(value));
  if (!m) return /^\d+$/.test(String(value)) ? Number(value) : Number.NaN;
  const v = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(v) : Math.floor(v);
}

export const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `namespace/name` → [namespace, name] (cluster-scoped keys have no slash). */
export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
}

/**
 * Upserts a condition as upstream's Set*Condition helpers do: an unchanged status keeps its
 * lastTransitionTime; an identical status and reason (and message) changes nothing.
 * Returns a new array (the input may be a cached object's).
 */
export function setCondition<C extends Condition>(conds: C[] | undefined, c: C): C[] {
  const list = Array.isArray(conds) ? conds.filter((x) => x && x.type !== c.type) : [];
  const old = getCondition(conds, c.type);
  if (old && old.status === c.status && old.reason === c.reason && old.message === c.message)
    return Array.isArray(conds) ? [...conds] : [c];
  const next = { ...c };
  if (old && old.status === c.status && old.lastTransitionTime) next.lastTransitionTime = old.lastTransitionTime;
  return [...list, next];
}

export function removeCondition<C extends Condition>(conds: C[] | undefined, type: string): C[] {
  return Array.isArray(conds) ? conds.filter((x) => x && x.type !== type) : [];
}

/** FNV-1a (32 bit): the hash upstream's pod-template-hash and revision names are built on. */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Upstream's rand.SafeEncodeString: the alphabet without vowels (no words in names). */
export function safeEncode(s: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (const ch of s) out += alphabet[ch.charCodeAt(0) % alphabet.length];
  return out;
}

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJSON(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A template's hash as a name suffix (pod-template-hash, controller-revision-hash). */
export function templateHash(template: unknown, collisionCount?: number): string {
  let s = canonicalJSON(template);
  if (collisionCount) s += `#${collisionCount}`;
  return safeEncode(String(fnv32a(s)));
}

/** Go's `omitempty` on a status's integer and list fields: a zero or an empty list is left out of
 *  what upstream's controllers write (`kubectl get -o yaml` shows no `readyReplicas: 0`). Returns a
 *  copy; the keys that are not `omitempty` upstream (e.g. a ReplicaSet's `replicas`) stay. */
export function omitEmpty<T extends object>(o: T, keys: readonly string[]): T {
  const out = { ...o } as Record<string, unknown>;
  for (const k of keys) {
    const v = out[k];
    if (v === 0 || (Array.isArray(v) && v.length === 0)) delete out[k];
  }
  return out as T;
}
