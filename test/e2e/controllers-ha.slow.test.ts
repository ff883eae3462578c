// Two `skiff server` processes on one etcd (sharing the cluster PKI) run exactly one active
// controller set, elected through the kube-system/kube-controller-manager Lease with the default
// timings (10 s / 7 s / 2 s): a ReplicaSet gets exactly its replicas (never more pods, watched
// all along); when the leader is SIGKILLed (no release) the other takes the lease within 15 s of
// its death and completes a scale-up without duplicating a pod. Simulated nodes act as kubelets.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Informer, KubeClient } from '../../src/kube/client/index.js';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';
import { SimNodes } from '../fixtures/sim-nodes.js';
import { sleep, startSkiffServer, suffix, type SkiffServer } from './kubectl-harness.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';

describe('two skiff servers on one etcd: one active controller set', () => {
  let etcd: Etcd, a: SkiffServer, b: SkiffServer;
  const ns = `ha-ctl-${suffix()}`;
  const RS = `/apis/apps/v1/namespaces/${ns}/replicasets`;
  const clients: KubeClient[] = [];
  let sim: SimNodes | undefined;
  before(async () => {
    etcd = await startEtcd();
    a = await startSkiffServer('etcd', { etcd });
    b = await startSkiffServer('etcd', { etcd, pkiFrom: join(a.dir, 'pki') });
  });
  after(async () => {
    sim?.stop();
    for (const c of clients) c.close();
    await b?.stop();
    await a?.stop();
    await etcd?.stop();
  });

  const clientOf = (s: SkiffServer) => {
    const { server, ca, cert, key } = s.creds;
    const c = new KubeClient({ server, ca, cert, key });
    clients.push(c);
    return c;
  };
  const pidOf = (identity: string) => Number(identity.split('_')[1]);
  async function until(what: string, f: () => Promise<boolean> | boolean, ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!(await f())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  it('acts through the leader only, and fails over within 15 s of its death', async () => {
    const ca = clientOf(a);
    const holder = async (c: KubeClient) =>
      ((await c.request('GET', `${LEASES}/kube-controller-manager`)).spec?.holderIdentity as string) ?? '';
    let leader = '';
    await until('a controller-manager lease holder', async () => !!(leader = await holder(ca).catch(() => '')), 15_000);
    const byPid = new Map([
      [a.proc.pid, a],
      [b.proc.pid, b],
    ]);
    const first = byPid.get(pidOf(leader));
    assert.ok(first, `lease holder ${leader} is one of the two servers (${a.proc.pid}, ${b.proc.pid})`);
    const second = first === a ? b : a;
    const c = second === a ? ca : clientOf(second);

    await c.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
    let maxPods = 0;
    const pods = new Informer<{ metadata: { name: string } }>(
      c,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      { add: () => void (maxPods = Math.max(maxPods, pods.list().length)) },
      { namespace: ns },
    );
    await pods.start();
    try {
      sim = new SimNodes(c, { nodes: [`${ns}-n0`, `${ns}-n1`], bind: false, namespace: ns });
      await sim.start();
      const running = async (n: number) => {
        const list = await c.request('GET', `/api/v1/namespaces/${ns}/pods`);
        return list.items.length === n && list.items.every((p: any) => p.status?.phase === 'Running');
      };
      const labels = { app: 'web' };
      await c.request('POST', RS, {
        body: {
          metadata: { name: 'web' },
          spec: {
            replicas: 5,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
            },
          },
        },
      });
      await until('5 pods running', () => running(5), 30_000);
      await sleep(1000);
      assert.equal(maxPods, 5, 'never more pods than replicas');

      // Death of the leader: no release, no renewals.
      const died = Date.now();
      await first.kill();
      let next = '';
      await until(
        'the other server takes the lease',
        async () => {
          next = await holder(c).catch(() => '');
          return !!next && next !== leader;
        },
        20_000,
      );
      const took = (Date.now() - died) / 1000;
      assert.equal(pidOf(next), second.proc.pid);
      assert.ok(took <= 15.5, `took over ${took.toFixed(1)} s after the leader's death`);
      process.stderr.write(`controller manager failover: ${took.toFixed(1)} s after SIGKILL of the leader\n`);
      await c.request('PATCH', `${RS}/web/scale`, {
        body: { spec: { replicas: 8 } },
        contentType: 'application/merge-patch+json',
      });
      // The scheduler may have died with the leader too: its takeover takes up to 15 s as well.
      await until('8 pods running', () => running(8), 30_000);
      await sleep(1000);
      assert.equal(maxPods, 8, 'the new leader added 3 pods to the 5, no more');
    } finally {
      pods.stop();
    }
  });
});
