import type { FieldError, KubeObject } from '../../types.js';
import { arr, define, enumStr, int32, int64, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N, conditionsList } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, oneOf, type Obj } from '../../validation/fields.js';
import { invalid, notSupported, required } from '../../validation/errors.js';
import { isPathSegmentName } from '../../validation/names.js';
import { isValidQuantity } from '../../quantity/quantity.js';
import { resource } from '../shared/define.js';

const A = (n: string) => `io.k8s.api.autoscaling.v2.${n}`;
const METRIC_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];

define(
  A('CrossVersionObjectReference'),
  obj(
    'Refers to the scaled resource.',
    {
      kind: str('Kind of the referent, e.g. Deployment.'),
      name: str('Name of the referent.'),
      apiVersion: str('API version of the referent, e.g. apps/v1.'),
    },
    ['kind', 'name'],
  ),
);
define(
  A('MetricTarget'),
  obj(
    'The target value, average value or average utilization of a metric.',
    {
      type: enumStr('Utilization, Value or AverageValue.', ['AverageValue', 'Utilization', 'Value']),
      value: ref(N.Quantity, 'The target value of the metric.'),
      averageValue: ref(N.Quantity, 'The target value of the average of the metric across all relevant pods.'),
      averageUtilization: int32(
        'The target average of the resource metric across all pods, as a percentage of the requested value. Only for Resource metrics.',
      ),
    },
    ['type'],
  ),
);
define(
  A('MetricIdentifier'),
  obj(
    'Identifies a metric.',
    { name: str('Name of the metric.'), selector: ref(N.LabelSelector, 'Narrows down the metric.') },
    ['name'],
  ),
);
define(
  A('ResourceMetricSource'),
  obj(
    'A resource metric (cpu, memory) of the pods.',
    { name: str('Name of the resource.'), target: ref(A('MetricTarget'), 'The target.') },
    ['name', 'target'],
  ),
);
define(
  A('ContainerResourceMetricSource'),
  obj(
    'A resource metric of one container of the pods.',
    {
      name: str('Name of the resource.'),
      container: str('Name of the container.'),
      target: ref(A('MetricTarget'), 'The target.'),
    },
    ['name', 'target', 'container'],
  ),
);
define(
  A('PodsMetricSource'),
  obj(
    'A metric describing each pod.',
    { metric: ref(A('MetricIdentifier'), 'The metric.'), target: ref(A('MetricTarget'), 'The target.') },
    ['metric', 'target'],
  ),
);
define(
  A('ObjectMetricSource'),
  obj(
    'A metric describing a single object.',
    {
      describedObject: ref(A('CrossVersionObjectReference'), 'The object described.'),
      metric: ref(A('MetricIdentifier'), 'The metric.'),
      target: ref(A('MetricTarget'), 'The target.'),
    },
    ['describedObject', 'target', 'metric'],
  ),
);
define(
  A('ExternalMetricSource'),
  obj(
    'A metric not associated with any cluster object.',
    { metric: ref(A('MetricIdentifier'), 'The metric.'), target: ref(A('MetricTarget'), 'The target.') },
    ['metric', 'target'],
  ),
);
define(
  A('MetricSpec'),
  obj(
    'One metric to scale on.',
    {
      type: enumStr('ContainerResource, External, Object, Pods or Resource.', METRIC_TYPES),
      resource: ref(A('ResourceMetricSource'), 'A resource metric known to Kubernetes.'),
      containerResource: ref(A('ContainerResourceMetricSource'), 'A resource metric of a single container.'),
      pods: ref(A('PodsMetricSource'), 'A metric describing each pod.'),
      object: ref(A('ObjectMetricSource'), 'A metric describing a single object.'),
      external: ref(A('ExternalMetricSource'), 'A global metric.'),
    },
    ['type'],
  ),
);
define(
  A('HPAScalingPolicy'),
  obj(
    'A single scaling policy.',
    {
      type: enumStr('Pods or Percent.', ['Percent', 'Pods']),
      value: int32('The amount of change permitted; must be greater than zero.'),
      periodSeconds: int32('The window of time for which the policy holds, 1 to 1800.'),
    },
    ['type', 'value', 'periodSeconds'],
  ),
);
define(
  A('HPAScalingRules'),
  obj('Scaling behavior in one direction.', {
    stabilizationWindowSeconds: int32('Seconds of past recommendations considered while scaling, 0 to 3600.'),
    selectPolicy: enumStr('Max, Min or Disabled.', ['Disabled', 'Max', 'Min']),
    policies: arr('Policies that may be used while scaling.', ref(A('HPAScalingPolicy')), { listType: 'atomic' }),
    tolerance: ref(N.Quantity, 'Tolerance on the ratio between current and desired metric values.'),
  }),
);
define(
  A('HorizontalPodAutoscalerBehavior'),
  obj('Scaling behavior for both directions.', {
    scaleUp: ref(A('HPAScalingRules'), 'Scaling up policy.'),
    scaleDown: ref(A('HPAScalingRules'), 'Scaling down policy.'),
  }),
);
define(
  A('HorizontalPodAutoscalerSpec'),
  obj(
    'The desired behavior of the autoscaler.',
    {
      scaleTargetRef: ref(
        A('CrossVersionObjectReference'),
        'The resource to scale; it must expose the scale subresource.',
      ),
      minReplicas: int32('Lower limit of replicas. Defaults to 1.'),
      maxReplicas: int32('Upper limit of replicas; cannot be less than minReplicas.'),
      metrics: arr(
        'Metrics used to compute the desired replica count; defaults to 80% average CPU utilization.',
        ref(A('MetricSpec')),
        { listType: 'atomic' },
      ),
      behavior: ref(A('HorizontalPodAutoscalerBehavior'), 'Scaling behavior in the up and down directions.'),
    },
    ['scaleTargetRef', 'maxReplicas'],
  ),
);
define(
  A('HorizontalPodAutoscalerStatus'),
  obj(
    'The current status of the autoscaler.',
    {
      observedGeneration: int64('The most recent generation observed.'),
      lastScaleTime: ref(N.Time, 'Last time the autoscaler scaled.'),
      currentReplicas: int32('Current number of replicas of the target.'),
      desiredReplicas: int32('Desired number of replicas as last calculated.'),
      currentMetrics: {
        type: 'array',
        description: 'Last read state of the metrics.',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        'x-kubernetes-list-type': 'atomic',
      },
      conditions: conditionsList('Conditions needed for the autoscaler to scale its target.'),
    },
    ['desiredReplicas'],
  ),
);

