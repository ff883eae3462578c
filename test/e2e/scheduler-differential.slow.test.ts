// Differential: the same cluster (simulated nodes) and the same pods, scheduled once by Skiff's
// scheduler inside `skiff server` and once by the real kube-scheduler 1.32.4 (built by
// scripts/build-kube-scheduler.sh) against `skiff server --disable-scheduler`. Where upstream's
// outcome is deterministic — the node a pod must go to, and the PodScheduled=False message of a
// pod that fits nowhere (reasons per node, preemption's verdict) — both must agree exactly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, sleep, startSkiffServer, type SkiffServer } from './kubectl-harness.js';

const ns = 'diff';
const node = (
  name: string,
  labels: Record<string, string>,
  o: { cpu?: string; taints?: object[]; unschedulable?: boolean } = {},
) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec: { taints: o.taints, unschedulable: o.unschedulable },
  status: {
    capacity: { cpu: o.cpu ?? '2', memory: '4Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True' }],
  },
});
const NODES = [
  node('a1', { pool: 'a', zone: 'z1' }),
  node('a2', { pool: 'a', zone: 'z2' }, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
  node('a3', { pool: 'a', zone: 'z3' }, { cpu: '1', unschedulable: true }),
  node('b1', { pool: 'b', zone: 'z1', disk: 'ssd' }, { cpu: '4' }),
  node(
    'b2',
    { pool: 'b', zone: 'z2', disk: 'hdd' },
    { cpu: '4', taints: [{ key: 'soft', value: 'x', effect: 'PreferNoSchedule' }] },
  ),
];
const pod = (
  name: string,
  pool: string,
  cpu: string,
  spec: Record<string, unknown> = {},
  labels: Record<string, string> = {},
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: {
    nodeSelector: { pool },
    containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu } } }],
    // No kubelet runs here to finish a graceful deletion: preemption's victims go at once, so the
    // preemptor can be bound (on both sides alike).
    terminationGracePeriodSeconds: 0,
    ...spec,
  },
});
const spread = {
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: 'zone',
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { app: 'web' } },
    },
  ],
};
const anti = {
  affinity: {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' },
      ],
    },
  },
};
/** Pods in order; `expect`: 'node' (compare where it went), 'message' (compare why it did not),
 *  'bound' (only that it is bound: upstream breaks score ties at random). */
const STEPS: { pod: object; expect: 'node' | 'message' | 'bound' }[] = [
  { pod: pod('too-big', 'a', '3'), expect: 'message' },
  {
    pod: pod('ssd', 'b', '500m', {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] }],
          },
        },
      },
    }),
    expect: 'node',
  },
  { pod: pod('web-0', 'b', '100m', spread, { app: 'web' }), expect: 'node' },
  { pod: pod('web-1', 'b', '100m', spread, { app: 'web' }), expect: 'node' },
  { pod: pod('web-2', 'b', '100m', spread, { app: 'web' }), expect: 'bound' },
  { pod: pod('db-0', 'a', '500m', anti, { app: 'db' }), expect: 'node' },
  { pod: pod('db-1', 'a', '500m', anti, { app: 'db' }), expect: 'message' },
  // Priorities through PriorityClasses (made in scenario()): the Priority admission plugin refuses
  // a spec.priority or preemptionPolicy that differs from what the class gives, as upstream's.
  { pod: pod('polite', 'a', '2', { priorityClassName: 'diff-high-polite' }), expect: 'message' },
  { pod: pod('vip', 'a', '2', { priorityClassName: 'diff-high' }), expect: 'node' },
  {
    pod: pod('claims', 'b', '100m', { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'eager' } }] }),
    expect: 'message',
  },
];

async function scenario(s: SkiffServer): Promise<Record<string, string>> {
  const json = async (method: string, path: string, body?: unknown) => {
    const r = await s.request(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body}`);
    return JSON.parse(r.body);
  };
  await json('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  for (const n of NODES) await json('POST', '/api/v1/nodes', n);
  for (const [name, preemptionPolicy] of [
    ['diff-high', 'PreemptLowerPriority'],
    ['diff-high-polite', 'Never'],
  ])
    await json('POST', '/apis/scheduling.k8s.io/v1/priorityclasses', {
      apiVersion: 'scheduling.k8s.io/v1',
      kind: 'PriorityClass',
      metadata: { name },
      value: 1000,
      preemptionPolicy,
    });
  await json('POST', '/apis/storage.k8s.io/v1/storageclasses', {
    metadata: { name: 'eager' },
    provisioner: 'kubernetes.io/no-provisioner',
    volumeBindingMode: 'Immediate',
  });
  await json('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    metadata: { name: 'eager' },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'eager', resources: { requests: { storage: '1Gi' } } },
  });
  await sleep(1000); // the schedulers' informers have the nodes
  const out: Record<string, string> = {};
  for (const step of STEPS) {
    const p = await json('POST', `/api/v1/namespaces/${ns}/pods`, step.pod);
    const name = p.metadata.name as string;
    const end = Date.now() + 30_000;
    for (;;) {
      const cur = await json('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
      const cond = (cur.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled');
      if (cur.spec.nodeName) {
        out[name] = step.expect === 'bound' ? 'bound' : `node ${cur.spec.nodeName}`;
        break;
      }
      if (step.expect === 'message' && cond?.status === 'False' && cond.message) {
        out[name] = `${cond.reason}: ${cond.message}`;
        break;
      }
      if (Date.now() > end) {
        out[name] = `undecided (${cond?.message ?? 'no condition'})`;
        break;
      }
      await sleep(100);
    }
  }
  return out;
}

describe("Skiff's scheduler and kube-scheduler 1.32.4 decide alike", () => {
  let peer = '';
  const servers: SkiffServer[] = [];
  let ks: ChildProcess | undefined;
  before(() => {
    const r = spawnSync(join(ROOT, 'scripts/build-kube-scheduler.sh'), {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error('kube-scheduler is required (scripts/build-kube-scheduler.sh failed)');
    peer = r.stdout.trim().split('\n').pop()!;
  });
  after(async () => {
    ks?.kill('SIGTERM');
    for (const s of servers) await s.stop();
  });

  it('places and explains the same pods the same way', async () => {
    const skiff = await startSkiffServer('sqlite');
    servers.push(skiff);
    const ours = await scenario(skiff);
    const theirsServer = await startSkiffServer('sqlite', { args: ['--disable-scheduler'] });
    servers.push(theirsServer);
    const cfg = join(theirsServer.dir, 'kube-scheduler.yaml');
    writeFileSync(
      cfg,
      `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: ${theirsServer.kubeconfig}
  contentType: application/json
  acceptContentTypes: application/json
leaderElection:
  leaderElect: false
`,
    );
    let log = '';
    ks = spawn(peer, ['--config', cfg, '--secure-port', '0', '-v', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    ks.stderr!.on('data', (d) => {
      log = (log + d).slice(-20_000);
    });
    const theirs = await scenario(theirsServer);
    process.stderr.write(
      `outcomes (both schedulers):\n${Object.entries(ours)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}\n`,
    );
    assert.deepEqual(ours, theirs, `kube-scheduler log tail:\n${log.slice(-3000)}`);
    // The scenario does exercise both outcomes.
    assert.match(ours['too-big'], /^Unschedulable: 0\/5 nodes are available: /);
    assert.equal(ours['web-1'], 'node b2');
    assert.match(ours.polite, /preemption: not eligible due to preemptionPolicy=Never\.$/);
    assert.equal(ours.vip, 'node a1');
  });
});
