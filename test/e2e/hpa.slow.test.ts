// Issue 14's HPA acceptance with real pods: a private `skiff start` (engine, API server, scheduler,
// controllers, node agent whose stats feed metrics.k8s.io) and the real kubectl 1.32. A
// Deployment of busybox burning CPU (request 100m) under an autoscaling/v2 HPA on CPU utilisation
// scales up; its command is then changed to sleep (a real drop in CPU) and it scales back down.
// The controller runs with upstream's CPU initialization period and initial readiness delay
// (5 min / 30 s: new pods count once a metrics window has passed since they became ready); only
// the sync period is shortened (kube-controller-manager's --horizontal-pod-autoscaler-sync-period).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffStart } from '../fixtures/skiff-start.js';

let s: SkiffStart;
const ns = `hpa-${Math.random().toString(36).slice(2, 7)}`;
const k = (...a: string[]) => s.k(['-n', ns, ...a], { timeoutMs: 60_000 });
const until = async <T>(what: string, f: () => Promise<T | undefined | false>, ms: number): Promise<T> => {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
};
const milli = (q: string) => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: burn, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: burn}}
  template:
    metadata: {labels: {app: burn}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: busybox:latest
        imagePullPolicy: IfNotPresent
        command: [sh, -c, "while :; do :; done"]
        resources: {requests: {cpu: 100m}}
`;
const hpa = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: burn, namespace: ${ns}}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies: [{type: Pods, value: 2, periodSeconds: 5}]
    scaleDown:
      stabilizationWindowSeconds: 10
      policies: [{type: Percent, value: 100, periodSeconds: 5}]
`;

interface HpaStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  currentMetrics?: { resource?: { current?: { averageUtilization?: number } } }[];
  conditions?: { type: string; status: string; reason: string; message: string }[];
}
const hpaStatus = async (): Promise<HpaStatus> => JSON.parse(await k('get', 'hpa', 'burn', '-o', 'json')).status ?? {};
const replicas = async () => Number(await k('get', 'deployment', 'burn', '-o', 'jsonpath={.spec.replicas}'));
const rescales = async () =>
  (
    await k(
      'get',
      'events',
      '--field-selector',
      'involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=burn,reason=SuccessfulRescale',
      '-o',
      'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
    )
  )
    .split('\n')
    .filter(Boolean);

before(async () => {
  s = await startSkiff({ extraArgs: ['--kube-controller-manager-arg', 'horizontal-pod-autoscaler-sync-period=3s'] });
  await s.k(['create', 'namespace', ns]);
  await until(
    'default ServiceAccount',
    async () => (await s.kubectl(['-n', ns, 'get', 'sa', 'default'])).code === 0,
    60_000,
  );
});
after(async () => {
  await s?.stop();
});

describe('HorizontalPodAutoscaler on real pods (skiff start, kubectl 1.32)', () => {
  it('scales a CPU-burning Deployment up, and back down when the load stops', async () => {
    await s.apply(deployment);
    await k('rollout', 'status', 'deployment/burn', '--timeout=120s');
    await s.apply(hpa);

    // metrics.k8s.io reports the burner well above its 100m request (kubectl top reads it).
    const top = await until(
      'kubectl top pod to show the burner',
      async () => {
        const out = await k('top', 'pod', '-l', 'app=burn', '--no-headers');
        const m = /^burn-\S+\s+(\d+m?)\s+/m.exec(out);
        return m && milli(m[1]) > 100 ? out : undefined;
      },
      90_000,
    );
    assert.match(top, /^burn-\S+\s+\d+m?\s+\d+Mi/m);

    // Scale-up: the HPA writes the Deployment's scale; all three pods run.
    await until('the HPA to scale to 3', async () => (await replicas()) === 3, 120_000);
    const up = await hpaStatus();
    assert.equal(up.desiredReplicas, 3);
    assert.ok((up.currentMetrics?.[0]?.resource?.current?.averageUtilization ?? 0) > 50, JSON.stringify(up));
    const active = up.conditions?.find((c) => c.type === 'ScalingActive');
    assert.equal(active?.status, 'True');
    assert.equal(active?.reason, 'ValidMetricFound');
    assert.ok(
      (await rescales()).some((m) =>
        /^New size: [23]; reason: cpu resource utilization \(percentage of request\) above target$/.test(m),
      ),
    );
    await k('rollout', 'status', 'deployment/burn', '--timeout=120s');
    // REPLICAS is status.currentReplicas: the target's count the HPA saw at its last sync, so it
    // shows the scale-up from the sync after it.
    const table = await until(
      'kubectl get hpa to show 3 replicas',
      async () => {
        const t = await k('get', 'hpa', 'burn');
        return /^burn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+3\s+3\s+\S+$/m.test(t) && t;
      },
      60_000,
    );
    assert.match(table, /^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE$/m);

    // The load stops for real: the pods are replaced by ones that sleep.
    await k(
      'patch',
      'deployment',
      'burn',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/template/spec/containers/0/command","value":["sleep","3600"]}]',
    );
    await until('the HPA to scale back to 1', async () => (await replicas()) === 1, 180_000);
    const down = await hpaStatus();
    assert.equal(down.desiredReplicas, 1);
    assert.ok((down.currentMetrics?.[0]?.resource?.current?.averageUtilization ?? 100) < 50, JSON.stringify(down));
    assert.ok((await rescales()).some((m) => m === 'New size: 1; reason: All metrics below target'));
    await until(
      'kubectl get hpa to show the low utilisation',
      async () => /^burn\s+Deployment\/burn\s+cpu: \d%\/50%\s+1\s+3\s+1\s+\S+$/m.test(await k('get', 'hpa', 'burn')),
      60_000,
    );
    const idle = await k('top', 'pod', '-l', 'app=burn', '--no-headers');
    for (const m of idle.matchAll(/^burn-\S+\s+(\d+m?)\s+/gm)) assert.ok(milli(m[1]) < 50, idle);
  });
});
