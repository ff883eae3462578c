// The agent's logic against a real API server (memory store, HTTPS) and a recording fake
// ContainerRuntime: registration and lease, a pod to Running/Ready with upstream's status and
// events, crash loops and back-off, init containers first, image pull errors, deletion within
// the grace period with nothing left behind, adoption after a restart, bad specs survived.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { createLogger } from '../../src/common/index.js';
import { FakeRuntime } from '../fixtures/fake-cri.js';
import { startAgent, type RunningAgent } from '../../src/kube/agent/index.js';
import type { Pod } from '../../src/kube/agent/index.js';

let srv: RunningServer, c: KubeClient, dir: string, rt: FakeRuntime, agent: RunningAgent;
const NODE = `node-${Math.random().toString(36).slice(2, 8)}`;
const ns = 'default';
const log = createLogger({}, { level: (process.env.SKIFF_LOG as never) ?? 'warn' });

const until = async <T>(what: string, f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const getPod = (name: string) => c.request<Pod>('GET', `/api/v1/namespaces/${ns}/pods/${name}`).catch(() => undefined);
const events = async (name: string) =>
  (
    await c.request<{ items: { reason: string; message: string; type: string; involvedObject: { name: string } }[] }>(
      'GET',
      `/api/v1/namespaces/${ns}/events`,
    )
  ).items.filter((e) => e.involvedObject.name === name);
const mkPod = (name: string, spec: Record<string, unknown>) =>
  c.request<Pod>('POST', `/api/v1/namespaces/${ns}/pods`, {
    body: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: NODE, ...spec } },
  });
const run = (cmd: string) => ({
  name: 'main',
  image: 'busybox:latest',
  imagePullPolicy: 'IfNotPresent',
  command: ['sh', '-c', cmd],
});

