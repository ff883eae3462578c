// HorizontalPodAutoscaler controller (autoscaling/v2, upstream's podautoscaler): every sync
// period each HPA reads its target's scale subresource, computes a replica count per Resource /
// ContainerResource metric (cpu, memory; Utilization or AverageValue) from the pod metrics, takes
// the largest, normalizes it (stabilization windows and behavior policies, min/max), writes the
// scale when it changes, and records status (current/desired replicas, currentMetrics,
// lastScaleTime, AbleToScale / ScalingActive / ScalingLimited).
import { formatQuantity, parseQuantity, parseSelector, quantityMilliValue, selectorMatches } from '../../api/index.js';
import {
  discoverResources,
  resourceForKind,
  resourcePath,
  type DiscoveredResource,
  type ResourceRef,
} from '../../client/index.js';
import { errorText, isNotFound, putStatus } from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { rfc3339, splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Condition, KubeObject, Pod } from '../shared/types.js';
import { DEFAULT_DOWNSCALE_WINDOW_S, ScalingHistory, type Behavior } from './behavior.js';
import { ApiMetricsSource, type PodMetricsSource } from './metrics.js';
import { resourceReplicas } from './replicas.js';

interface MetricTarget {
  type: 'Utilization' | 'AverageValue' | 'Value' | string;
  averageUtilization?: number;
  averageValue?: string;
}
interface MetricSpec {
  type: string;
  resource?: { name: string; target: MetricTarget };
  containerResource?: { name: string; container: string; target: MetricTarget };
}
interface Hpa extends KubeObject {
  spec?: {
    scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string };
    minReplicas?: number;
    maxReplicas?: number;
    metrics?: MetricSpec[];
    behavior?: Behavior;
  };
  status?: {
    observedGeneration?: number;
    lastScaleTime?: string;
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: unknown[];
    conditions?: Condition[];
  };
}
interface Scale extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

export interface HpaOptions {
  /** How often each HPA is evaluated (upstream --horizontal-pod-autoscaler-sync-period, 15 s). */
  syncPeriodMs?: number;
  /** Where pod usage comes from (default: the metrics.k8s.io API). */
  metrics?: PodMetricsSource;
  /** --horizontal-pod-autoscaler-tolerance (0.1). */
  tolerance?: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period (5 min). */
  cpuInitializationPeriodMs?: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay (30 s). */
  initialReadinessDelayMs?: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization (5 min; HPAs without `behavior`). */
  downscaleStabilizationMs?: number;
}

const KNOWN: Record<string, ResourceRef> = {
  'apps/Deployment': R.deployments,
  'apps/ReplicaSet': R.replicasets,
  'apps/StatefulSet': R.statefulsets,
};

function setCond(
  list: Condition[],
  type: string,
  status: string,
  reason: string,
  message: string,
  now: string,
): Condition[] {
  const old = list.find((c) => c.type === type);
  const next: Condition = {
    type,
    status,
    reason,
    message,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
  };
  return [...list.filter((c) => c.type !== type), next];
}

