// autoscaling/v1 ↔ autoscaling/v2 HorizontalPodAutoscaler conversion, as upstream converts through
// its internal version (pkg/apis/autoscaling/v1/conversion.go). v1 carries only a CPU utilization
// target and its current value; everything else a v2 object holds survives a v1 round trip in
// upstream's annotations, as JSON: `autoscaling.alpha.kubernetes.io/metrics` (the other metric
// specs, v1's MetricSpec shape: targetAverageUtilization, metricName, ...), `.../current-metrics`
// (every current metric, v1's MetricStatus shape), `.../conditions` and `.../behavior` (v2 shape).
// Objects are stored as v2; a v1 view is computed on each read and converted back on each write.
import type { KubeObject } from '../../types.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';

export const METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';
export const CURRENT_METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/current-metrics';
export const CONDITIONS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/conditions';
export const BEHAVIOR_ANNOTATION = 'autoscaling.alpha.kubernetes.io/behavior';
const ROUND_TRIP = [METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION];

const clone = <T>(v: T): T => structuredClone(v);
/** Drops undefined members (JSON would, and deepEqual-style checks should not see them). */
const compact = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const lower = (t: unknown) => (typeof t === 'string' && t ? t[0].toLowerCase() + t.slice(1) : '');

function parseList(annotations: Record<string, string>, key: string): Obj[] | undefined {
  const text = annotations[key];
  if (text === undefined) return undefined;
  delete annotations[key];
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is Obj => !!asObj(x)) : [];
  } catch {
    return undefined;
  }
}

// ---- metric specs: v2 → v1 (annotation shape) and back ----

function specToV1(m: Obj): Obj {
  const k = lower(m.type);
  const src = asObj(m[k]) ?? {};
  const t = asObj(src.target) ?? {};
  const id = asObj(src.metric) ?? {};
  let out: Obj;
  if (k === 'resource' || k === 'containerResource')
    out = compact({
      name: src.name,
      container: src.container,
      targetAverageUtilization: t.averageUtilization,
      targetAverageValue: t.averageValue,
    });
  else if (k === 'pods')
    out = compact({ metricName: id.name, selector: id.selector, targetAverageValue: t.averageValue });
  else if (k === 'object')
    out = compact({
      target: src.describedObject,
      metricName: id.name,
      selector: id.selector,
      targetValue: t.value,
      averageValue: t.averageValue,
    });
  else if (k === 'external')
    out = compact({
      metricName: id.name,
      metricSelector: id.selector,
      targetValue: t.value,
      targetAverageValue: t.averageValue,
    });
  else return clone(m);
  return { type: m.type, [k]: out };
}

function specToV2(m: Obj): Obj {
  const k = lower(m.type);
  const src = asObj(m[k]) ?? {};
  let out: Obj;
  if (k === 'resource' || k === 'containerResource') {
    const util = src.targetAverageUtilization;
    out = compact({
      name: src.name,
      container: src.container,
      target: compact({
        type: util === undefined ? 'AverageValue' : 'Utilization',
        averageUtilization: util,
        averageValue: src.targetAverageValue,
      }),
    });
  } else if (k === 'pods')
    out = {
      metric: compact({ name: src.metricName, selector: src.selector }),
      target: compact({ type: 'AverageValue', averageValue: src.targetAverageValue }),
    };
  else if (k === 'object')
    out = {
      describedObject: src.target,
      metric: compact({ name: src.metricName, selector: src.selector }),
      target: compact({
        type: src.averageValue === undefined ? 'Value' : 'AverageValue',
        value: src.targetValue,
        averageValue: src.averageValue,
      }),
    };
  else if (k === 'external')
    out = {
      metric: compact({ name: src.metricName, selector: src.metricSelector }),
      target: compact({
        type: src.targetValue === undefined ? 'AverageValue' : 'Value',
        value: src.targetValue,
        averageValue: src.targetAverageValue,
      }),
    };
  else return clone(m);
  return { type: m.type, [k]: out };
}

// ---- current metrics ----

function statusToV1(m: Obj): Obj {
  const k = lower(m.type);
  const src = asObj(m[k]) ?? {};
  const c = asObj(src.current) ?? {};
  const id = asObj(src.metric) ?? {};
  let out: Obj;
  if (k === 'resource' || k === 'containerResource')
    out = compact({
      name: src.name,
      container: src.container,
      currentAverageUtilization: c.averageUtilization,
      currentAverageValue: c.averageValue ?? '0',
    });
  else if (k === 'pods')
    out = compact({ metricName: id.name, selector: id.selector, currentAverageValue: c.averageValue ?? '0' });
  else if (k === 'object')
    out = compact({
      target: src.describedObject,
      metricName: id.name,
      selector: id.selector,
      currentValue: c.value ?? '0',
      averageValue: c.averageValue,
    });
  else if (k === 'external')
    out = compact({
      metricName: id.name,
      metricSelector: id.selector,
      currentValue: c.value ?? '0',
      currentAverageValue: c.averageValue,
    });
  else return clone(m);
  return { type: m.type, [k]: out };
}

