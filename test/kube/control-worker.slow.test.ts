// The scheduler and the controllers in worker threads (`startServer({ workers: true })`, what
// `skiff server` runs): two servers on one real etcd, each with its two worker threads. Exactly
// one scheduler worker holds the kube-scheduler Lease and binds a pod; a crash of that worker
// (its thread terminated) is reported (error, restart count) and the thread is started again with
// the same identity, so it takes its own Lease back at once — the other server's scheduler never
// leads meanwhile (sampled all along) — and the next pod is bound; a clean close releases the
// Lease and the other server's scheduler takes over.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { createLogger } from '../../src/common/index.js';
import { startEtcd, type Etcd } from '../fixtures/etcd.js';
import { until } from '../fixtures/kube-api.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';
const ns = `ctl-worker-${Math.random().toString(36).slice(2, 7)}`;
let etcd: Etcd, dir: string;
const servers: RunningServer[] = [];
const clients: KubeClient[] = [];
const lines: string[] = [];

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
  dir = mkdtempSync(join(tmpdir(), 'skiff-ctl-worker-'));
  etcd = await startEtcd();
  // The main thread's log lines (the workers' crash reports go through it).
  const log = createLogger({}, { level: 'warn', write: (l) => lines.push(l) });
  const start = (name: string) =>
    startServer({
      dataDir: join(dir, name),
      httpsListen: '127.0.0.1:0',
      datastore: `etcd://${etcd.endpoint}`,
      workers: true,
      log: log.child({ server: name }),
    });
  servers.push(await start('a'));
  cpSync(join(dir, 'a', 'pki'), join(dir, 'b', 'pki'), { recursive: true });
  servers.push(await start('b'));
});
after(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.close();
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('scheduler and controllers in worker threads', () => {
  it('one leads and binds; a crashed worker is reported and restarted; the other takes over on close', async () => {
    const workers = servers.map((s) => s.workers.scheduler!);
    assert.ok(workers.every(Boolean) && servers.every((s) => s.workers.controllers));
    assert.equal(await servers[0].scheduler(), undefined, 'no in-thread scheduler beside the worker');
    await until('a scheduler worker leads', () => workers.some((w) => w.leading), 20_000);
    const lead = workers.findIndex((w) => w.leading);
    const other = 1 - lead;
    const ctl = adminClient(servers[other]);
    const holder = async () => (await ctl.request('GET', `${LEASES}/kube-scheduler`)).spec?.holderIdentity;
    assert.equal(await holder(), workers[lead].identity);
    let both = 0;
    const sampler = setInterval(() => {
      if (workers.every((w) => w.leading)) both++;
    }, 20);
    try {
      await ctl.request('POST', '/api/v1/namespaces', { body: { metadata: { name: ns } } });
      await ctl.request('POST', '/api/v1/nodes', {
        body: {
          metadata: { name: `${ns}-n0`, labels: { 'kubernetes.io/hostname': `${ns}-n0` } },
          status: {
            capacity: { pods: '110', cpu: '4', memory: '32Gi' },
            allocatable: { pods: '110', cpu: '4', memory: '32Gi' },
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        },
      });
      const bound = async (name: string) => {
        await ctl.request('POST', `/api/v1/namespaces/${ns}/pods`, {
          body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } },
        });
        await until(
          `${name} bound`,
          async () => (await ctl.request('GET', `/api/v1/namespaces/${ns}/pods/${name}`)).spec.nodeName === `${ns}-n0`,
          20_000,
        );
      };
      await bound('p0');

      // A crash: the thread ends without stopping its role (no Lease release).
      await workers[lead].crash();
      await until('the crashed worker restarted', () => workers[lead].restarts === 1, 10_000);
      assert.match(workers[lead].lastError ?? '', /exit code/);
      assert.ok(
        lines.some((l) => /scheduler worker thread died/.test(l)),
        lines.join('\n'),
      );
      // The same identity renews its own Lease at once (well before the 15 s expiry).
      await until('the restarted worker leads again', () => workers[lead].leading, 10_000);
      assert.equal(await holder(), workers[lead].identity);
      await bound('p1');
      assert.equal(workers[other].leading, false);

      // A clean close releases the Lease: the other scheduler takes over and binds.
      await servers[lead].close();
      servers.splice(lead, 1);
      await until('the other scheduler leads', () => workers[other].leading, 20_000);
      assert.equal(await holder(), workers[other].identity);
      await bound('p2');
      assert.equal(both, 0, 'never two leading schedulers');
    } finally {
      clearInterval(sampler);
    }
  });
});
