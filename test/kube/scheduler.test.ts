// The scheduler inside a real `startServer` (memory store, HTTPS), with simulated nodes (Node
// objects): binding through pods/binding, the Unschedulable condition and FailedScheduling event
// as the real `kubectl describe` prints them, a retry on a cluster event (a node added),
// preemption by PriorityClass (victims gone, nominatedNodeName, then bound), preemptionPolicy
// Never, pods for another scheduler left alone, and a local PV bound for a WaitForFirstConsumer
// claim. Each test uses its own nodes (a `pool` label) and pods that select them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient, watchEvents } from '../../src/kube/client/index.js';
import { createLogger } from '../../src/common/index.js';

const KUBECTL = '/usr/bin/kubectl';
let srv: RunningServer, c: KubeClient, dir: string;
const ns = `sched-${Math.random().toString(36).slice(2, 7)}`;
const PODS = `/api/v1/namespaces/${ns}/pods`;

before(async () => {
  if (!existsSync(KUBECTL)) throw new Error(`kubectl 1.32 is required at ${KUBECTL}`);
  dir = mkdtempSync(join(tmpdir(), 'skiff-sched-'));
  srv = await startServer({
    dataDir: dir,
    httpsListen: '127.0.0.1:0',
    datastore: 'memory://',
    log: createLogger({}, { level: (process.env.SKIFF_LOG as never) ?? 'warn' }),
  });
  const kc = parse(readFileSync(srv.kubeconfigPath, 'utf8'));
  const b = (s: string) => Buffer.from(s, 'base64').toString();
  c = new KubeClient({
    server: srv.url,
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  });
  await c.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
  // ServiceAccount admission refuses pods until the namespace's `default` account exists (as upstream).
  await until('the default ServiceAccount', () =>
    c.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`).then(
      () => true,
      () => false,
    ),
  );
});
after(async () => {
  c?.close();
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
function kubectl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      KUBECTL,
      ['--kubeconfig', srv.kubeconfigPath, '--cache-dir', join(dir, 'kube-cache'), ...args],
      { env: { ...process.env, HOME: dir }, timeout: 30_000 },
      (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out)),
    ),
  );
}

async function addNode(name: string, labels: Record<string, string>, o: { cpu?: string; taints?: object[] } = {}) {
  const cap = { cpu: o.cpu ?? '2', memory: '4Gi', pods: '110' };
  await c.request('POST', '/api/v1/nodes', {
    body: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
      spec: { taints: o.taints },
      status: { capacity: cap, allocatable: cap, conditions: [{ type: 'Ready', status: 'True' }] },
    },
  });
}
async function addPod(name: string, pool: string, spec: Record<string, unknown> = {}, cpu = '500m') {
  return c.request('POST', PODS, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        nodeSelector: { pool },
        containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu } } }],
        ...spec,
      },
    },
  });
}
const getPod = (name: string) => c.request('GET', `${PODS}/${name}`);
const boundTo = (name: string) => until(`${name} bound`, async () => (await getPod(name)).spec.nodeName as string);
const podScheduled = async (name: string) =>
  ((await getPod(name)).status?.conditions ?? []).find((x: { type: string }) => x.type === 'PodScheduled');
const events = async (name: string) =>
  (await c.request('GET', `/api/v1/namespaces/${ns}/events`)).items.filter(
    (e: { involvedObject: { name: string } }) => e.involvedObject.name === name,
  );

test('a pod that fits nowhere says why (condition, event, kubectl describe) and is retried when a node is added', async () => {
  const taint = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
  await addNode('why-1', { pool: 'why' });
  await addNode('why-2', { pool: 'why' }, { taints: taint });
  await addNode('why-3', { pool: 'why' }, { taints: taint });
  await addPod('big', 'why', {}, '3');
  const msg =
    '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}. ' +
    'preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.';
  // (This test runs first: its three nodes are the cluster, as in the example.)
  const cond = await until('PodScheduled=False', async () => {
    const x = await podScheduled('big');
    return x?.status === 'False' ? x : undefined;
  });
  assert.equal(cond.reason, 'Unschedulable');
  assert.equal(cond.message, msg);
  const describe = await until('FailedScheduling in describe', async () => {
    const out = await kubectl(['describe', 'pod', 'big', '-n', ns]);
    return /FailedScheduling/.test(out) ? out : undefined;
  });
  assert.match(describe, /PodScheduled\s+False/);
  assert.match(
    describe,
    /Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0\/3 nodes are available: 1 Insufficient cpu, 2 node\(s\) had untolerated taint \{dedicated: gpu\}/,
  );
  // A node that fits arrives: the pod is moved out of the unschedulable pods and bound.
  await addNode('why-4', { pool: 'why' }, { cpu: '8' });
  assert.equal(await boundTo('big'), 'why-4');
});

test('binds a pod that fits and records Scheduled', async () => {
  await addNode('fit-1', { pool: 'fit' });
  await addPod('fits', 'fit');
  assert.equal(await boundTo('fits'), 'fit-1');
  const cond = await podScheduled('fits');
  assert.equal(cond.status, 'True');
  const ev = await until('Scheduled event', async () =>
    (await events('fits')).find((e: { reason: string }) => e.reason === 'Scheduled'),
  );
  assert.equal(ev.message, `Successfully assigned ${ns}/fits to fit-1`);
  assert.equal(ev.source.component, 'default-scheduler');
});

test('preemption: a higher PriorityClass evicts lower-priority pods, is nominated, then bound', async () => {
  await c.request('POST', '/apis/scheduling.k8s.io/v1/priorityclasses', {
    body: { metadata: { name: `${ns}-high` }, value: 1000 },
  });
  // Priority admission sets preemptionPolicy from the class (a pod may not name another one).
  await c.request('POST', '/apis/scheduling.k8s.io/v1/priorityclasses', {
    body: { metadata: { name: `${ns}-high-polite` }, value: 1000, preemptionPolicy: 'Never' },
  });
  await addNode('pre-1', { pool: 'pre' });
  // No node agent runs here to finish a graceful deletion: the victims go at once (grace 0).
  await addPod('low-1', 'pre', { terminationGracePeriodSeconds: 0 }, '1');
  await addPod('low-2', 'pre', { terminationGracePeriodSeconds: 0 }, '1');
  await boundTo('low-1');
  await boundTo('low-2');
  // preemptionPolicy Never: it waits, and says so.
  await addPod('polite', 'pre', { priorityClassName: `${ns}-high-polite` }, '2');
  const polite = await until('polite unschedulable', async () => {
    const x = await podScheduled('polite');
    return x?.status === 'False' ? x : undefined;
  });
  assert.match(polite.message, /preemption: not eligible due to preemptionPolicy=Never\.$/);
  await c.request('DELETE', `${PODS}/polite`);
  // The preemptor: both low pods must go (2 cpu on a 2-cpu node). Its updates are watched to see
  // the nomination, which lasts only until the victims are gone.
  const ac = new AbortController();
  const seen: { nominated?: string; node?: string }[] = [];
  const watching = (async () => {
    for await (const ev of watchEvents(c, PODS, { fieldSelector: 'metadata.name=vip' }, ac.signal)) {
      const o = ev.object as { spec?: { nodeName?: string }; status?: { nominatedNodeName?: string } };
      seen.push({ nominated: o.status?.nominatedNodeName, node: o.spec?.nodeName });
    }
  })().catch(() => undefined);
  await sleep(100);
  await addPod('vip', 'pre', { priorityClassName: `${ns}-high` }, '2');
  assert.equal(await boundTo('vip'), 'pre-1');
  ac.abort();
  await watching;
  assert.ok(
    seen.some((x) => x.nominated === 'pre-1' && !x.node),
    `nominatedNodeName never seen before binding: ${JSON.stringify(seen)}`,
  );
  for (const v of ['low-1', 'low-2']) {
    await until(`${v} deleted`, async () => {
      try {
        await getPod(v);
        return false;
      } catch (e) {
        return (e as { code?: string }).code === 'NotFound';
      }
    });
    const ev = await until(`${v} Preempted`, async () =>
      (await events(v)).find((e: { reason: string }) => e.reason === 'Preempted'),
    );
    assert.match(ev.message, /^Preempted by pod [0-9a-f-]+ on node pre-1$/);
  }
  const vipEvents = await events('vip');
  assert.ok(vipEvents.some((e: { reason: string }) => e.reason === 'Scheduled'));
});

test('pods for another scheduler are left alone', async () => {
  await addNode('other-1', { pool: 'other' });
  await addPod('foreign', 'other', { schedulerName: 'someone-else' });
  await addPod('mine', 'other');
  await boundTo('mine');
  await sleep(300);
  const p = await getPod('foreign');
  assert.equal(p.spec.nodeName, undefined);
  assert.equal(p.status.conditions, undefined);
  assert.deepEqual(await events('foreign'), []);
});

test('VolumeBinding: a WaitForFirstConsumer claim is bound to the local PV of the node the pod goes to', async () => {
  await addNode('vol-1', { pool: 'vol' });
  await addNode('vol-2', { pool: 'vol' });
  await c.request('POST', '/apis/storage.k8s.io/v1/storageclasses', {
    body: {
      metadata: { name: `${ns}-local` },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
    },
  });
  const pv = `${ns}-pv`;
  await c.request('POST', '/api/v1/persistentvolumes', {
    body: {
      metadata: { name: pv },
      spec: {
        capacity: { storage: '5Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: `${ns}-local`,
        local: { path: '/mnt/disk1' },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['vol-2'] }] },
            ],
          },
        },
      },
    },
  });
  // What the PV controller does for a new volume.
  await c.request('PATCH', `/api/v1/persistentvolumes/${pv}/status`, {
    body: { status: { phase: 'Available' } },
    contentType: 'application/merge-patch+json',
  });
  await c.request('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    body: {
      metadata: { name: 'data' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: `${ns}-local`,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
  await addPod('db', 'vol', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] });
  assert.equal(await boundTo('db'), 'vol-2');
  const claim = await c.request('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/data`);
  assert.equal(claim.spec.volumeName, pv);
  assert.equal(claim.status.phase, 'Bound');
  const vol = await c.request('GET', `/api/v1/persistentvolumes/${pv}`);
  assert.equal(vol.spec.claimRef.name, 'data');
  assert.equal(vol.spec.claimRef.namespace, ns);
  assert.equal(vol.status.phase, 'Bound');
});

