// The HPA's replica calculation for resource metrics (upstream's replica_calculator.go): pods are
// grouped into ready-with-metrics, unready (pending, or for cpu still starting), missing metrics
// and ignored (deleting, failed); the usage ratio against the target decides, with a 10 %
// tolerance, and missing/unready pods are assumed at 100 % / 0 % in the direction that makes the
// change smaller, never reversing its direction.
import { parseQuantity, quantityMilliValue } from '../../api/index.js';
import { getCondition } from '../shared/pods.js';
import type { Pod } from '../shared/types.js';
import type { PodUsage } from './metrics.js';
import { failedPrecondition } from '../../../common/index.js';

export const TOLERANCE = 0.1;
export const CPU_INITIALIZATION_MS = 5 * 60_000;
export const INITIAL_READINESS_DELAY_MS = 30_000;

export interface ResourceResult {
  replicas: number;
  /** Average utilization in percent of requests (Utilization targets). */
  utilization?: number;
  /** Average raw usage per pod, milli-units. */
  averageMilli: number;
}

/** Sum of the pods' containers' requests of `resource` (milli-units); an error when one is missing. */
function requestsOf(p: Pod, resource: string, container?: string): number {
  let total = 0;
  for (const c of p.spec?.containers ?? []) {
    if (container && c.name !== container) continue;
    const r = c.resources?.requests?.[resource];
    if (r === undefined)
      throw failedPrecondition(`missing request for ${resource} in container ${c.name} of Pod ${p.metadata.name}`);
    total += Number(quantityMilliValue(parseQuantity(r)));
  }
  return total;
}

function usageOf(u: PodUsage, resource: string, container?: string): number {
  let total = 0;
  for (const [name, usage] of u.containers) if (!container || name === container) total += usage[resource] ?? 0;
  return total;
}

/** target: { utilization: percent } or { averageMilli: per-pod milli-units }. */
export function resourceReplicas(opts: {
  current: number;
  pods: Pod[];
  metrics: Map<string, PodUsage>;
  resource: string;
  container?: string;
  target: { utilization?: number; averageMilli?: number };
  now: number;
  /** Upstream's --horizontal-pod-autoscaler-tolerance (default 0.1). */
  tolerance?: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period (default 5 min). */
  cpuInitializationMs?: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay (default 30 s). */
  initialReadinessDelayMs?: number;
}): ResourceResult {
  const { pods, resource, container, target, now } = opts;
  const tolerance = opts.tolerance ?? TOLERANCE;
  const cpuInit = opts.cpuInitializationMs ?? CPU_INITIALIZATION_MS;
  const readinessDelay = opts.initialReadinessDelayMs ?? INITIAL_READINESS_DELAY_MS;
  if (!pods.length) throw failedPrecondition('no pods returned by selector while calculating replica count');
  const values = new Map<string, number>();
  const unready = new Set<string>();
  const missing = new Set<string>();
  let ready = 0;
  for (const p of pods) {
    const name = p.metadata.name ?? '';
    if (p.metadata.deletionTimestamp || p.status?.phase === 'Failed') continue;
    if (p.status?.phase === 'Pending') {
      unready.add(name);
      continue;
    }
    const m = opts.metrics.get(name);
    if (!m) {
      missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const c = getCondition(p.status?.conditions, 'Ready');
      const start = Date.parse(p.status?.startTime ?? '');
      let isUnready: boolean;
      if (!c || !Number.isFinite(start)) isUnready = true;
      else {
        const changed = Date.parse(c.lastTransitionTime ?? '') || 0;
        if (start + cpuInit > now) isUnready = c.status === 'False' || m.timestamp < changed + m.windowMs;
        else isUnready = c.status === 'False' && start + readinessDelay > changed;
      }
      if (isUnready) {
        unready.add(name);
        continue;
      }
    }
    values.set(name, usageOf(m, resource, container));
    ready++;
  }
  if (!values.size) throw failedPrecondition('did not receive metrics for targeted pods (pods might be unready)');
  const requests = new Map<string, number>();
  if (target.utilization !== undefined)
    for (const p of pods) requests.set(p.metadata.name ?? '', requestsOf(p, resource, container));

  const ratioOf = (vals: Map<string, number>): { ratio: number; utilization?: number; average: number } => {
    let total = 0,
      req = 0,
      n = 0;
    for (const [name, v] of vals) {
      if (target.utilization !== undefined) {
        const r = requests.get(name);
        if (r === undefined) continue;
        req += r;
      }
      total += v;
      n++;
    }
    if (target.utilization !== undefined) {
      if (req === 0) throw failedPrecondition('no metrics returned matched known pods');
      const utilization = Math.trunc((total * 100) / req);
      return { ratio: utilization / target.utilization, utilization, average: n ? total / n : 0 };
    }
    const average = n ? total / n : 0;
    return { ratio: average / (target.averageMilli || 1), average };
  };
  const first = ratioOf(values);
  const result = (replicas: number): ResourceResult => ({
    replicas,
    utilization: first.utilization,
    averageMilli: Math.round(first.average),
  });
  const within = (r: number) => Math.abs(1 - r) <= tolerance;
  const scaleUpWithUnready = unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && !missing.size) {
    if (within(first.ratio)) return result(opts.current);
    return result(Math.ceil(first.ratio * ready));
  }
  const adjusted = new Map(values);
  if (missing.size) {
    for (const name of missing) {
      if (first.ratio < 1) {
        const fallback = Math.max(100, target.utilization ?? 100);
        const req = requests.get(name);
        adjusted.set(
          name,
          target.utilization !== undefined ? ((req ?? 0) * fallback) / 100 : (target.averageMilli ?? 0),
        );
      } else if (first.ratio > 1) adjusted.set(name, 0);
    }
  }
  if (scaleUpWithUnready) for (const name of unready) adjusted.set(name, 0);
  const second = ratioOf(adjusted);
  if (within(second.ratio) || (first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1))
    return result(opts.current);
  const n = Math.ceil(second.ratio * adjusted.size);
  if ((second.ratio < 1 && n > opts.current) || (second.ratio > 1 && n < opts.current)) return result(opts.current);
  return result(n);
}
