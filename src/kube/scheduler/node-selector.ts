// Node selectors as upstream's component-helpers nodeaffinity: a pod's nodeSelector plus its
// required node affinity (terms ORed, requirements ANDed; an empty term matches nothing; a term
// with an invalid requirement matches nothing), and preferred terms summed by weight.
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, PreferredSchedulingTerm } from './types.js';

type Matcher = (labels: Record<string, string>, name: string) => boolean;

const INT = /^[+-]?\d+$/;

function requirement(r: NodeSelectorRequirement, field: boolean): Matcher | undefined {
  const values = r.values ?? [];
  if (field) {
    // matchFields: only metadata.name, In/NotIn with exactly one value.
    if (r.key !== 'metadata.name' || values.length !== 1) return undefined;
    if (r.operator === 'In') return (_l, name) => name === values[0];
    if (r.operator === 'NotIn') return (_l, name) => name !== values[0];
    return undefined;
  }
  const k = r.key;
  switch (r.operator) {
    case 'In': {
      if (!values.length) return undefined;
      const set = new Set(values);
      return (l) => k in l && set.has(l[k]);
    }
    case 'NotIn': {
      if (!values.length) return undefined;
      const set = new Set(values);
      return (l) => !(k in l) || !set.has(l[k]);
    }
    case 'Exists':
      return values.length ? undefined : (l) => k in l;
    case 'DoesNotExist':
      return values.length ? undefined : (l) => !(k in l);
    case 'Gt':
    case 'Lt': {
      if (values.length !== 1 || !INT.test(values[0])) return undefined;
      const bound = Number(values[0]);
      const gt = r.operator === 'Gt';
      return (l) => {
        const v = l[k];
        if (v === undefined || !INT.test(v)) return false;
        return gt ? Number(v) > bound : Number(v) < bound;
      };
    }
    default:
      return undefined;
  }
}

/** A compiled NodeSelectorTerm; undefined when the term can never match (empty or invalid). */
export function compileTerm(t: NodeSelectorTerm | undefined): Matcher | undefined {
  if (!t) return undefined;
  const ms: Matcher[] = [];
  for (const r of t.matchExpressions ?? []) {
    const m = requirement(r, false);
    if (!m) return undefined;
    ms.push(m);
  }
  for (const r of t.matchFields ?? []) {
    const m = requirement(r, true);
    if (!m) return undefined;
    ms.push(m);
  }
  if (!ms.length) return undefined;
  return (l, name) => {
    for (const m of ms) if (!m(l, name)) return false;
    return true;
  };
}

/** Terms ORed; no valid term → matches nothing. */
export function compileTerms(terms: NodeSelectorTerm[] | undefined): (node: Node) => boolean {
  const ms = (terms ?? []).map(compileTerm).filter((m): m is Matcher => !!m);
  return (node) => {
    const l = node.metadata.labels ?? {};
    const name = node.metadata.name ?? '';
    for (const m of ms) if (m(l, name)) return true;
    return false;
  };
}

export interface RequiredNodeAffinity {
  /** True when the pod has neither a nodeSelector nor required node affinity. */
  readonly empty: boolean;
  match(node: Node): boolean;
}

const cache = new WeakMap<Pod, RequiredNodeAffinity>();

/** The pod's nodeSelector and requiredDuringScheduling node affinity (upstream's
 *  GetRequiredNodeAffinity), compiled once per pod object. */
export function requiredNodeAffinity(pod: Pod): RequiredNodeAffinity {
  let r = cache.get(pod);
  if (r) return r;
  const sel = Object.entries(pod.spec.nodeSelector ?? {});
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = required ? compileTerms(required.nodeSelectorTerms) : undefined;
  r = {
    empty: sel.length === 0 && !terms,
    match(node: Node): boolean {
      if (sel.length) {
        const l = node.metadata.labels ?? {};
        for (const [k, v] of sel) if (l[k] !== v) return false;
      }
      return terms ? terms(node) : true;
    },
  };
  cache.set(pod, r);
  return r;
}

/** Preferred terms: the sum of the weights of the terms a node matches. */
export function compilePreferred(terms: PreferredSchedulingTerm[] | undefined): ((node: Node) => number) | undefined {
  const ms: { weight: number; m: Matcher }[] = [];
  for (const t of terms ?? []) {
    if (!t.weight) continue;
    const m = compileTerm(t.preference);
    if (m) ms.push({ weight: t.weight, m });
  }
  if (!ms.length) return undefined;
  return (node) => {
    const l = node.metadata.labels ?? {};
    const name = node.metadata.name ?? '';
    let s = 0;
    for (const t of ms) if (t.m(l, name)) s += t.weight;
    return s;
  };
}