test('pods/binding answers as upstream: 201 Success, then 409 once assigned; name and UID checked', async () => {
  // Watches from the current revision (so they see everything after it however late they connect):
  // one by name, one by the node the binding sets — the server hands watchers the objects its
  // create and binding wrote (Registry.remember) and must still tell ADDED from MODIFIED.
  const from = (await c.request('GET', PODS, { query: { limit: 1 } })).metadata.resourceVersion as string;
  type Ev = { type: string; object: { spec?: { nodeName?: string }; metadata: Record<string, unknown> } };
  const ac = new AbortController();
  const byName: Ev[] = [],
    byNode: Ev[] = [];
  const collect = async (fieldSelector: string, into: Ev[]) => {
    for await (const ev of watchEvents(c, PODS, { fieldSelector, resourceVersion: from }, ac.signal))
      into.push(ev as unknown as Ev);
  };
  const watching = [
    collect('metadata.name=manual', byName).catch(() => undefined),
    collect('spec.nodeName=hand-picked', byNode).catch(() => undefined),
  ];
  await c.request('POST', PODS, {
    body: { metadata: { name: 'manual' }, spec: { schedulerName: 'nobody', containers: [{ name: 'c', image: 'x' }] } },
  });
  const pod = await getPod('manual');
  const bind = (body: object) => c.request('POST', `${PODS}/manual/binding`, { body });
  const err = async (body: object) => {
    try {
      await bind(body);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };
  assert.equal(
    await err({ metadata: { name: 'other' }, target: { kind: 'Node', name: 'x' } }),
    'name in URL does not match name in Binding object',
  );
  assert.match(
    await err({ metadata: { name: 'manual', uid: 'wrong' }, target: { name: 'x' } }),
    /Precondition failed: UID in precondition: wrong, UID in object meta: /,
  );
  const ok = await bind({
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: 'manual', uid: pod.metadata.uid, annotations: { 'example.com/by': 'test' } },
    target: { apiVersion: 'v1', kind: 'Node', name: 'hand-picked' },
  });
  assert.equal(ok.status, 'Success');
  const bound = await getPod('manual');
  assert.equal(bound.spec.nodeName, 'hand-picked');
  assert.equal(bound.metadata.annotations['example.com/by'], 'test');
  assert.equal(bound.status.conditions.find((x: { type: string }) => x.type === 'PodScheduled').status, 'True');
  assert.equal(
    await err({ metadata: { name: 'manual' }, target: { name: 'elsewhere' } }),
    'Operation cannot be fulfilled on pods/binding "manual": pod manual is already assigned to node "hand-picked"',
  );
  await until('both watches saw the binding', async () => byName.length >= 2 && byNode.length >= 1);
  ac.abort();
  await Promise.all(watching);
  assert.deepEqual(
    byName.map((e) => [e.type, e.object.spec?.nodeName]),
    [
      ['ADDED', undefined],
      ['MODIFIED', 'hand-picked'],
    ],
  );
  assert.deepEqual(
    byNode.map((e) => [e.type, e.object.spec?.nodeName]),
    [['ADDED', 'hand-picked']],
  );
  // The events carry what a GET reads from the store, revision for revision.
  assert.equal(byName[0].object.metadata.resourceVersion, pod.metadata.resourceVersion);
  assert.deepEqual(byName[1].object, bound);
  assert.deepEqual(byNode[0].object, bound);
});
