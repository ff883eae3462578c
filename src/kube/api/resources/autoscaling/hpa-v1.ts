// autoscaling/v1 HorizontalPodAutoscaler: the CPU-only view of the stored autoscaling/v2 objects
// (kubectl autoscale posts this version). Served over the same storage through `conversion`;
// defaulting is v1's own, validation and table rows are v2's on the converted object, as upstream
// validates the internal version.
import type { KubeObject } from '../../types.js';
import { define, int32, int64, kindSchema, obj, ref, str } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { asObj, type Obj } from '../../validation/fields.js';
import { resource } from '../shared/define.js';
import { horizontalPodAutoscaler as v2 } from './hpa.js';
import { hpaToV1, hpaToV2 } from './hpa-convert.js';

const A = (n: string) => `io.k8s.api.autoscaling.v1.${n}`;

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
  A('HorizontalPodAutoscalerSpec'),
  obj(
    'The desired behaviour of the autoscaler.',
    {
      scaleTargetRef: ref(A('CrossVersionObjectReference'), 'The resource whose replicas are scaled.'),
      minReplicas: int32('The lower limit of replicas (default 1).'),
      maxReplicas: int32('The upper limit of replicas; not below minReplicas.'),
      targetCPUUtilizationPercentage: int32(
        'The target average CPU utilization of the pods, as a percentage of their request; 80 when unset.',
      ),
    },
    ['scaleTargetRef', 'maxReplicas'],
  ),
);
define(
  A('HorizontalPodAutoscalerStatus'),
  obj(
    'The current state of the autoscaler.',
    {
      observedGeneration: int64('The generation last seen by the autoscaler.'),
      lastScaleTime: ref(N.Time, 'When the replica count was last changed.'),
      currentReplicas: int32('The current number of replicas of the target.'),
      desiredReplicas: int32('The number of replicas the autoscaler wants.'),
      currentCPUUtilizationPercentage: int32('The current average CPU utilization of the pods, in percent of request.'),
    },
    ['currentReplicas', 'desiredReplicas'],
  ),
);

export const horizontalPodAutoscalerV1 = resource({
  group: 'autoscaling',
  version: 'v1',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  namespaced: true,
  shortNames: ['hpa'],
  categories: ['all'],
  hasGeneration: true,
  subresources: { status: true },
  schema: kindSchema(
    { group: 'autoscaling', version: 'v1', kind: 'HorizontalPodAutoscaler' },
    'HorizontalPodAutoscaler, the CPU-only version: scales a resource with the scale subresource on the average CPU utilization of its pods.',
    {
      spec: ref(A('HorizontalPodAutoscalerSpec'), 'The behaviour of the autoscaler.'),
      status: ref(A('HorizontalPodAutoscalerStatus'), 'The current information about the autoscaler. Read-only.'),
    },
  ),
  conversion: { toStored: hpaToV2, fromStored: hpaToV1 },
  defaults(o: KubeObject) {
    const spec = asObj((o as Obj).spec);
    if (spec) spec.minReplicas ??= 1;
  },
  validate: (o: KubeObject) => v2.validate?.(hpaToV2(o)) ?? [],
  columns: v2.columns,
  row: (o, now) => v2.row(hpaToV2(o), now),
});
