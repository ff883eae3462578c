// HA servers on test hosts: a three-member etcd cluster on one host, two `skiff server --datastore
// etcd://…` (all three endpoints) on two others, an agent on a fourth. The second server starts
// with the first one's server token only and takes the cluster PKI from the datastore (nothing is
// copied by hand); certificates and tokens issued by either server are accepted by both. Both
// servers serve the API; one leads the scheduler and the controllers. A writer creates ConfigMaps
// through both servers all along and records every acknowledged write. SIGKILL of the leading
// server: the other takes the lead and a Deployment scaled through it gets its new pods scheduled
// and running (the times from the kill are printed); SIGKILL of the etcd leader: the cluster goes
// on. Afterwards every acknowledged write is there.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { createHosts, waitFor, type HostProcess, type TestHost, type TestHosts } from '../fixtures/hosts.js';
import { KUBECTL } from './kubectl-harness.js';

const ETCD = '/usr/bin/etcd';
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('multinode HA: two servers on a three-member etcd, leaders killed', () => {
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

  // Three etcd members on one host (ports 2379/2380, 12379/12380, 22379/22380).
  const members = [0, 1, 2].map((i) => ({ name: `e${i}`, client: 2379 + 10_000 * i, peer: 2380 + 10_000 * i }));
  const etcdProcs: HostProcess[] = [];
  const endpoints = () => members.map((m) => `${etcdHost.ip}:${m.client}`);

  /** An HTTPS call to a server as its admin (the admin certificate that server issued). */
  const call = (
    i: number,
    method: string,
    path: string,
    o: { body?: unknown; token?: string; server?: number } = {},
  ): Promise<{ status: number; body: string }> =>
    new Promise((resolve) => {
      const s = servers[o.server ?? i];
      const pki = join(servers[i].dir, 'pki');
      const req = https.request(
        {
          host: s.host.ip,
          port: 6443,
          method,
          path,
          ca: readFileSync(join(pki, 'ca.crt')),
          ...(o.token
            ? { headers: { authorization: `Bearer ${o.token}` } }
            : { cert: readFileSync(join(pki, 'admin.crt')), key: readFileSync(join(pki, 'admin.key')) }),
          timeout: 10_000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', () => resolve({ status: 0, body }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ status: 0, body: e.message }));
      if (o.body !== undefined) req.setHeader('content-type', 'application/json');
      req.end(o.body === undefined ? undefined : JSON.stringify(o.body));
    });

  // The writer: ConfigMaps created through both servers in turn; every 201 is an acknowledged write.
  const acked: string[] = [];
  let attempts = 0;
  let writing = false;
  let writer: Promise<void> | undefined;
  const startWriter = () => {
    writing = true;
    writer = (async () => {
      while (writing) {
        const n = attempts++;
        const name = `w-${n}`;
        const targets = servers.map((_, i) => i).filter((i) => !servers[i].proc.exited);
        const i = targets[n % targets.length];
        const r = await call(i, 'POST', '/api/v1/namespaces/default/configmaps', {
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: String(n), via: String(i) } },
        });
        if (r.status === 201) acked.push(name);
        else await new Promise((r) => setTimeout(r, 50));
      }
    })();
  };
  const stopWriter = async () => {
    writing = false;
    await writer;
  };
  const checkAcked = async (via: number) => {
    const r = await call(via, 'GET', '/api/v1/namespaces/default/configmaps?limit=100000');
    assert.equal(r.status, 200, r.body);
    const have = new Set((JSON.parse(r.body).items as any[]).map((c) => c.metadata.name as string));
    const lost = acked.filter((n) => !have.has(n));
    assert.deepEqual(lost, [], `acknowledged writes missing: ${lost.join(' ')}`);
    return have.size;
  };

  before(async () => {
    assert.ok(existsSync(ETCD), `${ETCD} is needed`);
    run = await createHosts(4);
    [etcdHost, ...srvHosts] = run.hosts;
    agentHost = srvHosts.pop()!;
    const e = etcdHost.ip;
    const cluster = members.map((m) => `${m.name}=http://${e}:${m.peer}`).join(',');
    for (const m of members)
      etcdProcs.push(
        etcdHost.spawn(`etcd-${m.name}`, ETCD, [
          '--name',
          m.name,
          '--data-dir',
          join(etcdHost.dir, `etcd-${m.name}`),
          '--listen-client-urls',
          `http://${e}:${m.client}`,
          '--advertise-client-urls',
          `http://${e}:${m.client}`,
          '--listen-peer-urls',
          `http://${e}:${m.peer}`,
          '--initial-advertise-peer-urls',
          `http://${e}:${m.peer}`,
          '--initial-cluster',
          cluster,
          '--initial-cluster-token',
          `skiff-${run.id}`,
        ]),
      );
    for (const m of members)
      await waitFor(
        `etcd ${m.name} healthy`,
        async () => (await fetch(`http://${e}:${m.client}/health`)).ok,
        30_000,
      ).catch(fail);
    for (const [i, h] of srvHosts.entries()) {
      const dir = join(h.dir, 'server');
      // The second server gets the cluster PKI from the datastore with the first one's server token.
      const token = i > 0 ? ['--token', readFileSync(join(servers[0].dir, 'token'), 'utf8').trim()] : [];
      const proc = h.skiff('server', [
        'server',
        '--data-dir',
        dir,
        '--https-listen',
        `${h.ip}:6443`,
        '--datastore',
        `etcd://${endpoints().join(',')}`,
        ...token,
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

  it('the second server took the cluster PKI from the datastore: certificates and tokens of either work on both', async () => {
    const [a, b] = servers.map((x) => join(x.dir, 'pki'));
    for (const f of ['ca.crt', 'ca.key', 'sa.pub', 'encryption.key'])
      assert.equal(readFileSync(join(b, f), 'utf8'), readFileSync(join(a, f), 'utf8'), `${f} shared`);
    // Each server has its own serving and admin certificates, issued from the shared CA.
    assert.notEqual(readFileSync(join(b, 'admin.crt'), 'utf8'), readFileSync(join(a, 'admin.crt'), 'utf8'));
    assert.equal(
      readFileSync(join(servers[1].dir, 'node-token'), 'utf8'),
      readFileSync(join(servers[0].dir, 'node-token'), 'utf8'),
    );
    assert.match(servers[1].proc.log(), /cluster PKI taken from the datastore/);
    // A third server without the token, or with a wrong one, stops with a clear error and no API.
    const token = readFileSync(join(servers[0].dir, 'token'), 'utf8').trim();
    assert.match(token, /^K10[0-9a-f]{64}::server:/);
    for (const [name, extra, message] of [
      ['no-token', [], /already holds a cluster: start this server with --token/],
      [
        'bad-token',
        ['--token', `${token.slice(0, -6)}zzzzzz`],
        /--token does not open this datastore's bootstrap data/,
      ],
    ] as const) {
      const p = etcdHost.skiff(name, [
        'server',
        '--data-dir',
        join(etcdHost.dir, name),
        '--https-listen',
        `${etcdHost.ip}:6443`,
        '--datastore',
        `etcd://${endpoints().join(',')}`,
        ...extra,
      ]);
      assert.ok(await p.waitExit(30_000), `${name}: the server stopped`);
      assert.notEqual(p.child.exitCode, 0);
      assert.match(p.log(), message);
      assert.ok(!existsSync(join(etcdHost.dir, name, 'pki', 'ca.key')), `${name}: no CA of its own`);
    }
    // Each server's admin client certificate is accepted by the other.
    for (const [i, j] of [
      [0, 1],
      [1, 0],
    ]) {
      const r = await call(i, 'GET', '/api/v1/namespaces/default', { server: j });
      assert.equal(r.status, 200, `admin of server ${i} on server ${j}: ${r.body}`);
    }
    // A service-account token issued by one server is accepted by the other; a forged one is not.
    for (const [i, j] of [
      [0, 1],
      [1, 0],
    ]) {
      const t = await call(i, 'POST', '/api/v1/namespaces/default/serviceaccounts/default/token', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
      });
      assert.equal(t.status, 201, t.body);
      const token = JSON.parse(t.body).status.token as string;
      const ok = await call(i, 'GET', '/api', { server: j, token });
      assert.equal(ok.status, 200, `token of server ${i} on server ${j}: ${ok.body}`);
      const bad = await call(i, 'GET', '/api', { server: j, token: `${token.slice(0, -4)}AAAA` });
      assert.equal(bad.status, 401, bad.body);
    }
    // A Secret written through one server reads back through the other (one encryption key).
    const sec = await call(0, 'POST', '/api/v1/namespaces/default/secrets', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, stringData: { k: 'v' } },
    });
    assert.equal(sec.status, 201, sec.body);
    const back = await call(1, 'GET', '/api/v1/namespaces/default/secrets/s1');
    assert.equal(back.status, 200, back.body);
    assert.equal(Buffer.from(JSON.parse(back.body).data.k, 'base64').toString(), 'v');
  });

  it('both serve the API; one leads; SIGKILL of the leader: the other leads and a Deployment scales', async () => {
    // Both answer, on one cluster.
    assert.equal((await kubectl(kc(0), ['create', 'configmap', 'from-a', '--from-literal=k=v'])).code, 0);
    const cm = await json(kc(1), ['get', 'configmap', 'from-a']);
    assert.equal(cm.data.k, 'v');
    const lease = (k = kc(1)) =>
      json(k, ['get', 'lease', '-n', 'kube-system', 'kube-scheduler']).catch(() => undefined);
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

    const cmLease = () =>
      json(K, ['get', 'lease', '-n', 'kube-system', 'kube-controller-manager']).catch(() => undefined);
    startWriter();
    await waitFor('acknowledged writes through both servers', () => acked.length >= 10, 30_000);
    const t0 = Date.now();
    servers[leaderIdx].proc.child.kill('SIGKILL');
    await servers[leaderIdx].proc.waitExit(5000);
    assert.equal((await kubectl(K, ['scale', 'deployment', 'web', '--replicas=3'])).code, 0);
    // Both Leases are watched at once; each takeover is timed by the survivor's acquireTime (its
    // clock is this machine's, stamped just before the write that took the Lease), so the figures
    // do not include kubectl's polling.
    const takenOver = (what: string, get: () => Promise<any>) =>
      waitFor(
        what,
        async () => {
          const spec = (await get())?.spec;
          const h = spec?.holderIdentity as string | undefined;
          return h?.includes(`_${servers[survivor].proc.pid}_`)
            ? { holder: h, ms: Date.parse(spec.acquireTime) - t0 }
            : undefined;
        },
        30_000,
      ).catch(fail);
    const [sched, cmTake] = await Promise.all([
      takenOver('the survivor leads the scheduler', () => lease(K)),
      takenOver('the survivor leads the controllers', cmLease),
    ]);
    const { holder: newHolder, ms: tLead } = sched!;
    const { holder: cmHolder, ms: tControllers } = cmTake!;
    await waitFor('3 replicas ready', ready(3), 60_000).catch(fail);
    const tScaled = Date.now() - t0;
    const before = acked.length;
    await waitFor('writes acknowledged after the kill', () => acked.length >= before + 10, 30_000);
    await stopWriter();
    const count = await checkAcked(survivor);
    process.stdout.write(
      `# HA: new scheduler leader ${tLead} ms after SIGKILL, controllers ${tControllers} ms; 3/3 replicas ready ${tScaled} ms after it (${newHolder}, ${cmHolder}); ${acked.length}/${attempts} writes acknowledged, all ${acked.length} present (${count} ConfigMaps)\n`,
    );
    const pods = await json<{ items: any[] }>(K, ['get', 'pods', '-l', 'app=web']);
    assert.equal(pods.items.filter((p) => p.status.phase === 'Running').length, 3);
    assert.ok(pods.items.every((p) => p.spec.nodeName === agentHost.name));
    // The takeover waits out the dead leader's lease (10 s) from the survivor's sight of its last
    // renewal (at most a jittered retry period, 2.4 s, after it): worstCaseTakeoverMs, 12.4 s.
    assert.ok(tLead <= 15_000, `leader after ${tLead} ms`);
    assert.ok(tControllers <= 15_000, `controllers' leader after ${tControllers} ms`);
  });

  it('SIGKILL of the etcd leader loses no acknowledged write; the API goes on through the survivor', async () => {
    const survivor = servers.findIndex((s) => !s.proc.exited);
    const status = async (m: (typeof members)[number]) => {
      const r = await fetch(`http://${etcdHost.ip}:${m.client}/v3/maintenance/status`, { method: 'POST', body: '{}' });
      return (await r.json()) as { header: { member_id: string }; leader: string };
    };
    const st = await Promise.all(members.map(status));
    const li = st.findIndex((x) => x.header.member_id === x.leader);
    assert.ok(li >= 0, JSON.stringify(st));
    acked.length = 0;
    startWriter();
    await waitFor('writes before the kill', () => acked.length >= 10, 30_000).catch(fail);
    const t0 = Date.now();
    etcdProcs[li].child.kill('SIGKILL');
    assert.ok(await etcdProcs[li].waitExit(5000));
    const before = acked.length;
    await waitFor('writes acknowledged after the etcd kill', () => acked.length >= before + 20, 60_000).catch(fail);
    const tWrites = Date.now() - t0;
    await stopWriter();
    const count = await checkAcked(survivor);
    // The other two members agree on a new leader.
    const rest = members.filter((_, i) => i !== li);
    const after = await Promise.all(rest.map(status));
    assert.equal(new Set(after.map((x) => x.leader)).size, 1);
    assert.notEqual(after[0].leader, st[li].leader);
    process.stdout.write(
      `# HA: etcd leader ${members[li].name} killed; 20 more writes acknowledged ${tWrites} ms after; ${acked.length}/${attempts} acknowledged in this case, all present (${count} ConfigMaps)\n`,
    );
  });
});
