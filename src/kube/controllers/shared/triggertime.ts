// `endpoints.kubernetes.io/last-change-trigger-time` (upstream's TriggerTimeTracker): on an
// Endpoints or EndpointSlice write, the time of the earliest change not yet reflected — the
// Service's creation and each selected pod's Ready transition, compared with what the last sync
// of that Service saw. Nothing new: no time (upstream then drops the annotation).
import { getCondition } from './pods.js';
import type { Pod, KubeObject } from './types.js';

export const TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

const podTime = (p: Pod) => getCondition(p.status?.conditions, 'Ready')?.lastTransitionTime ?? '';

export class TriggerTimeTracker {
  private seen = new Map<string, { service: string; pods: Map<string, string> }>();

  /** The earliest unreflected change for this Service and its pods (RFC 3339), or undefined. */
  compute(key: string, svc: KubeObject, pods: Pod[]): string | undefined {
    const before = this.seen.get(key);
    const service = svc.metadata.creationTimestamp ?? '';
    const now = new Map(pods.map((p) => [p.metadata.name ?? '', podTime(p)]));
    const changed: string[] = [];
    if (!before || before.service !== service) changed.push(service);
    for (const [name, t] of now) if (before?.pods.get(name) !== t) changed.push(t);
    this.seen.set(key, { service, pods: now });
    const times = changed.filter((t) => t).sort();
    return times[0];
  }

  forget(key: string): void {
    this.seen.delete(key);
  }
}

/** The annotations with the trigger time set, or removed when there is none. */
export function withTriggerTime(annotations: Record<string, string> | undefined, at: string | undefined) {
  const out = { ...(annotations ?? {}) };
  if (at) out[TRIGGER_TIME] = at;
  else delete out[TRIGGER_TIME];
  return Object.keys(out).length ? out : undefined;
}
