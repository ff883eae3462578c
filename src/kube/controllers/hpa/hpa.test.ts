// HPA controller (+ Deployment, ReplicaSet) against the in-process API server with simulated
// nodes and a fake metrics source below PodMetricsSource (cpu usage the test sets per pod), and a
// controller clock the test moves: scale up on CPU utilization within the behavior's policies,
// back down after the stabilization window, memory AverageValue, status and conditions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseControllerManagerArgs, type PodMetricsSource, type PodUsage } from '../index.js';
import { resourceReplicas } from './replicas.js';
import { startControllerEnv, until, type ControllerEnv } from '../../../../test/fixtures/controller-env.js';

let env: ControllerEnv;
let offset = 0;
const now = () => Date.now() + offset;
/** milli-cpu and bytes per pod, by app label. */
const usage: Record<string, { cpu: number; memory: number }> = {};
const fake: PodMetricsSource = {
  async podMetrics(ns, selector) {
    const app = /app=([\w-]+)/.exec(selector)?.[1] ?? '';
    const pods = (await env.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${app}`)).items as any[];
    const out = new Map<string, PodUsage>();
    for (const p of pods) {
      if (p.status?.phase !== 'Running') continue;
      const u = usage[app] ?? { cpu: 0, memory: 0 };
      out.set(p.metadata.name, {
        containers: new Map([['c', { cpu: u.cpu, memory: u.memory * 1000 }]]),
        timestamp: now(),
        windowMs: 15_000,
      });
    }
    return out;
  },
};
const deploy = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
    },
  },
});
const D = () => `/apis/apps/v1/namespaces/${env.ns}/deployments`;
const H = () => `/apis/autoscaling/v2/namespaces/${env.ns}/horizontalpodautoscalers`;
const replicas = async (name: string) => (await env.get(`${D()}/${name}`)).spec.replicas as number;
const cond = (h: any, type: string) => h.status?.conditions?.find((c: any) => c.type === type);

before(async () => {
  env = await startControllerEnv({
    controllers: ['horizontal-pod-autoscaler', 'deployment', 'replicaset'],
    nodes: ['n1', 'n2'],
    now,
    options: { hpa: { syncPeriodMs: 100, metrics: fake } },
  });
});
after(() => env?.close());

describe('horizontal pod autoscaler', () => {
  it('scales a CPU-burning Deployment up within the policies and back down after the window', async () => {
    await env.post(D(), deploy('burn', 2));
    await until('2 ready', async () => (await env.get(`${D()}/burn`)).status?.readyReplicas === 2);
    // New pods' CPU samples count once a whole metrics window has passed since they became ready.
    offset += 20_000;
    await env.post(H(), {
      metadata: { name: 'burn' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'burn' },
        minReplicas: 1,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
        ],
        behavior: {
          scaleUp: { policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] },
          scaleDown: { stabilizationWindowSeconds: 120 },
        },
      },
    });
    usage.burn = { cpu: 40, memory: 1 << 20 };
    await until('steady status', async () => {
      const h = await env.get(`${H()}/burn`);
      return (
        h.status?.currentMetrics?.[0]?.resource?.current?.averageUtilization === 40 &&
        cond(h, 'ScalingActive')?.status === 'True'
      );
    });
    assert.equal(
      await replicas('burn'),
      2,
      '40% of a 50% target would mean fewer pods, but the scale-down window holds',
    );

    usage.burn = { cpu: 200, memory: 1 << 20 }; // 200% of the request: 4× the target
    await until('scaled up by the Pods policy (2 per 60 s)', async () => (await replicas('burn')) === 4);
    await until(
      'limited by the policy',
      async () => cond(await env.get(`${H()}/burn`), 'ScalingLimited')?.reason === 'ScaleUpLimit',
    );
    assert.ok((await env.get(`${H()}/burn`)).status.lastScaleTime);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await replicas('burn'), 4, 'no further step within the policy period');
    offset += 61_000;
    env.controllers.resync();
    await until('next step after the period', async () => (await replicas('burn')) === 6);

    usage.burn = { cpu: 10, memory: 1 << 20 };
    await until(
      'held by the window',
      async () => cond(await env.get(`${H()}/burn`), 'AbleToScale')?.reason === 'ScaleDownStabilized',
    );
    assert.equal(await replicas('burn'), 6, 'scale down waits for the stabilization window');
    offset += 121_000;
    env.controllers.resync();
    await until('scaled down', async () => (await replicas('burn')) === 2);
    const events = await env.get(`/api/v1/namespaces/${env.ns}/events?fieldSelector=involvedObject.name%3Dburn`);
    assert.ok(
      events.items.some(
        (e: any) =>
          e.reason === 'SuccessfulRescale' && /^New size: 4; reason: cpu resource utilization/.test(e.message),
      ),
    );
  });

  it('an autoscaling/v1 HPA (what kubectl autoscale writes) drives the Deployment; v1 status shows the CPU', async () => {
    await env.post(D(), deploy('v1web', 1));
    await until('1 ready', async () => (await env.get(`${D()}/v1web`)).status?.readyReplicas === 1);
    usage.v1web = { cpu: 100, memory: 10 };
    const H1 = `/apis/autoscaling/v1/namespaces/${env.ns}/horizontalpodautoscalers`;
    await env.post(H1, {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'v1web' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'v1web' },
        maxReplicas: 2,
        targetCPUUtilizationPercentage: 50,
      },
    });
    // 100% of the request against 50%: more replicas, up to maxReplicas (which then holds)
    await until('scaled to 2', async () => (await replicas('v1web')) === 2);
    await until(
      'v1 status',
      async () => (await env.get(`${H1}/v1web`)).status?.currentCPUUtilizationPercentage !== undefined,
    );
    const v1 = await env.get(`${H1}/v1web`);
    assert.equal(v1.status.currentCPUUtilizationPercentage, 100);
    assert.equal(v1.spec.minReplicas, 1);
    const conds = JSON.parse(v1.metadata.annotations['autoscaling.alpha.kubernetes.io/conditions']);
    assert.ok(
      conds.some((c: any) => c.type === 'AbleToScale'),
      'conditions kept in the annotation',
    );
  });

  it('memory AverageValue, min/max clamps, and a missing target', async () => {
    await env.post(D(), deploy('mem', 1));
    await until('1 ready', async () => (await env.get(`${D()}/mem`)).status?.readyReplicas === 1);
    usage.mem = { cpu: 10, memory: 300 << 20 };
    await env.post(H(), {
      metadata: { name: 'mem' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'mem' },
        minReplicas: 1,
        maxReplicas: 2,
        metrics: [
          { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
        ],
      },
    });
    await until('clamped at max', async () => (await replicas('mem')) === 2);
    const h = await env.get(`${H()}/mem`);
    assert.equal(h.status.currentMetrics[0].resource.current.averageValue, '300Mi');
    await until(
      'limited',
      async () => cond(await env.get(`${H()}/mem`), 'ScalingLimited')?.reason === 'TooManyReplicas',
    );

    await env.post(H(), {
      metadata: { name: 'none' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'missing' }, maxReplicas: 3 },
    });
    await until(
      'FailedGetScale',
      async () => cond(await env.get(`${H()}/none`), 'AbleToScale')?.reason === 'FailedGetScale',
    );
  });
});

describe('replica calculation: new and unready pods (upstream groupPods) and the flags that tune it', () => {
  const T = Date.parse('2026-12-07T05:00:00Z');
  const iso = (ms: number) => new Date(ms).toISOString();
  const pod = (name: string, startedAgoMs: number, ready: { status: string; agoMs: number }) => ({
    metadata: { name },
    spec: { containers: [{ name: 'c', resources: { requests: { cpu: '100m' } } }] },
    status: {
      phase: 'Running',
      startTime: iso(T - startedAgoMs),
      conditions: [{ type: 'Ready', status: ready.status, lastTransitionTime: iso(T - ready.agoMs) }],
    },
  });
  const sample = (cpu: number): PodUsage => ({ containers: new Map([['c', { cpu }]]), timestamp: T, windowMs: 10_000 });
  const calc = (pods: any[], cpu: Record<string, number>, extra: object = {}) =>
    resourceReplicas({
      current: pods.length,
      pods,
      metrics: new Map(Object.entries(cpu).map(([n, v]) => [n, sample(v)])),
      resource: 'cpu',
      target: { utilization: 50 },
      now: T,
      ...extra,
    }).replicas;

  it('a pod ready for less than one metrics window inside the CPU initialization period counts as 0 on scale-up', () => {
    const pods = [
      pod('old', 600_000, { status: 'True', agoMs: 590_000 }),
      pod('new', 60_000, { status: 'True', agoMs: 5_000 }),
    ];
    // old: 200 % of its request; new: unready, so 0 → (200 + 0) / 200 = 100 % → ratio 2 → 4 pods.
    assert.equal(calc(pods, { old: 200, new: 200 }), 4);
    // Once its sample covers a full window after the transition it counts: 200 % → ratio 4 → 8.
    assert.equal(calc([pods[0], pod('new', 60_000, { status: 'True', agoMs: 11_000 })], { old: 200, new: 200 }), 8);
    // A shorter --horizontal-pod-autoscaler-cpu-initialization-period ends that grace earlier.
    assert.equal(calc(pods, { old: 200, new: 200 }, { cpuInitializationMs: 30_000 }), 8);
  });

  it('past the initialization period, a pod that never became ready within the initial readiness delay is left out', () => {
    const old = pod('old', 600_000, { status: 'True', agoMs: 590_000 });
    // Unready since 10 s after its start (within the 30 s delay): never ready, so it counts as 0.
    const never = pod('never', 600_000, { status: 'False', agoMs: 590_000 });
    assert.equal(calc([old, never], { old: 200, never: 200 }), 4);
    // With a 5 s --horizontal-pod-autoscaler-initial-readiness-delay it was ready once: its sample counts.
    assert.equal(calc([old, never], { old: 200, never: 200 }, { initialReadinessDelayMs: 5_000 }), 8);
  });

  it('the tolerance (--horizontal-pod-autoscaler-tolerance) decides what is close enough', () => {
    const pods = [pod('a', 600_000, { status: 'True', agoMs: 590_000 })];
    assert.equal(calc(pods, { a: 115 }, { target: { utilization: 100 } }), 2); // 15 % off the target
    assert.equal(calc(pods, { a: 115 }, { target: { utilization: 100 }, tolerance: 0.2 }), 1);
  });

  it('parses the kube-controller-manager flags it honours and refuses the others by name', () => {
    assert.deepEqual(
      parseControllerManagerArgs([
        'horizontal-pod-autoscaler-sync-period=5s',
        '--horizontal-pod-autoscaler-cpu-initialization-period=1m30s',
        'horizontal-pod-autoscaler-initial-readiness-delay=0s',
        'horizontal-pod-autoscaler-downscale-stabilization=10s',
        'horizontal-pod-autoscaler-tolerance=0.05',
        'node-monitor-grace-period=20s',
      ]),
      {
        hpa: {
          syncPeriodMs: 5000,
          cpuInitializationPeriodMs: 90_000,
          initialReadinessDelayMs: 0,
          downscaleStabilizationMs: 10_000,
          tolerance: 0.05,
        },
        nodeLifecycle: { gracePeriodMs: 20_000 },
      },
    );
    assert.throws(
      () => parseControllerManagerArgs(['concurrent-deployment-syncs=5']),
      /unknown kube-controller-manager flag "concurrent-deployment-syncs"/,
    );
    assert.throws(
      () => parseControllerManagerArgs(['horizontal-pod-autoscaler-sync-period=fast']),
      /invalid value "fast" for flag --horizontal-pod-autoscaler-sync-period/,
    );
    assert.throws(
      () => parseControllerManagerArgs(['horizontal-pod-autoscaler-sync-period=0s']),
      /must be greater than 0/,
    );
    assert.throws(() => parseControllerManagerArgs(['horizontal-pod-autoscaler-tolerance']), /needs a value/);
  });
});