function validate(o: Obj): FieldError[] {
  const s = asObj(o.spec) ?? {};
  const errs: FieldError[] = [];
  const ref0 = asObj(s.scaleTargetRef);
  if (!ref0?.kind) errs.push(required('spec.scaleTargetRef.kind'));
  else errs.push(...isPathSegmentName(String(ref0.kind)).map((m) => invalid('spec.scaleTargetRef.kind', ref0.kind, m)));
  if (!ref0?.name) errs.push(required('spec.scaleTargetRef.name'));
  else errs.push(...isPathSegmentName(String(ref0.name)).map((m) => invalid('spec.scaleTargetRef.name', ref0.name, m)));
  const min = s.minReplicas ?? 1;
  if (s.minReplicas !== undefined && s.minReplicas < 1)
    errs.push(invalid('spec.minReplicas', s.minReplicas, 'must be greater than or equal to 1'));
  if (typeof s.maxReplicas !== 'number' || s.maxReplicas < 1)
    errs.push(invalid('spec.maxReplicas', s.maxReplicas ?? 0, 'must be greater than 0'));
  else if (s.maxReplicas < min)
    errs.push(invalid('spec.maxReplicas', s.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  asArr(s.metrics).forEach((m: Obj, i: number) => {
    const p = `spec.metrics[${i}]`;
    if (!m?.type) {
      errs.push(required(`${p}.type`, 'must specify a metric source type'));
      return;
    }
    if (typeof m.type !== 'string' || !METRIC_TYPES.includes(m.type)) {
      errs.push(notSupported(`${p}.type`, m.type, METRIC_TYPES));
      return;
    }
    const key = m.type[0].toLowerCase() + m.type.slice(1);
    const src = asObj(m[key]);
    if (!src) {
      errs.push(required(`${p}.${key}`, `must populate information for the given metric source`));
      return;
    }
    const t = asObj(src.target);
    if (!t) {
      errs.push(required(`${p}.${key}.target`));
      return;
    }
    errs.push(...oneOf(t.type, `${p}.${key}.target.type`, ['Utilization', 'Value', 'AverageValue'], false));
    if (t.type === 'Utilization' && (typeof t.averageUtilization !== 'number' || t.averageUtilization <= 0))
      errs.push(invalid(`${p}.${key}.target.averageUtilization`, t.averageUtilization ?? 0, 'must be greater than 0'));
    for (const k of ['value', 'averageValue'])
      if (t[k] !== undefined && !isValidQuantity(t[k]))
        errs.push(invalid(`${p}.${key}.target.${k}`, t[k], 'must be a valid quantity'));
  });
  for (const dir of ['scaleUp', 'scaleDown']) {
    const r = asObj(asObj(s.behavior)?.[dir]);
    if (!r) continue;
    const w = r.stabilizationWindowSeconds;
    if (w !== undefined && (w < 0 || w > 3600))
      errs.push(
        invalid(
          `spec.behavior.${dir}.stabilizationWindowSeconds`,
          w,
          w < 0 ? 'must be greater than or equal to zero' : 'must be less than or equal to 3600',
        ),
      );
    asArr(r.policies).forEach((pol: Obj, i: number) => {
      const p = `spec.behavior.${dir}.policies[${i}]`;
      errs.push(...oneOf(pol?.type, `${p}.type`, ['Pods', 'Percent'], false));
      if (!(pol?.value > 0)) errs.push(invalid(`${p}.value`, pol?.value ?? 0, 'must be greater than zero'));
      if (!(pol?.periodSeconds > 0) || pol.periodSeconds > 1800)
        errs.push(
          invalid(
            `${p}.periodSeconds`,
            pol?.periodSeconds ?? 0,
            pol?.periodSeconds > 1800 ? 'must be less than or equal to 1800' : 'must be greater than zero',
          ),
        );
    });
  }
  return errs;
}

function defaults(o: Obj): void {
  o.spec = asObj(o.spec) ?? {};
  const s = o.spec;
  s.minReplicas ??= 1;
  if (!asArr(s.metrics).length)
    s.metrics = [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
    ];
  const b = asObj(s.behavior);
  if (b) {
    b.scaleUp = asObj(b.scaleUp) ?? {};
    b.scaleUp.stabilizationWindowSeconds ??= 0;
    b.scaleUp.selectPolicy ??= 'Max';
    if (!asArr(b.scaleUp.policies).length)
      b.scaleUp.policies = [
        { type: 'Pods', value: 4, periodSeconds: 15 },
        { type: 'Percent', value: 100, periodSeconds: 15 },
      ];
    b.scaleDown = asObj(b.scaleDown) ?? {};
    b.scaleDown.selectPolicy ??= 'Max';
    if (!asArr(b.scaleDown.policies).length)
      b.scaleDown.policies = [{ type: 'Percent', value: 100, periodSeconds: 15 }];
  }
}

/** kubectl's TARGETS cell: `cpu: 20%/80%`, `<unknown>` before metrics arrive, `+N more...`. */
export function formatHPAMetrics(specs: unknown, statuses: unknown): string {
  const list = asArr(specs).filter(asObj);
  if (!list.length) return '<none>';
  const cur = asArr(statuses);
  const cells = list.map((m, i) => {
    const c = asObj(cur[i]);
    const key = String(m.type ?? '');
    const k = key ? key[0].toLowerCase() + key.slice(1) : '';
    const src = asObj(m[k]) ?? {},
      t = asObj(src.target) ?? {},
      cs = asObj(asObj(c?.[k])?.current) ?? {};
    const name = src.name ?? src.metric?.name ?? '';
    let current = '<unknown>',
      target: string;
    if (t.type === 'Utilization') {
      target = `${t.averageUtilization}%`;
      if (cs.averageUtilization !== undefined) current = `${cs.averageUtilization}%`;
    } else if (t.type === 'AverageValue') {
      target = `${t.averageValue}`;
      if (cs.averageValue !== undefined) current = String(cs.averageValue);
    } else {
      target = `${t.value}`;
      if (cs.value !== undefined) current = String(cs.value);
    }
    const prefix = m.type === 'Resource' || m.type === 'ContainerResource' ? `${name}: ` : '';
    return `${prefix}${current}/${target}${t.type === 'AverageValue' && m.type !== 'Resource' ? ' (avg)' : ''}`;
  });
  const shown = cells.slice(0, 2);
  return shown.join(', ') + (cells.length > 2 ? ` + ${cells.length - 2} more...` : '');
}

export const horizontalPodAutoscaler = resource({
  group: 'autoscaling',
  version: 'v2',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  namespaced: true,
  shortNames: ['hpa'],
  categories: ['all'],
  hasGeneration: true,
  subresources: { status: true },
  schema: kindSchema(
    { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler' },
    'HorizontalPodAutoscaler automatically manages the replica count of a resource that implements the scale subresource, based on the metrics specified.',
    {
      spec: ref(A('HorizontalPodAutoscalerSpec'), 'The behavior of the autoscaler.'),
      status: ref(A('HorizontalPodAutoscalerStatus'), 'The current information about the autoscaler. Read-only.'),
    },
  ),
  defaults: (o: KubeObject) => defaults(o as Obj),
  validate: (o: KubeObject) => validate(o as Obj),
  columns: [
    nameColumn,
    col('Reference', 'string', 'The reference to the scaled resource.'),
    col('Targets', 'string', 'The current and target values of the metrics.'),
    col('MinPods', 'string', 'The lower limit of replicas.'),
    col('MaxPods', 'integer', 'The upper limit of replicas.'),
    col('Replicas', 'integer', 'Current number of replicas of the target.'),
    ageColumn,
  ],
  row(obj, now) {
    const o = obj as Obj,
      s = asObj(o.spec) ?? {},
      st = asObj(o.status) ?? {};
    const r = asObj(s.scaleTargetRef) ?? {};
    return [
      obj.metadata.name,
      `${r.kind}/${r.name}`,
      formatHPAMetrics(s.metrics, st.currentMetrics),
      s.minReplicas !== undefined ? String(s.minReplicas) : '<unset>',
      s.maxReplicas ?? 0,
      st.currentReplicas ?? 0,
      age(obj.metadata.creationTimestamp, now),
    ];
  },
});