async function boot(): Promise<RunningAgent> {
  return startAgent({
    client: c,
    runtime: rt,
    nodeName: NODE,
    nodeIP: '127.0.0.1',
    rootDir: join(dir, 'agent'),
    podLogsDir: join(dir, 'logs'),
    memoryBackedSecrets: false,
    relistMs: 300,
    housekeepingMs: 300,
    nodeStatusMs: 300,
    log,
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-agent-'));
  srv = await startServer({ dataDir: join(dir, 'server'), httpsListen: '127.0.0.1:0', datastore: 'memory://', log });
  const kc = parse(readFileSync(srv.kubeconfigPath, 'utf8'));
  const b = (s: string) => Buffer.from(s, 'base64').toString();
  c = new KubeClient({
    server: srv.url,
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  });
  rt = new FakeRuntime();
  rt.behaviour = (cfg) => {
    const cmd = (cfg.command ?? []).join(' ');
    const m = /exit (\d+)/.exec(cmd);
    if (m) return { exitAfterMs: 50, exitCode: Number(m[1]) };
    return {};
  };
  agent = await boot();
  // The test's server starts its controllers after it answers (behind leader election); until
  // their ServiceAccount controller has made `default`'s account, ServiceAccount admission refuses
  // pods after upstream's 1–2 s of retries. Upstream's e2e framework waits for the account the same
  // way (WaitForDefaultServiceAccountInNamespace); under load the controllers take longer than that.
  await until(
    'the default ServiceAccount',
    () =>
      c.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`).then(
        () => true,
        () => false,
      ),
    60_000,
  );
});

after(async () => {
  await agent?.stop();
  await srv?.close();
  c?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('node agent (fake runtime)', () => {
  it('registers its Node and a Lease', async () => {
    const node = await c.request('GET', `/api/v1/nodes/${NODE}`);
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], NODE);
    assert.equal(node.metadata.labels['kubernetes.io/os'], 'linux');
    assert.equal(node.spec.podCIDR, '10.42.0.0/24');
    assert.equal(node.status.capacity.pods, '110');
    assert.ok(Number(node.status.capacity.cpu) >= 1);
    const types = node.status.conditions.map((x: { type: string }) => x.type).sort();
    assert.deepEqual(types, ['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready']);
    assert.equal(node.status.conditions.find((x: { type: string }) => x.type === 'Ready').status, 'True');
    assert.equal(node.status.addresses[0].address, '127.0.0.1');
    assert.equal(node.status.nodeInfo.containerRuntimeVersion, 'fake://1.0.0');
    assert.equal(rt.podCidr, '10.42.0.0/24');
    const lease = await until('lease', () =>
      c.request('GET', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`).catch(() => undefined),
    );
    assert.equal(lease.spec.holderIdentity, NODE);
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    // kubelet's node events, as `kubectl describe node` finds them (the node's name as its uid,
    // no namespace: stored in `default`)
    const sel = encodeURIComponent(`involvedObject.kind=Node,involvedObject.name=${NODE},involvedObject.uid=${NODE}`);
    const evs = await until('node events', async () => {
      const l = await c.request('GET', `/api/v1/namespaces/default/events?fieldSelector=${sel}`);
      const reasons = l.items.map((e: { reason: string }) => e.reason);
      return [
        'Starting',
        'NodeHasSufficientMemory',
        'NodeHasNoDiskPressure',
        'NodeHasSufficientPID',
        'NodeReady',
      ].every((r) => reasons.includes(r))
        ? l.items
        : undefined;
    });
    const ready = evs.find((e: { reason: string }) => e.reason === 'NodeReady');
    assert.equal(ready.message, `Node ${NODE} status is now: NodeReady`);
    assert.equal(ready.source.component, 'kubelet');
  });

  it('registers its Node again when the object is deleted', async () => {
    const before = await c.request('GET', `/api/v1/nodes/${NODE}`);
    await c.request('DELETE', `/api/v1/nodes/${NODE}`);
    const again = await until('node back', () => c.request('GET', `/api/v1/nodes/${NODE}`).catch(() => undefined));
    assert.notEqual(again.metadata.uid, before.metadata.uid);
    await until('node status back', async () => {
      const n = await c.request('GET', `/api/v1/nodes/${NODE}`);
      return n.status?.conditions?.some(
        (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
      );
    });
  });

  it('follows the node address: a re-derived one at once; a configured one gone is kept and reported', async () => {
    const internalIP = async () =>
      (await c.request('GET', `/api/v1/nodes/${NODE}`)).status.addresses.find(
        (a: { type: string }) => a.type === 'InternalIP',
      ).address as string;
    assert.equal(await internalIP(), '127.0.0.1');
    // (the 300 ms status loop could also send it; setNodeAddress sends it before it resolves)
    await agent.setNodeAddress('127.0.0.2');
    assert.equal(await internalIP(), '127.0.0.2');
    assert.deepEqual(agent.ctx.node.hostIPs, ['127.0.0.2']);
    await agent.setNodeAddress('127.0.0.2', true);
    const ev = await until('the NodeIPNotFound event', async () => {
      const l = await c.request('GET', '/api/v1/namespaces/default/events');
      return l.items.find(
        (e: { reason: string; involvedObject: { name: string } }) =>
          e.reason === 'NodeIPNotFound' && e.involvedObject.name === NODE,
      );
    });
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message, /node IP: "127\.0\.0\.2" not found in the host's network interfaces/);
    assert.equal(await internalIP(), '127.0.0.2', 'the configured address is kept');
    await agent.setNodeAddress('127.0.0.1');
    assert.equal(await internalIP(), '127.0.0.1');
  });

  it('runs a pod to Running and Ready with upstream status and events', async () => {
    await mkPod('web', { containers: [run('sleep 1000')] });
    const p = await until('web ready', async () => {
      const p = await getPod('web');
      return p?.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' && p;
    });
    assert.equal(p.status?.phase, 'Running');
    assert.equal(p.status?.podIP?.startsWith('10.42.0.'), true);
    assert.equal(p.status?.hostIP, '127.0.0.1');
    assert.equal(p.status?.qosClass, 'BestEffort');
    assert.ok(p.status?.startTime);
    const cs = p.status!.containerStatuses![0];
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state.running?.startedAt);
    assert.match(cs.containerID ?? '', /^fake:\/\//);
    assert.deepEqual(
      p.status!.conditions!.map((x) => [x.type, x.status]),
      [
        ['PodReadyToStartContainers', 'True'],
        ['Initialized', 'True'],
        ['Ready', 'True'],
        ['ContainersReady', 'True'],
        ['PodScheduled', 'True'],
      ],
    );
    const all = await until('events', async () => {
      const e = await events('web');
      return e.some((x) => x.reason === 'Started') && e;
    });
    assert.ok(all.some((x) => x.reason === 'MissingClusterDNS' && x.type === 'Warning'));
    const ev = all.filter((x) => x.reason !== 'MissingClusterDNS');
    assert.deepEqual(
      ev.map((x) => x.reason),
      ['Pulled', 'Created', 'Started'],
    );
    assert.equal(ev[0].message, 'Container image "busybox:latest" already present on machine');
    assert.equal(ev[1].message, 'Created container: main');
    assert.equal(ev[2].message, 'Started container main');
    // The sandbox carries the pod's identity and its log directory.
    const sb = rt.calls.find((x) => x.method === 'runPodSandbox')!.req as {
      config: { metadata: { name: string }; logDirectory: string };
    };
    assert.equal(sb.config.metadata.name, 'web');
    assert.ok(sb.config.logDirectory.endsWith(`default_web_${p.metadata.uid}`));
  });

  it('restarts a crashing container and backs off (CrashLoopBackOff)', async () => {
    await mkPod('crash', { containers: [run('exit 3')] });
    const p = await until('crash loop', async () => {
      const p = await getPod('crash');
      const cs = p?.status?.containerStatuses?.[0];
      return cs?.state.waiting?.reason === 'CrashLoopBackOff' && p;
    });
    const cs = p.status!.containerStatuses![0];
    assert.ok(cs.restartCount >= 1);
    assert.match(cs.state.waiting!.message!, /^back-off 10s restarting failed container=main pod=crash_default\(/);
    assert.equal(cs.lastState.terminated?.exitCode, 3);
    assert.equal(cs.lastState.terminated?.reason, 'Error');
    assert.equal(p.status?.phase, 'Running');
    const ev = await until('BackOff event', async () => {
      const e = await events('crash');
      return e.find((x) => x.reason === 'BackOff');
    });
    assert.match(ev.message, /^Back-off restarting failed container main in pod crash_default\(/);
  });

  it('starts an ephemeral container once, in its target PID namespace, and never restarts it', async () => {
    await mkPod('eph', { restartPolicy: 'Always', containers: [run('sleep 1000')] });
    await until('eph running', async () => (await getPod('eph'))?.status?.phase === 'Running');
    const target = rt.running().find((x) => x.config.labels?.['io.kubernetes.pod.name'] === 'eph')!;
    // kubectl debug's request: a strategic merge patch of pods/eph/ephemeralcontainers.
    await c.request('PATCH', `/api/v1/namespaces/${ns}/pods/eph/ephemeralcontainers`, {
      body: {
        spec: {
          ephemeralContainers: [
            {
              name: 'dbg',
              image: 'busybox:latest',
              imagePullPolicy: 'IfNotPresent',
              command: ['sh'],
              stdin: true,
              tty: true,
              targetContainerName: 'main',
            },
          ],
        },
      },
      contentType: 'application/strategic-merge-patch+json',
    });
    const p = await until('dbg running', async () => {
      const p = await getPod('eph');
      return p?.status?.ephemeralContainerStatuses?.[0]?.state.running && p;
    });
    const st = p.status!.ephemeralContainerStatuses![0];
    assert.deepEqual([st.name, st.ready, st.restartCount, st.started], ['dbg', false, 0, undefined]);
    assert.equal(p.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'True', 'readiness ignores it');
    const dbg = rt.running('dbg')[0];
    assert.equal(dbg.sandboxId, target.sandboxId, "in the pod's sandbox");
    const nsOpts = dbg.config.linux?.securityContext?.namespaceOptions;
    assert.deepEqual([nsOpts?.pid, nsOpts?.targetId], ['TARGET', target.id]);
    assert.deepEqual([dbg.config.stdin, dbg.config.tty], [true, true]);
    const ev = await until('dbg events', async () => {
      const e = (await events('eph')) as unknown as { reason: string; involvedObject: { fieldPath?: string } }[];
      return e.find((x) => x.reason === 'Started' && x.involvedObject.fieldPath === 'spec.ephemeralContainers{dbg}');
    });
    assert.ok(ev);
    // It exits: reported terminated, not restarted (whatever the pod's restartPolicy), the pod runs on.
    rt.crash(dbg.id, 0);
    await until(
      'dbg terminated',
      async () => (await getPod('eph'))?.status?.ephemeralContainerStatuses?.[0]?.state.terminated,
    );
    const created = () =>
      rt.calls.filter(
        (x) =>
          (x.req as { config?: { metadata?: { name?: string } } }).config?.metadata?.name === 'dbg' &&
          x.method === 'createContainer',
      ).length;
    const before = rt.count('startContainer');
    await new Promise((r) => setTimeout(r, 1500)); // five relists and syncs
    assert.equal(created(), 1);
    assert.equal(rt.count('startContainer'), before);
    const after = await getPod('eph');
    assert.equal(after?.status?.phase, 'Running');
    assert.equal(after?.status?.containerStatuses?.[0].restartCount, 0);
  });

  it('runs init containers first, in order', async () => {
    await mkPod('init', {
      initContainers: [
        { ...run('exit 0'), name: 'first' },
        { ...run('exit 0'), name: 'second' },
      ],
      containers: [run('sleep 1000')],
    });
    const p = await until('init pod running', async () => {
      const p = await getPod('init');
      return p?.status?.phase === 'Running' && p;
    });
    const order = rt.calls
      .filter((x) => x.method === 'createContainer')
      .map((x) => (x.req as { config: { metadata: { name: string }; labels: Record<string, string> } }).config)
      .filter((cfg) => cfg.labels['io.kubernetes.pod.name'] === 'init')
      .map((cfg) => cfg.metadata.name);
    assert.deepEqual(order, ['first', 'second', 'main']);
    assert.deepEqual(
      p.status!.initContainerStatuses!.map((s) => [s.name, s.state.terminated?.reason]),
      [
        ['first', 'Completed'],
        ['second', 'Completed'],
      ],
    );
  });

  it('reports ErrImagePull then ImagePullBackOff with the registry message', async () => {
    rt.pullErrors.set('nope.example/missing:v1', 'manifest unknown: manifest unknown');
    await mkPod('noimage', { containers: [{ name: 'main', image: 'nope.example/missing:v1' }] });
    // ErrImagePull is what the failed pull leaves; the syncs after it (within the back-off) say
    // ImagePullBackOff, carrying the registry's message.
    const p = await until('ImagePullBackOff', async () => {
      const p = await getPod('noimage');
      return p?.status?.containerStatuses?.[0]?.state.waiting?.reason === 'ImagePullBackOff' && p;
    });
    assert.equal(
      p.status!.containerStatuses![0].state.waiting!.message,
      'Back-off pulling image "nope.example/missing:v1": ErrImagePull: manifest unknown: manifest unknown',
    );
    assert.equal(p.status?.phase, 'Pending');
    const ev = await until('pull events', async () => {
      const e = (await events('noimage')).map((x) => `${x.type} ${x.reason} ${x.message}`);
      return e.some((x) => x.includes('ImagePullBackOff')) && e;
    });
    for (const want of [
      'Normal Pulling Pulling image "nope.example/missing:v1"',
      'Warning Failed Failed to pull image "nope.example/missing:v1": manifest unknown: manifest unknown',
      'Warning Failed Error: ErrImagePull',
      'Normal BackOff Back-off pulling image "nope.example/missing:v1"',
      'Warning Failed Error: ImagePullBackOff',
    ])
      assert.ok(ev.includes(want), `${want} in ${JSON.stringify(ev)}`);
  });

  it('adopts running pods after a restart without restarting them', async () => {
    const before = await getPod('web');
    const mark = rt.calls.length;
    const sandboxes = rt.count('runPodSandbox');
    await agent.stop();
    agent = await boot();
    await new Promise((r) => setTimeout(r, 1500));
    const p = await getPod('web');
    assert.equal(before?.status?.containerStatuses?.[0].restartCount, 0, 'before');
    const webCreates0 = rt.calls
      .slice(mark)
      .filter((x) => x.method !== 'execSync')
      .map((x) => [x.method, JSON.stringify(x.req).slice(0, 300)]);
    assert.equal(p?.status?.containerStatuses?.[0].restartCount, 0, JSON.stringify(webCreates0));
    assert.equal(p?.status?.containerStatuses?.[0].containerID, before?.status?.containerStatuses?.[0].containerID);
    assert.equal(rt.count('runPodSandbox'), sandboxes, 'sandboxes');
    // The crash-looping pod may have been restarted by its back-off; web must not have been.
    const webCreates = rt.calls
      .slice(mark)
      .filter((x) => x.method === 'createContainer')
      .filter(
        (x) =>
          (x.req as { config: { labels: Record<string, string> } }).config.labels['io.kubernetes.pod.name'] === 'web',
      );
    assert.equal(webCreates.length, 0, JSON.stringify(webCreates.map((x) => (x.req as { config: unknown }).config)));
  });

  it('survives a bad pod spec', async () => {
    await mkPod('bad', {
      containers: [
        {
          name: 'main',
          image: 'busybox:latest',
          env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'missing-cm', key: 'k' } } }],
        },
      ],
    });
    const p = await until('config error', async () => {
      const p = await getPod('bad');
      return p?.status?.containerStatuses?.[0]?.state.waiting?.reason === 'CreateContainerConfigError' && p;
    });
    assert.equal(p.status!.containerStatuses![0].state.waiting!.message, 'configmap "missing-cm" not found');
    // Still serving other pods.
    await mkPod('after-bad', { containers: [run('sleep 1000')] });
    await until('after-bad running', async () => (await getPod('after-bad'))?.status?.phase === 'Running');
  });

  it('evicts a pod whose emptyDir outgrows its sizeLimit', async () => {
    const p = await mkPod('hungry', {
      volumes: [{ name: 'scratch', emptyDir: { sizeLimit: '4Ki' } }],
      containers: [{ ...run('sleep 1000'), volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
    });
    await until('hungry running', async () => (await getPod('hungry'))?.status?.phase === 'Running');
    writeFileSync(
      join(dir, 'agent', 'pods', p.metadata.uid, 'volumes', 'kubernetes.io~empty-dir', 'scratch', 'big'),
      Buffer.alloc(64 * 1024, 1),
    );
    const ev = await until('evicted', async () => {
      const q = await getPod('hungry');
      return q?.status?.reason === 'Evicted' && q;
    });
    assert.equal(ev.status?.phase, 'Failed');
    assert.equal(ev.status?.message, 'Usage of EmptyDir volume "scratch" exceeds the limit "4Ki". ');
    assert.equal(ev.status?.conditions?.find((x) => x.type === 'DisruptionTarget')?.reason, 'TerminationByKubelet');
    assert.equal(rt.running().filter((x) => x.config.labels?.['io.kubernetes.pod.name'] === 'hungry').length, 0);
  });

  it('stops and removes a deleted pod and leaves nothing behind', async () => {
    const p = (await getPod('after-bad'))!;
    const uid = p.metadata.uid;
    const t0 = Date.now();
    const deleting = await c.request('DELETE', `/api/v1/namespaces/${ns}/pods/after-bad`);
    // Graceful deletion: the server keeps the pod (deletionTimestamp = now + 30 s) for its agent.
    assert.equal(deleting.metadata.deletionGracePeriodSeconds, 30);
    assert.ok(deleting.metadata.deletionTimestamp);
    await until('pod gone', async () => !(await getPod('after-bad')));
    assert.ok(Date.now() - t0 < 10_000, 'deleted by the agent long before the grace period ends');
    const killed = rt.calls.find(
      (x) =>
        x.method === 'stopContainer' &&
        (x.req as { containerId: string }).containerId === p.status!.containerStatuses![0].containerID!.slice(7),
    );
    assert.equal((killed?.req as { timeout: number }).timeout, 30);
    await until(
      'runtime empty of pod',
      async () =>
        ![...rt.sandboxes.values()].some((s) => s.config.metadata?.uid === uid) &&
        ![...rt.containers.values()].some((x) => x.config.labels?.['io.kubernetes.pod.uid'] === uid),
    );
    assert.equal(existsSync(join(dir, 'agent', 'pods', uid)), false);
    assert.equal(existsSync(join(dir, 'logs', `default_after-bad_${uid}`)), false);
  });
});

