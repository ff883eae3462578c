// The labels and annotations the agent puts on CRI sandboxes and containers, with upstream
// kubelet's keys. Everything the agent needs to rebuild its view after a restart is in them (the
// pod a container belongs to, its restart count, its spec hash, what to run before stopping it),
// so state lives in the runtime and a restarted agent adopts what it finds.
import type { Container, LifecycleHandler, Pod } from './types.js';

export const POD_NAME = 'io.kubernetes.pod.name';
export const POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const POD_UID = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME = 'io.kubernetes.container.name';
export const CONTAINER_HASH = 'io.kubernetes.container.hash';
export const CONTAINER_RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const TERMINATION_MESSAGE_PATH = 'io.kubernetes.container.terminationMessagePath';
export const TERMINATION_MESSAGE_POLICY = 'io.kubernetes.container.terminationMessagePolicy';
export const PRESTOP_HANDLER = 'io.kubernetes.container.preStopHandler';
export const CONTAINER_PORTS = 'io.kubernetes.container.ports';
export const POD_TERMINATION_GRACE = 'io.kubernetes.pod.terminationGracePeriod';
export const POD_DELETION_GRACE = 'io.kubernetes.pod.deletionGracePeriod';
/** Skiff's own: which kind of container this is (init, sidecar, regular or ephemeral). */
export const CONTAINER_TYPE = 'io.skiff.container.type';

export type ContainerType = 'init' | 'sidecar' | 'regular' | 'ephemeral';

export function podLabels(pod: Pod): Record<string, string> {
  return {
    ...(pod.metadata.labels ?? {}),
    [POD_NAME]: pod.metadata.name,
    [POD_NAMESPACE]: pod.metadata.namespace,
    [POD_UID]: pod.metadata.uid,
  };
}

export function containerLabels(pod: Pod, c: Container): Record<string, string> {
  return {
    [POD_NAME]: pod.metadata.name,
    [POD_NAMESPACE]: pod.metadata.namespace,
    [POD_UID]: pod.metadata.uid,
    [CONTAINER_NAME]: c.name,
  };
}

export function containerAnnotations(
  pod: Pod,
  c: Container,
  restartCount: number,
  type: ContainerType,
): Record<string, string> {
  const a: Record<string, string> = {
    [CONTAINER_HASH]: containerHash(c),
    [CONTAINER_RESTART_COUNT]: String(restartCount),
    [TERMINATION_MESSAGE_PATH]: c.terminationMessagePath ?? '',
    [TERMINATION_MESSAGE_POLICY]: c.terminationMessagePolicy ?? 'File',
    [POD_TERMINATION_GRACE]: String(pod.spec.terminationGracePeriodSeconds ?? 30),
    [CONTAINER_TYPE]: type,
  };
  if (pod.metadata.deletionGracePeriodSeconds !== undefined)
    a[POD_DELETION_GRACE] = String(pod.metadata.deletionGracePeriodSeconds);
  if (c.lifecycle?.preStop) a[PRESTOP_HANDLER] = JSON.stringify(c.lifecycle.preStop);
  if (c.ports?.length) a[CONTAINER_PORTS] = JSON.stringify(c.ports);
  return a;
}

/** What the annotations of a runtime container say about it (missing or damaged values → defaults). */
export interface AnnotatedInfo {
  hash: string;
  restartCount: number;
  terminationMessagePath: string;
  terminationMessagePolicy: string;
  terminationGracePeriod?: number;
  preStop?: LifecycleHandler;
  type: ContainerType;
}

export function annotatedInfo(a: Record<string, string> | undefined): AnnotatedInfo {
  const an = a ?? {};
  const n = Number.parseInt(an[CONTAINER_RESTART_COUNT] ?? '0', 10);
  const g = Number.parseInt(an[POD_TERMINATION_GRACE] ?? '', 10);
  let preStop: LifecycleHandler | undefined;
  try {
    preStop = an[PRESTOP_HANDLER] ? (JSON.parse(an[PRESTOP_HANDLER]) as LifecycleHandler) : undefined;
  } catch {
    preStop = undefined;
  }
  const t = an[CONTAINER_TYPE];
  return {
    hash: an[CONTAINER_HASH] ?? '',
    restartCount: Number.isFinite(n) && n >= 0 ? n : 0,
    terminationMessagePath: an[TERMINATION_MESSAGE_PATH] ?? '',
    terminationMessagePolicy: an[TERMINATION_MESSAGE_POLICY] ?? 'File',
    terminationGracePeriod: Number.isFinite(g) ? g : undefined,
    preStop,
    type: t === 'init' || t === 'sidecar' || t === 'ephemeral' ? t : 'regular',
  };
}

/** FNV-1a (32 bit) of the container's spec without the fields that may change in place
 *  (resources), as kubelet hashes a container to notice a changed spec. */
export function containerHash(c: Container): string {
  const { resources: _r, ...rest } = c;
  const text = stableJson(rest);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
