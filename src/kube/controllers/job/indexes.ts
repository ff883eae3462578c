// Indexed Jobs (upstream's indexed_job_utils.go): the completion index of a pod (annotation, also
// set as a label and exposed as JOB_COMPLETION_INDEX), the interval form of completedIndexes /
// failedIndexes ("1,3-5"), and the first indexes that still need a pod.
import type { Pod, PodTemplateSpec } from '../shared/types.js';

export const INDEX_KEY = 'batch.kubernetes.io/job-completion-index';
export const INDEX_ENV = 'JOB_COMPLETION_INDEX';

/** The pod's index, or -1 when missing or malformed. */
export function podIndex(p: Pod): number {
  const v = p.metadata.annotations?.[INDEX_KEY] ?? p.metadata.labels?.[INDEX_KEY];
  if (v === undefined || !/^\d+$/.test(v)) return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : -1;
}

/** Parses "1,3-5" (ignoring anything malformed or outside [0, completions)). */
export function parseIntervals(s: string | undefined, completions: number): Set<number> {
  const out = new Set<number>();
  for (const part of (s ?? '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= Math.min(b, completions - 1); i++) out.add(i);
  }
  return out;
}

export function formatIntervals(set: Iterable<number>): string {
  const xs = [...set].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    parts.push(i === j ? String(xs[i]) : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The `count` lowest indexes below `completions` that are neither done nor held by an active pod. */
export function firstPendingIndexes(
  done: Set<number>,
  active: Pod[],
  count: number,
  completions: number,
  skip: Set<number> = new Set(),
): number[] {
  const busy = new Set(active.map(podIndex));
  const out: number[] = [];
  for (let i = 0; i < completions && out.length < count; i++)
    if (!done.has(i) && !busy.has(i) && !skip.has(i)) out.push(i);
  return out;
}

/** The template of the pod for `index`: annotation, label, hostname and generateName as upstream. */
export function indexedTemplate(t: PodTemplateSpec, jobName: string, index: number): PodTemplateSpec {
  const c = structuredClone(t);
  c.metadata = { ...(c.metadata ?? {}) };
  c.metadata.annotations = { ...(c.metadata.annotations ?? {}), [INDEX_KEY]: String(index) };
  c.metadata.labels = { ...(c.metadata.labels ?? {}), [INDEX_KEY]: String(index) };
  if (c.spec && !c.spec.hostname) c.spec.hostname = `${jobName}-${index}`;
  return c;
}

/** JOB_COMPLETION_INDEX in every container, from the index label through the downward API (as
 *  kube-controller-manager 1.32 writes it, PodIndexLabel being on). */
export function addIndexEnv(t: PodTemplateSpec): void {
  const env = {
    name: INDEX_ENV,
    valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: `metadata.labels['${INDEX_KEY}']` } },
  };
  for (const list of [t.spec?.containers, t.spec?.initContainers])
    for (const c of list ?? []) {
      if (!c || (c.env ?? []).some((e) => e?.name === INDEX_ENV)) continue;
      c.env = [...(c.env ?? []), env];
    }
}

/** generateName for an indexed pod: `<job>-<index>-`, the job name cut so the whole stays short. */
export function indexedGenerateName(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const room = 58 - suffix.length;
  return `${jobName.length > room ? jobName.slice(0, room) : jobName}${suffix}`;
}
