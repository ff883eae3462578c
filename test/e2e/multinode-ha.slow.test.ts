// HA servers on test hosts: etcd on one host, two `skiff server --datastore etcd://…` on two others
// (sharing the cluster PKI and the join token, as HA servers must), an agent on a fourth. Both
// servers serve the API; one leads the scheduler. SIGKILL of the leading server: the other takes
// the lead and a Deployment scaled through it gets its new pods scheduled and running; the time
// from the kill is measured and printed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHosts, waitFor, type HostProcess, type TestHost, type TestHosts } from '../fixtures/hosts.js';
import { KUBECTL } from './kubectl-harness.js';

const ETCD = '/usr/bin/etcd';
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('multinode HA: two servers on one etcd, the leader killed', () => {
  let run: TestHosts, etcdHost: TestHost, srvHosts: TestHost[], agentHost: TestHost;
  const servers: { host: TestHost; proc: HostProcess; dir: string }[] = [];
  const kubectl = (kubeconfig: string, args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        KUBECTL,
        ['--kubeconfig', kubeconfig, '--request-timeout', '10s', ...args],
        { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HOME: run.dir } },
        (err, stdout, stderr) =>
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            stdout,
            stderr: stderr || (err?.message ?? ''),
          }),
      );
    });
  const json = async <T = any>(kc: string, args: string[]): Promise<T> => {
    const r = await kubectl(kc, [...args, '-o', 'json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as T;
  };
  const kc = (i: number) => join(servers[i].dir, 'kubeconfig.yaml');
  const logs = () =>
    run.hosts.flatMap((h) => h.procs.map((p) => `--- ${h.name} ${p.name}\n${p.log().slice(-2500)}`)).join('\n');
  const fail = (e: unknown) => {
    throw new Error(`${e}\n${logs()}`);
  };

  before(async () => {
    assert.ok(existsSync(ETCD), `${ETCD} is needed`);
    run = await createHosts(4);
    [etcdHost, ...srvHosts] = run.hosts;
    agentHost = srvHosts.pop()!;
    const e = etcdHost.ip;
    etcdHost.spawn('etcd', ETCD, [
      '--name',
      'e1',
      '--data-dir',
      join(etcdHost.dir, 'etcd'),
      '--listen-client-urls',
      `http://${e}:2379`,
      '--advertise-client-urls',
      `http://${e}:2379`,
      '--listen-peer-urls',
      `http://${e}:2380`,
      '--initial-advertise-peer-urls',
      `http://${e}:2380`,
      '--initial-cluster',
      `e1=http://${e}:2380`,
    ]);
    await waitFor('etcd healthy', async () => (await fetch(`http://${e}:2379/health`)).ok, 30_000).catch(fail);
    for (const [i, h] of srvHosts.entries()) {
      const dir = join(h.dir, 'server');
      if (i > 0) {
        // HA servers share the cluster PKI and the join token (k3s: the server token does this).
        cpSync(join(servers[0].dir, 'pki'), join(dir, 'pki'), { recursive: true });
        cpSync(join(servers[0].dir, 'node-token'), join(dir, 'node-token'));
      }
      const proc = h.skiff('server', [
        'server',
        '--data-dir',
        dir,
        '--https-listen',
        `${h.ip}:6443`,
        '--datastore',
        `etcd://${e}:2379`,
      ]);
      servers.push({ host: h, proc, dir });
      await waitFor(
        `server ${i} ready`,
        () => existsSync(join(dir, 'node-token')) && proc.log().includes('ready at'),
        60_000,
      ).catch(fail);
    }
  });

  after(async () => {
    if (!run) return;
    await run.cleanup();
    assert.deepEqual(await run.leaks(), []);
  });

  it('both serve the API; one leads; SIGKILL of the leader: the other leads and a Deployment scales', async () => {
    // Both answer, on one cluster.
    assert.equal((await kubectl(kc(0), ['create', 'configmap', 'from-a', '--from-literal=k=v'])).code, 0);
    const cm = await json(kc(1), ['get', 'configmap', 'from-a']);
    assert.equal(cm.data.k, 'v');
    const lease = () => json(kc(1), ['get', 'lease', '-n', 'kube-system', 'kube-scheduler']).catch(() => undefined);
    const holder = await waitFor(
      'a scheduler leader',
      async () => (await lease())?.spec?.holderIdentity as string,
      30_000,
    );
    const leaderIdx = servers.findIndex((s) => holder.includes(`_${s.proc.pid}_`));
    assert.ok(leaderIdx >= 0, `the holder ${holder} is one of the servers (${servers.map((s) => s.proc.pid)})`);
    const survivor = 1 - leaderIdx;
    // The agent joins through the server that stays (agents name one server; k3s puts a load balancer there).
    const token = readFileSync(join(servers[survivor].dir, 'node-token'), 'utf8').trim();
    agentHost.skiff('agent', [
      'agent',
      '--server',
      `https://${servers[survivor].host.ip}:6443`,
      '--token',
      token,
      '--node-name',
      agentHost.name,
      '--node-ip',
      agentHost.ip,
      '--data-dir',
      join(agentHost.dir, 'agent'),
      '--cgroup-parent',
      `${agentHost.cgroup}/engine`,
      '--cgroup-root',
      `${agentHost.cgroup}/kubepods`,
    ]);
    const K = kc(survivor);
    await waitFor(
      'the agent Ready',
      async () =>
        (await json(K, ['get', 'node', agentHost.name])).status?.conditions?.some(
          (c: any) => c.type === 'Ready' && c.status === 'True',
        ),
      90_000,
    ).catch(fail);
    const dep = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'c', image: 'busybox:latest', imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
          },
        },
      },
    };
    const r = await new Promise<Run>((resolve) => {
      const p = execFile(
        KUBECTL,
        ['--kubeconfig', K, 'apply', '-f', '-'],
        { encoding: 'utf8', env: { ...process.env, HOME: run.dir } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
      p.stdin?.end(JSON.stringify(dep));
    });
    assert.equal(r.code, 0, r.stderr);
    const ready = (n: number) => async () => (await json(K, ['get', 'deployment', 'web'])).status?.readyReplicas === n;
    await waitFor('1 replica ready', ready(1), 90_000).catch(fail);

    const t0 = Date.now();
    servers[leaderIdx].proc.child.kill('SIGKILL');
    await servers[leaderIdx].proc.waitExit(5000);
    assert.equal((await kubectl(K, ['scale', 'deployment', 'web', '--replicas=3'])).code, 0);
    const newHolder = await waitFor(
      'the survivor leads the scheduler',
      async () => {
        const h = (await lease())?.spec?.holderIdentity as string | undefined;
        return h?.includes(`_${servers[survivor].proc.pid}_`) ? h : undefined;
      },
      30_000,
    ).catch(fail);
    const tLead = Date.now() - t0;
    await waitFor('3 replicas ready', ready(3), 60_000).catch(fail);
    const tScaled = Date.now() - t0;
    process.stdout.write(
      `# HA: new scheduler leader ${tLead} ms after SIGKILL; 3/3 replicas ready ${tScaled} ms after it (${newHolder})\n`,
    );
    const pods = await json<{ items: any[] }>(K, ['get', 'pods', '-l', 'app=web']);
    assert.equal(pods.items.filter((p) => p.status.phase === 'Running').length, 3);
    assert.ok(pods.items.every((p) => p.spec.nodeName === agentHost.name));
    // The takeover waits out the dead leader's lease (15 s) plus at most a retry period (2 s).
    assert.ok(tLead <= 15_000 + 2_500, `leader after ${tLead} ms`);
  });
});
