// Two `startServer` compositions (API server, scheduler and controller manager each) on one real
// etcd, sharing the cluster PKI as HA servers do, with the default lease timings (10 s / 7 s /
// 2 s): exactly one holds each of the kube-scheduler and kube-controller-manager Leases and only
// that one runs its loops; a ReplicaSet is handled once (never more pods than replicas, sampled
// all along); when the leader is closed (its leases released) the other takes both over and a
// scale-up completes. The takeover after a leader's death without release (SIGKILL, the full
// lease duration) is test/e2e/controllers-ha.slow.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { Informer, KubeClient } from '../../src/kube/client/index.js';
import { createLogger } from '../../src/common/index.js';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';
import { SimNodes } from '../fixtures/sim-nodes.js';
import { until } from '../fixtures/kube-api.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';
const ns = `ha-ctl-${Math.random().toString(36).slice(2, 7)}`;
const RS = `/apis/apps/v1/namespaces/${ns}/replicasets`;
let etcd: Etcd, dir: string;
const servers: RunningServer[] = [];
const clients: KubeClient[] = [];
let sim: SimNodes | undefined;

function adminClient(srv: RunningServer): KubeClient {
  const kc = parse(readFileSync(srv.kubeconfigPath, 'utf8'));
  const b = (s: string) => Buffer.from(s, 'base64').toString();
  const c = new KubeClient({
    server: srv.url,
    ca: b(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b(kc.users[0].user['client-certificate-data']),
    key: b(kc.users[0].user['client-key-data']),
  });
  clients.push(c);
  return c;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-ctl-ha-'));
  etcd = await startEtcd();
  const log = createLogger({}, { level: (process.env.SKIFF_LOG as never) ?? 'warn' });
  const start = (name: string) =>
    startServer({
      dataDir: join(dir, name),
      httpsListen: '127.0.0.1:0',
      datastore: `etcd://${etcd.endpoint}`,
      log: log.child({ server: name }),
    });
  servers.push(await start('a'));
  cpSync(join(dir, 'a', 'pki'), join(dir, 'b', 'pki'), { recursive: true });
  servers.push(await start('b'));
});
after(async () => {
  sim?.stop();
  for (const c of clients) c.close();
  for (const s of servers) await s.close();
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('two servers on one etcd: one active scheduler and controller set', () => {
  it('elects one of each, handles a ReplicaSet once, and hands over to the other', async () => {
    const [a, b] = servers;
    const managers = [await a.controllers(), await b.controllers()];
    const schedulers = [await a.scheduler(), await b.scheduler()];
    assert.ok(managers.every(Boolean) && schedulers.every(Boolean));
    const active = () => managers.map((m) => m?.active !== undefined);
    await until('a controller manager leads', () => active().includes(true), 15_000);
    await until('a scheduler leads', () => schedulers.some((s) => s?.active), 15_000);
    const lead = active().indexOf(true);
    const ctl = adminClient(servers[1 - lead]); // the test talks to the follower's API server
    const holder = async (name: string) =>
      (await ctl.request('GET', `${LEASES}/${name}`)).spec?.holderIdentity as string | undefined;
    assert.equal(await holder('kube-controller-manager'), managers[lead]!.identity);
    const leading = schedulers.filter((s) => s?.active);
    assert.equal(leading.length, 1, 'one active scheduler');
    assert.equal(await holder('kube-scheduler'), leading[0]!.elector.leader);
    assert.equal(active().filter(Boolean).length, 1, 'one active controller set');

    // Never two active sets, sampled for the whole test.
    let both = 0;
    const sampler = setInterval(() => {
      if (active().every(Boolean) || schedulers.every((s) => s?.active)) both++;
    }, 20);
    // Pods watched from the start: the most ever present at once.
    let maxPods = 0;
    const pods = new Informer<{ metadata: { name: string } }>(
      ctl,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      {
        add: () => {
          maxPods = Math.max(maxPods, pods.list().length);
        },
      },
      { namespace: ns },
    );
    try {
      await ctl.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
      await pods.start();
      // Simulated nodes acting as kubelets (the scheduler binds; they run what is bound to them).
      sim = new SimNodes(ctl, { nodes: [`${ns}-n0`, `${ns}-n1`, `${ns}-n2`], bind: false, namespace: ns });
      await sim.start();
      const running = async (n: number) => {
        const list = await ctl.request('GET', `/api/v1/namespaces/${ns}/pods`);
        return list.items.length === n && list.items.every((p: any) => p.status?.phase === 'Running');
      };
      const labels = { app: 'web' };
      await ctl.request('POST', RS, {
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
      await until('5 pods running', () => running(5), 20_000);
      await until(
        'status counts them',
        async () => (await ctl.request('GET', `${RS}/web`)).status?.readyReplicas === 5,
      );
      assert.equal(maxPods, 5, 'never more pods than replicas (one controller set acted)');
      // Events are written in the background: wait for the five, then check there are no more.
      const creates = async () =>
        (await ctl.request('GET', `/api/v1/namespaces/${ns}/events`)).items.filter(
          (e: any) => e.reason === 'SuccessfulCreate' && e.involvedObject.name === 'web',
        ).length as number;
      // 20 s: a write that is never answered is abandoned after its 10 s deadline and sent again
      // 0.5 s later (shared/events.ts), with the writes queued behind it following.
      await until('5 SuccessfulCreate events', async () => (await creates()) >= 5, 20_000).catch(async (e) => {
        // What to know if this times out again: whether a term ended (events queued by a deposed
        // set are dropped, and the new set has nothing left to create) and which events exist.
        const evs = (await ctl.request('GET', `/api/v1/namespaces/${ns}/events`)).items.map(
          (x: any) => `${x.reason}/${x.involvedObject.name}@${x.firstTimestamp}`,
        );
        const lease = (await ctl.request('GET', `${LEASES}/kube-controller-manager`)).spec;
        throw new Error(
          `${e.message}; terms begun per server: ${managers.map((m) => m!.terms)}, active: ${active()}, ` +
            `lease: ${JSON.stringify(lease)}, events: ${evs.join(' ')}`,
        );
      });
      assert.equal(await creates(), 5, 'one SuccessfulCreate per pod');

      // The leader goes (closed: its leases are released); the follower takes over both.
      const t0 = Date.now();
      await servers[lead].close();
      servers.splice(lead, 1);
      const follower = managers[1 - lead]!;
      await until('the follower leads the controllers', () => follower.active !== undefined, 15_000);
      const took = Date.now() - t0;
      assert.ok(took < 15_000, `takeover took ${took} ms`);
      process.stderr.write(`controller manager takeover after the leader closed: ${took} ms\n`);
      assert.equal(await holder('kube-controller-manager'), follower.identity);
      await until('the follower schedules', () => schedulers[1 - lead]?.active !== undefined, 15_000);
      await ctl.request('PATCH', `${RS}/web/scale`, {
        body: { spec: { replicas: 8 } },
        contentType: 'application/merge-patch+json',
      });
      await until('8 pods running', () => running(8), 20_000);
      assert.equal(maxPods, 8, 'the new leader adopted the 5 and added 3, no more');
      assert.equal(both, 0, 'two active sets were seen at once');
    } finally {
      clearInterval(sampler);
      pods.stop();
    }
  });
});
