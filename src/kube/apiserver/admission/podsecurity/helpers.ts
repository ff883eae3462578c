// What the Pod Security checks share: their types and upstream's wording helpers (joinQuote,
// pluralize) over a pod's containers (init, regular, ephemeral).

export type Obj = Record<string, any>;
export type Level = 'privileged' | 'baseline' | 'restricted';

export interface Violation {
  reason: string;
  detail: string;
}

export interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  /** Baseline checks this restricted check replaces. */
  overrides?: string[];
  run(meta: Obj, spec: Obj, minor: number): Violation | undefined;
}

export const joinQuote = (xs: string[]) => (xs.length ? `"${xs.join('", "')}"` : '');
export const plural = (one: string, many: string, n: number) => (n === 1 ? one : many);
export const uniqSorted = (xs: string[]) => [...new Set(xs)].sort();
export const containersOf = (spec: Obj): Obj[] =>
  [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])].filter(
    (c) => c && typeof c === 'object',
  );
export const named = (what: string[], word = 'container') =>
  `${plural(word, `${word}s`, what.length)} ${joinQuote(what)}`;