// Admission (kubelet's predicate admit handler) on a second node with room for 2 pods, its own
// fake runtime (the first agent's PLEG must not see these pods' sandboxes).
describe('node agent admission (fake runtime, max 2 pods)', () => {
  const SMALL = `${NODE}-small`;
  let small: RunningAgent | undefined;
  let srt: FakeRuntime;
  const mk = (name: string, spec: Record<string, unknown> = {}) =>
    c.request<Pod>('POST', `/api/v1/namespaces/${ns}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { nodeName: SMALL, containers: [run('sleep 1000')], ...spec },
      },
    });
  const started = (name: string) =>
    srt.calls.filter(
      (x) =>
        (x.method === 'runPodSandbox' || x.method === 'createContainer') &&
        JSON.stringify(x.req).includes(`"io.kubernetes.pod.name":"${name}"`),
    ).length;

  const smallOpts = () => ({
    client: c,
    runtime: srt,
    nodeName: SMALL,
    nodeIP: '127.0.0.1',
    rootDir: join(dir, 'small'),
    podLogsDir: join(dir, 'small-logs'),
    memoryBackedSecrets: false,
    maxPods: 2,
    relistMs: 300,
    housekeepingMs: 300,
    nodeStatusMs: 300,
    log,
  });
  before(async () => {
    srt = new FakeRuntime();
    small = await startAgent(smallOpts());
  });
  after(async () => {
    await small?.stop();
  });

  it('rejects the pod beyond allocatable pods (OutOfpods) and admits one after a deletion', async () => {
    const node = await c.request('GET', `/api/v1/nodes/${SMALL}`);
    assert.equal(node.status.allocatable.pods, '2');
    // Created one after another: admission follows creation time (seconds; within one second
    // the name decides, and these names sort in creation order too).
    await mk('fit-a');
    await mk('fit-b');
    await mk('over');
    for (const n of ['fit-a', 'fit-b'])
      await until(`${n} running`, async () => (await getPod(n))?.status?.phase === 'Running');
    const over = await until('over rejected', async () => {
      const p = await getPod('over');
      return p?.status?.phase === 'Failed' && p;
    });
    assert.equal(over.status?.reason, 'OutOfpods');
    assert.equal(
      over.status?.message,
      "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2",
    );
    assert.equal(started('over'), 0, 'no sandbox or container for a rejected pod');
    const ev = await until('OutOfpods event', async () => (await events('over')).find((x) => x.reason === 'OutOfpods'));
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.message, "Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2");
    // A finished (Failed) pod holds no place: with fit-a deleted a new pod fits beside fit-b.
    await c.request('DELETE', `/api/v1/namespaces/${ns}/pods/fit-a`);
    await until('fit-a gone', async () => !(await getPod('fit-a')));
    await mk('later');
    await until('later running', async () => (await getPod('later'))?.status?.phase === 'Running');
    assert.equal((await getPod('over'))?.status?.phase, 'Failed', 'a rejected pod stays rejected');
  });

  it('rejects a pod whose cpu request exceeds what the admitted pods leave (OutOfcpu)', async () => {
    await c.request('DELETE', `/api/v1/namespaces/${ns}/pods/later`);
    await until('later gone', async () => !(await getPod('later')));
    const cpu = small!.ctx.node.allocatable.cpuMilli;
    await mk('greedy', { containers: [{ ...run('sleep 1000'), resources: { requests: { cpu: `${cpu + 1}m` } } }] });
    const p = await until('greedy rejected', async () => {
      const q = await getPod('greedy');
      return q?.status?.phase === 'Failed' && q;
    });
    assert.equal(p.status?.reason, 'OutOfcpu');
    assert.equal(
      p.status?.message,
      `Pod was rejected: Node didn't have enough resource: cpu, requested: ${cpu + 1}, used: 0, capacity: ${cpu}`,
    );
    assert.equal(started('greedy'), 0);
  });

  it('counts adopted pods as admitted after a restart', async () => {
    await mk('second');
    await until('second running', async () => (await getPod('second'))?.status?.phase === 'Running');
    const sandboxes = srt.count('runPodSandbox');
    await small!.stop();
    small = await startAgent(smallOpts());
    await mk('third');
    const p = await until('third rejected', async () => {
      const q = await getPod('third');
      return q?.status?.phase === 'Failed' && q;
    });
    assert.equal(
      p.status?.message,
      "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2",
    );
    for (const n of ['fit-b', 'second']) assert.equal((await getPod(n))?.status?.phase, 'Running', n);
    assert.equal(srt.count('runPodSandbox'), sandboxes, 'adopted pods are not started again');
    await c.request('DELETE', `/api/v1/namespaces/${ns}/pods/second`);
    await until('second gone', async () => !(await getPod('second')));
  });

  it('reports an address-less sandbox (IPAM exhausted) as FailedCreatePodSandBox', async () => {
    const real = srt.runPodSandbox.bind(srt);
    srt.runPodSandbox = async () => {
      throw new Error('no available IPv4 addresses on network skiff-pods (10.42.0.0/24)');
    };
    try {
      await mk('noaddr');
      const ev = await until('FailedCreatePodSandBox', async () =>
        (await events('noaddr')).find((x) => x.reason === 'FailedCreatePodSandBox'),
      );
      assert.equal(ev.type, 'Warning');
      assert.equal(
        ev.message,
        'Failed to create pod sandbox: no available IPv4 addresses on network skiff-pods (10.42.0.0/24)',
      );
      // The status is patched apart from the event: wait for it rather than race it.
      const p = await until('noaddr status', async () => {
        const q = await getPod('noaddr');
        return (q?.status?.containerStatuses?.length ?? 0) > 0 && q;
      });
      assert.equal(p.status?.phase, 'Pending');
      assert.equal(p.status?.containerStatuses?.[0]?.state.waiting?.reason, 'ContainerCreating');
    } finally {
      srt.runPodSandbox = real;
    }
  });
});
