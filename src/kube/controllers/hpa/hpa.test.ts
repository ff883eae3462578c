// HPA controller (+ Deployment, ReplicaSet) against the in-process API server with simulated
// nodes and a fake metrics source below PodMetricsSource (cpu usage the test sets per pod), and a
// controller clock the test moves: scale up on CPU utilization within the behavior's policies,
// back down after the stabilization window, memory AverageValue, status and conditions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PodMetricsSource, PodUsage } from '../index.js';
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
