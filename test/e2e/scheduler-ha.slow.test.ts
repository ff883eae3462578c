// Two `skiff server` processes on one etcd (sharing the cluster PKI) run exactly one active
// scheduler, elected through the kube-system/kube-scheduler Lease with the default timings
// (10 s / 7 s / 2 s): every pod is bound by the leader (the events' reportingInstance says who);
// when the leader is SIGKILLed the other takes the lease within 15 s of its death and binds the
// pods created after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';
import { sleep, startSkiffServer, suffix, type SkiffServer } from './kubectl-harness.js';

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler';

describe('two skiff servers on one etcd: one active scheduler', () => {
  let etcd: Etcd, a: SkiffServer, b: SkiffServer;
  const ns = `ha-sched-${suffix()}`;
  before(async () => {
    etcd = await startEtcd();
    a = await startSkiffServer('etcd', { etcd });
    b = await startSkiffServer('etcd', { etcd, pkiFrom: join(a.dir, 'pki') });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await etcd?.stop();
  });

  const json = async (s: SkiffServer, method: string, path: string, body?: unknown) => {
    const r = await s.request(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body}`);
    return JSON.parse(r.body);
  };
  const holder = async (s: SkiffServer): Promise<string> => (await json(s, 'GET', LEASE)).spec?.holderIdentity ?? '';
  const pidOf = (identity: string) => Number(identity.split('_')[1]);
  const pods = (s: SkiffServer, prefix: string, n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        json(s, 'POST', `/api/v1/namespaces/${ns}/pods`, {
          metadata: { name: `${prefix}-${i}` },
          spec: {
            containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m' } } }],
          },
        }),
      ),
    );
  async function allBound(s: SkiffServer, prefix: string, n: number, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      const list = await json(s, 'GET', `/api/v1/namespaces/${ns}/pods`);
      const bound = list.items.filter(
        (p: { metadata: { name: string }; spec: { nodeName?: string } }) =>
          p.metadata.name.startsWith(`${prefix}-`) && p.spec.nodeName,
      ).length;
      if (bound === n) return;
      if (Date.now() > end) throw new Error(`${bound}/${n} ${prefix} pods bound`);
      await sleep(200);
    }
  }
  const schedulingInstances = async (s: SkiffServer, prefix: string) => {
    const evs = await json(s, 'GET', `/api/v1/namespaces/${ns}/events`);
    return new Set(
      evs.items
        .filter(
          (e: { reason: string; involvedObject: { name: string } }) =>
            e.reason === 'Scheduled' && e.involvedObject.name.startsWith(`${prefix}-`),
        )
        .map((e: { reportingInstance: string }) => e.reportingInstance),
    );
  };

  it('binds through the leader only, and fails over within 15 s of its death', async () => {
    await json(a, 'POST', '/api/v1/namespaces', { metadata: { name: ns } });
    for (let i = 0; i < 3; i++)
      await json(b, 'POST', '/api/v1/nodes', {
        metadata: { name: `${ns}-n${i}`, labels: { 'kubernetes.io/hostname': `${ns}-n${i}` } },
        status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } },
      });
    let leader = '';
    for (let i = 0; i < 100 && !leader; i++) {
      leader = await holder(a);
      if (!leader) await sleep(100);
    }
    const byPid = new Map([
      [a.proc.pid, a],
      [b.proc.pid, b],
    ]);
    const first = byPid.get(pidOf(leader));
    assert.ok(first, `lease holder ${leader} is one of the two servers (${a.proc.pid}, ${b.proc.pid})`);
    const second = first === a ? b : a;
    await pods(second, 'before', 10);
    await allBound(second, 'before', 10);
    await sleep(500); // events are written in the background
    assert.deepEqual([...(await schedulingInstances(second, 'before'))], [leader], 'only the leader binds');

    // Death of the leader: no release, no renewals.
    const died = Date.now();
    await first.kill();
    let next = '';
    while (!next || next === leader) {
      next = await holder(second);
      if (Date.now() - died > 20_000) throw new Error(`no takeover 20 s after the leader died (holder ${next})`);
      await sleep(100);
    }
    const took = (Date.now() - died) / 1000;
    assert.equal(pidOf(next), second.proc.pid);
    assert.ok(took <= 15.5, `took over ${took.toFixed(1)} s after the leader's death`);
    process.stderr.write(`scheduler failover: ${took.toFixed(1)} s after SIGKILL of the leader\n`);
    await pods(second, 'after', 10);
    await allBound(second, 'after', 10);
    await sleep(500);
    assert.deepEqual([...(await schedulingInstances(second, 'after'))], [next]);
  });
});
