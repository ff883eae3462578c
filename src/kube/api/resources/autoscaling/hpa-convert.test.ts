// autoscaling/v1 ↔ v2 HPA conversion: the CPU target maps to v1's field, everything else a v2
// object holds (other metrics, behavior, current metrics, conditions) survives a v1 round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hpaToV1, hpaToV2 } from './hpa-convert.js';

const cpu = (n: number) => ({
  type: 'Resource',
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: n } },
});
const v2 = {
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', annotations: { keep: 'me' } },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    minReplicas: 1,
    maxReplicas: 5,
    metrics: [
      { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
      { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } },
      cpu(60),
    ],
    behavior: {
      scaleDown: {
        stabilizationWindowSeconds: 10,
        selectPolicy: 'Max',
        policies: [{ type: 'Pods', value: 1, periodSeconds: 5 }],
      },
    },
  },
  status: {
    currentReplicas: 2,
    desiredReplicas: 3,
    currentMetrics: [
      { type: 'Resource', resource: { name: 'memory', current: { averageValue: '90Mi' } } },
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 75, averageValue: '75m' } } },
    ],
    conditions: [{ type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'ok' }],
  },
};

test('v2 → v1: the CPU target and current utilization in v1 fields, the rest in annotations', () => {
  const v1 = hpaToV1(v2) as any;
  assert.equal(v1.apiVersion, 'autoscaling/v1');
  assert.deepEqual(v1.spec, {
    scaleTargetRef: v2.spec.scaleTargetRef,
    minReplicas: 1,
    maxReplicas: 5,
    targetCPUUtilizationPercentage: 60,
  });
  assert.deepEqual(v1.status, { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 75 });
  const a = v1.metadata.annotations;
  assert.equal(a.keep, 'me');
  assert.deepEqual(JSON.parse(a['autoscaling.alpha.kubernetes.io/metrics']), [
    { type: 'Resource', resource: { name: 'memory', targetAverageValue: '100Mi' } },
    { type: 'Pods', pods: { metricName: 'qps', targetAverageValue: '10' } },
  ]);
  assert.deepEqual(JSON.parse(a['autoscaling.alpha.kubernetes.io/current-metrics'])[1], {
    type: 'Resource',
    resource: { name: 'cpu', currentAverageUtilization: 75, currentAverageValue: '75m' },
  });
  assert.deepEqual(JSON.parse(a['autoscaling.alpha.kubernetes.io/conditions']), v2.status.conditions);
  assert.deepEqual(JSON.parse(a['autoscaling.alpha.kubernetes.io/behavior']), v2.spec.behavior);
  assert.equal(v2.metadata.annotations.keep, 'me', 'the input is not changed');
  assert.equal(Object.keys(v2.metadata.annotations).length, 1);
});

test('v1 → v2 round trip keeps everything (the CPU metric moves last, as upstream); a bare v1 gets 80% CPU', () => {
  const back = hpaToV2(hpaToV1(v2)) as any;
  assert.deepEqual(back.spec, { ...v2.spec, metrics: [v2.spec.metrics[0], v2.spec.metrics[1], cpu(60)] });
  assert.deepEqual(back.status, v2.status);
  assert.deepEqual(back.metadata.annotations, { keep: 'me' });
  const bare = hpaToV2({
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'b' },
    spec: { scaleTargetRef: v2.spec.scaleTargetRef, maxReplicas: 2 },
  }) as any;
  assert.deepEqual(bare.spec.metrics, [cpu(80)]);
  assert.equal(bare.metadata.annotations, undefined);
  // a v1 status write (no annotation) carries the current CPU utilization over
  const st = hpaToV2({
    ...bare,
    status: { currentReplicas: 1, desiredReplicas: 1, currentCPUUtilizationPercentage: 42 },
  }) as any;
  assert.deepEqual(st.status.currentMetrics, [
    { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 42 } } },
  ]);
});