export function startHPAController(ctx: ControllerContext, opts: HpaOptions = {}): Controller {
  const log = ctx.log.child({ controller: 'horizontal-pod-autoscaler' });
  const period = opts.syncPeriodMs ?? 15_000;
  const downscaleWindowS = (opts.downscaleStabilizationMs ?? DEFAULT_DOWNSCALE_WINDOW_S * 1000) / 1000;
  const metrics = opts.metrics ?? new ApiMetricsSource(ctx.client);
  const hpaInf = ctx.informers.for<Hpa>(R.hpas);
  const podInf = ctx.informers.for<Pod>(R.pods);
  const events = ctx.events.for('horizontal-pod-autoscaler');
  const history = new ScalingHistory();
  const loop = new Loop({ ...ctx, log }, { name: 'horizontal-pod-autoscaler', sync });
  let discovered: DiscoveredResource[] | undefined;

  hpaInf.addHandlers({
    add: (h) => loop.add(keyOf(h)),
    update: (o, h) => {
      if (o.metadata.generation !== h.metadata.generation) loop.add(keyOf(h));
    },
    delete: (h) => history.forget(keyOf(h)),
  });

  async function targetResource(apiVersion: string, kind: string): Promise<ResourceRef | undefined> {
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    const known = KNOWN[`${group}/${kind}`];
    if (known) return known;
    discovered ??= await discoverResources(ctx.client);
    return resourceForKind(discovered, apiVersion, kind);
  }

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const cached = hpaInf.get(ns, name);
    if (!cached) {
      history.forget(key);
      return;
    }
    loop.queue.addAfter(key, period);
    const hpa = structuredClone(cached);
    const now = ctx.now();
    const nowStr = rfc3339(now);
    let conds = [...(hpa.status?.conditions ?? [])];
    const spec = hpa.spec ?? {};
    const ref = spec.scaleTargetRef ?? {};
    const min = typeof spec.minReplicas === 'number' ? spec.minReplicas : 1;
    const max = typeof spec.maxReplicas === 'number' ? spec.maxReplicas : 1;
    const write = async (st: Hpa['status']) => {
      const next = {
        currentReplicas: 0,
        desiredReplicas: 0,
        ...(hpa.status ?? {}),
        ...st,
        observedGeneration: hpa.metadata.generation,
        conditions: conds,
      };
      const norm = (s: Hpa['status']) =>
        JSON.stringify({ ...s, conditions: (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.message]) });
      if (norm(hpa.status) === norm(next)) return;
      await putStatus(ctx.client, R.hpas, hpa, next);
    };
    const fail = async (reasonCond: string, msg: string, type = 'AbleToScale') => {
      conds = setCond(conds, type, 'False', reasonCond, msg, nowStr);
      events.event(hpa, 'Warning', reasonCond, msg);
      await write({});
    };
    // an unknown kind: handled below as a failed scale-target lookup
    const res = await targetResource(ref.apiVersion ?? '', ref.kind ?? '').catch(() => undefined);
    if (!res)
      return fail(
        'FailedGetScale',
        `the HPA controller was unable to get the target's current scale: no matches for kind "${ref.kind}" in group "${(ref.apiVersion ?? '').split('/')[0]}"`,
      );
    let scale: Scale;
    const scalePath = resourcePath(res, ns, ref.name, 'scale');
    try {
      scale = await ctx.client.request<Scale>('GET', scalePath);
    } catch (e) {
      return fail('FailedGetScale', `the HPA controller was unable to get the target's current scale: ${errorText(e)}`);
    }
    conds = setCond(
      conds,
      'AbleToScale',
      'True',
      'SucceededGetScale',
      "the HPA controller was able to get the target's current scale",
      nowStr,
    );
    const current = scale.spec?.replicas ?? 0;
    let desired = current;
    let reason = '';
    let currentMetrics: unknown[] = hpa.status?.currentMetrics ?? [];
    if (current === 0 && min !== 0) {
      conds = setCond(
        conds,
        'ScalingActive',
        'False',
        'ScalingDisabled',
        'scaling is disabled since the replica count of the target is zero',
        nowStr,
      );
      desired = 0;
    } else if (current > max) {
      desired = max;
      reason = 'Current number of replicas above Spec.MaxReplicas';
    } else if (current < min) {
      desired = min;
      reason = 'Current number of replicas below Spec.MinReplicas';
    } else {
      let sel;
      try {
        sel = parseSelector(scale.status?.selector ?? '');
      } catch {
        sel = undefined;
      }
      if (!sel || !scale.status?.selector) return fail('SelectorRequired', 'selector is required', 'ScalingActive');
      const pods = podInf.list(ns).filter((p) => selectorMatches(sel, p.metadata.labels));
      let usage;
      try {
        usage = await metrics.podMetrics(ns, scale.status.selector);
      } catch (e) {
        conds = setCond(
          conds,
          'ScalingActive',
          'False',
          'FailedGetResourceMetric',
          `the HPA was unable to compute the replica count: unable to get metrics for resource: ${errorText(e)}`,
          nowStr,
        );
        events.event(hpa, 'Warning', 'FailedGetResourceMetric', `unable to get metrics for resource: ${errorText(e)}`);
        await write({ currentReplicas: current, desiredReplicas: hpa.status?.desiredReplicas ?? current });
        return;
      }
      let best = -1;
      let bestName = '';
      const statuses: unknown[] = [];
      let firstError: string | undefined;
      for (const m of spec.metrics ?? []) {
        const src =
          m.type === 'Resource' ? m.resource : m.type === 'ContainerResource' ? m.containerResource : undefined;
        if (!src) {
          firstError ??= `invalid metrics source type: ${m.type} is not supported by this controller`;
          continue;
        }
        const container = m.type === 'ContainerResource' ? m.containerResource?.container : undefined;
        try {
          const t = src.target ?? { type: 'Utilization' };
          const target =
            t.type === 'Utilization'
              ? { utilization: t.averageUtilization ?? 80 }
              : { averageMilli: Number(quantityMilliValue(parseQuantity(t.averageValue ?? '0'))) };
          const r = resourceReplicas({
            current,
            pods,
            metrics: usage,
            resource: src.name,
            container,
            target,
            now,
            tolerance: opts.tolerance,
            cpuInitializationMs: opts.cpuInitializationPeriodMs,
            initialReadinessDelayMs: opts.initialReadinessDelayMs,
          });
          const value = formatQuantity({
            mantissa: BigInt(r.averageMilli),
            exponent: -3,
            format: src.name === 'memory' ? 'BinarySI' : 'DecimalSI',
          });
          const currentStatus = {
            ...(r.utilization !== undefined ? { averageUtilization: r.utilization } : {}),
            averageValue: value,
          };
          statuses.push(
            m.type === 'Resource'
              ? { type: 'Resource', resource: { name: src.name, current: currentStatus } }
              : { type: 'ContainerResource', containerResource: { name: src.name, container, current: currentStatus } },
          );
          if (r.replicas > best) {
            best = r.replicas;
            bestName =
              t.type === 'Utilization'
                ? `${src.name} resource utilization (percentage of request)`
                : `${src.name} resource`;
          }
        } catch (e) {
          firstError ??= errorText(e);
          statuses.push({ type: m.type });
        }
      }
      currentMetrics = statuses;
      if (best < 0) {
        const msg = `the HPA was unable to compute the replica count: ${firstError ?? 'no metrics'}`;
        conds = setCond(conds, 'ScalingActive', 'False', 'FailedGetResourceMetric', msg, nowStr);
        events.event(
          hpa,
          'Warning',
          'FailedComputeMetricsReplicas',
          `invalid metrics (${(spec.metrics ?? []).length} invalid out of ${(spec.metrics ?? []).length}), first error is: ${firstError}`,
        );
        await write({
          currentReplicas: current,
          desiredReplicas: hpa.status?.desiredReplicas ?? current,
          currentMetrics,
        });
        return;
      }
      conds = setCond(
        conds,
        'ScalingActive',
        'True',
        'ValidMetricFound',
        `the HPA was able to successfully calculate a replica count from ${bestName}`,
        nowStr,
      );
      const n = spec.behavior
        ? history.normalizeWithBehavior(key, current, best, min, max, spec.behavior, now)
        : history.normalize(key, current, best, min, max, now, downscaleWindowS);
      conds = setCond(conds, 'AbleToScale', 'True', n.ableToScale.reason, n.ableToScale.message, nowStr);
      conds = setCond(conds, 'ScalingLimited', n.limited.status, n.limited.reason, n.limited.message, nowStr);
      desired = n.replicas;
      reason = `${bestName} above target`;
      if (desired < current) reason = 'All metrics below target';
    }
    let lastScaleTime = hpa.status?.lastScaleTime;
    if (desired !== current) {
      try {
        await ctx.client.request('PUT', scalePath, {
          body: {
            apiVersion: 'autoscaling/v1',
            kind: 'Scale',
            metadata: { name: ref.name, namespace: ns, resourceVersion: scale.metadata.resourceVersion },
            spec: { replicas: desired },
          },
        });
      } catch (e) {
        if (isNotFound(e)) return;
        conds = setCond(
          conds,
          'AbleToScale',
          'False',
          'FailedUpdateScale',
          `the HPA controller was unable to update the target scale: ${errorText(e)}`,
          nowStr,
        );
        events.event(
          hpa,
          'Warning',
          'FailedRescale',
          `New size: ${desired}; reason: ${reason}; error: ${errorText(e)}`,
        );
        await write({ currentReplicas: current, desiredReplicas: desired, currentMetrics });
        throw e;
      }
      conds = setCond(
        conds,
        'AbleToScale',
        'True',
        'SucceededRescale',
        `the HPA controller was able to update the target scale to ${desired}`,
        nowStr,
      );
      events.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
      history.recordScale(key, current, desired, now, spec.behavior);
      lastScaleTime = nowStr;
    }
    await write({ currentReplicas: current, desiredReplicas: desired, currentMetrics, lastScaleTime });
  }

  return {
    name: 'horizontal-pod-autoscaler',
    run: () => loop.run(),
    stop: () => loop.stop(),
    resync: () => {
      for (const h of hpaInf.list()) loop.add(keyOf(h));
    },
  };
}