function statusToV2(m: Obj): Obj {
  const k = lower(m.type);
  const src = asObj(m[k]) ?? {};
  let out: Obj;
  if (k === 'resource' || k === 'containerResource')
    out = compact({
      name: src.name,
      container: src.container,
      current: compact({ averageUtilization: src.currentAverageUtilization, averageValue: src.currentAverageValue }),
    });
  else if (k === 'pods')
    out = {
      metric: compact({ name: src.metricName, selector: src.selector }),
      current: compact({ averageValue: src.currentAverageValue }),
    };
  else if (k === 'object')
    out = {
      describedObject: src.target,
      metric: compact({ name: src.metricName, selector: src.selector }),
      current: compact({ value: src.currentValue, averageValue: src.averageValue }),
    };
  else if (k === 'external')
    out = {
      metric: compact({ name: src.metricName, selector: src.metricSelector }),
      current: compact({ value: src.currentValue, averageValue: src.currentAverageValue }),
    };
  else return clone(m);
  return { type: m.type, [k]: out };
}

const isCpu = (m: Obj) => m.type === 'Resource' && asObj(m.resource)?.name === 'cpu';

/** The stored (v2) object as autoscaling/v1 shows it. */
export function hpaToV1(v2: KubeObject): KubeObject {
  const o = clone(v2) as Obj & KubeObject;
  o.apiVersion = 'autoscaling/v1';
  const spec = asObj(o.spec) ?? {};
  const status = asObj(o.status);
  const annotations: Record<string, string> = { ...(o.metadata.annotations ?? {}) };
  for (const k of ROUND_TRIP) delete annotations[k];
  const metrics = asArr(spec.metrics).filter((m): m is Obj => !!asObj(m));
  const cpu = metrics.find(isCpu);
  const cpuTarget = asObj(asObj(cpu?.resource)?.target)?.averageUtilization;
  const others = metrics.filter(
    (m) => !(isCpu(m) && asObj(asObj(m.resource)?.target)?.averageUtilization !== undefined),
  );
  if (others.length) annotations[METRICS_ANNOTATION] = JSON.stringify(others.map(specToV1));
  if (asObj(spec.behavior)) annotations[BEHAVIOR_ANNOTATION] = JSON.stringify(spec.behavior);
  const current = asArr(status?.currentMetrics).filter((m): m is Obj => !!asObj(m));
  if (current.length) annotations[CURRENT_METRICS_ANNOTATION] = JSON.stringify(current.map(statusToV1));
  const conditions = asArr(status?.conditions);
  if (conditions.length) annotations[CONDITIONS_ANNOTATION] = JSON.stringify(conditions);
  o.metadata = { ...o.metadata, annotations };
  if (!Object.keys(annotations).length) delete o.metadata.annotations;
  o.spec = compact({
    scaleTargetRef: spec.scaleTargetRef,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    targetCPUUtilizationPercentage: cpuTarget,
  });
  if (status) {
    const cpuNow = current.find(isCpu);
    o.status = compact({
      observedGeneration: status.observedGeneration,
      lastScaleTime: status.lastScaleTime,
      currentReplicas: status.currentReplicas ?? 0,
      desiredReplicas: status.desiredReplicas ?? 0,
      currentCPUUtilizationPercentage: asObj(asObj(cpuNow?.resource)?.current)?.averageUtilization,
    });
  }
  return o;
}

/** An autoscaling/v1 object as it is stored (v2), with what the annotations kept restored. */
export function hpaToV2(v1: KubeObject): KubeObject {
  const o = clone(v1) as Obj & KubeObject;
  o.apiVersion = 'autoscaling/v2';
  const spec = asObj(o.spec) ?? {};
  const status = asObj(o.status);
  const annotations: Record<string, string> = { ...(o.metadata.annotations ?? {}) };
  const metrics: Obj[] = (parseList(annotations, METRICS_ANNOTATION) ?? []).map(specToV2);
  if (spec.targetCPUUtilizationPercentage !== undefined)
    metrics.push({
      type: 'Resource',
      resource: {
        name: 'cpu',
        target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage },
      },
    });
  // v1's implicit default (80% CPU), made explicit as upstream's conversion does
  if (!metrics.length)
    metrics.push({
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
    });
  let behavior: unknown;
  if (annotations[BEHAVIOR_ANNOTATION] !== undefined) {
    try {
      behavior = asObj(JSON.parse(annotations[BEHAVIOR_ANNOTATION]));
    } catch {
      behavior = undefined;
    }
    delete annotations[BEHAVIOR_ANNOTATION];
  }
  const current = parseList(annotations, CURRENT_METRICS_ANNOTATION);
  const conditions = parseList(annotations, CONDITIONS_ANNOTATION);
  o.metadata = { ...o.metadata, annotations };
  if (!Object.keys(annotations).length) delete o.metadata.annotations;
  o.spec = compact({
    scaleTargetRef: spec.scaleTargetRef,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    metrics,
    behavior,
  });
  if (status || current || conditions) {
    const st = status ?? {};
    let currentMetrics: Obj[] | undefined = current?.map(statusToV2);
    if (!currentMetrics && st.currentCPUUtilizationPercentage !== undefined)
      currentMetrics = [
        {
          type: 'Resource',
          resource: { name: 'cpu', current: { averageUtilization: st.currentCPUUtilizationPercentage } },
        },
      ];
    o.status = compact({
      observedGeneration: st.observedGeneration,
      lastScaleTime: st.lastScaleTime,
      currentReplicas: st.currentReplicas ?? 0,
      desiredReplicas: st.desiredReplicas ?? 0,
      currentMetrics,
      conditions,
    });
  }
  return o;
}
