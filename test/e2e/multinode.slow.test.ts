// Several nodes on this machine (test/fixtures/hosts.ts): one `skiff server` and two `skiff agent`s,
// each in a network namespace of its own, joined with the server's token. The nodes register and
// get Ready with certificates from CSRs, pods run on the agents and are reached through the API
// server (logs), and the run leaves nothing behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHosts, waitFor, type TestHost, type TestHosts } from '../fixtures/hosts.js';
import { KUBECTL } from './kubectl-harness.js';
import { execFile } from 'node:child_process';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('multinode: a server and two agents on test hosts', () => {
  let run: TestHosts, server: TestHost, agents: TestHost[], kubeconfig: string;
  const kubectl = (args: string[], input?: string): Promise<Run> =>
    new Promise((resolve) => {
      const p = execFile(
        KUBECTL,
        ['--kubeconfig', kubeconfig, ...args],
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: run.dir } },
        (err, stdout, stderr) =>
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            stdout,
            stderr: stderr || (err?.message ?? ''),
          }),
      );
      if (input !== undefined) p.stdin?.end(input);
    });
  const json = async <T = any>(args: string[]): Promise<T> => {
    const r = await kubectl([...args, '-o', 'json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as T;
  };
  const logs = () =>
    run.hosts.flatMap((h) => h.procs.map((p) => `--- ${h.name} ${p.name}\n${p.log().slice(-3000)}`)).join('\n');

  const netDiag = async () => {
    const out: string[] = [];
    for (const a of agents)
      for (const cmd of [
        'ip -d addr',
        'ip route',
        'ip neigh show dev skiff.1',
        'bridge fdb show dev skiff.1',
        'ip -s link show skiff.1',
        'iptables -S',
        'iptables -t nat -S',
        'iptables -L FORWARD -v -n',
        'nft list ruleset',
        'sysctl net.ipv4.ip_forward net.ipv4.conf.all.rp_filter',
      ]) {
        const [c, ...args] = cmd.split(' ');
        const r = await a.exec(c, args);
        out.push(`### ${a.name}: ${cmd}\n${r.stdout}${r.stderr}`);
      }
    return out.join('\n');
  };

  before(async () => {
    run = await createHosts(3);
    [server, ...agents] = run.hosts;
    const sdir = join(server.dir, 'server');
    server.skiff('server', ['server', '--data-dir', sdir, '--https-listen', `${server.ip}:6443`]);
    kubeconfig = join(sdir, 'kubeconfig.yaml');
    const token = await waitFor(
      'the node token',
      () => {
        try {
          return readFileSync(join(sdir, 'node-token'), 'utf8').trim();
        } catch {
          return undefined;
        }
      },
      60_000,
    ).catch((e) => {
      throw new Error(`${e}\n${logs()}`);
    });
    for (const a of agents) {
      a.skiff('agent', [
        'agent',
        '--server',
        `https://${server.ip}:6443`,
        '--token',
        token,
        '--node-name',
        a.name,
        '--node-ip',
        a.ip,
        '--data-dir',
        join(a.dir, 'agent'),
        '--cgroup-parent',
        `${a.cgroup}/engine`,
        '--cgroup-root',
        `${a.cgroup}/kubepods`,
      ]);
    }
  });

  after(async () => {
    if (!run) return;
    await run.cleanup();
    assert.deepEqual(await run.leaks(), []);
  });

  it('agents join with the token: Nodes Ready, CSRs approved and issued', async () => {
    await waitFor(
      'both agent nodes Ready',
      async () => {
        const nodes = await json<{ items: any[] }>(['get', 'nodes']);
        const ready = nodes.items.filter((n) =>
          n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === 2 ? nodes : undefined;
      },
      120_000,
    ).catch((e) => {
      throw new Error(`${e}\n${logs()}`);
    });
    const nodes = await json<{ items: any[] }>(['get', 'nodes']);
    assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), agents.map((a) => a.name).sort());
    for (const a of agents) {
      const n = nodes.items.find((x) => x.metadata.name === a.name);
      assert.ok(n.status.addresses.some((x: any) => x.type === 'InternalIP' && x.address === a.ip));
    }
    const csrs = await kubectl(['get', 'csr']);
    assert.equal(csrs.code, 0, csrs.stderr);
    assert.equal(csrs.stdout.match(/Approved,Issued/g)?.length, 4, csrs.stdout);
  });

  it('pods run on the agents; kubectl logs reaches them through the server', async () => {
    for (const a of agents) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p-${a.name}` },
        spec: {
          nodeName: a.name,
          containers: [
            {
              name: 'c',
              image: 'busybox:latest',
              imagePullPolicy: 'Never',
              command: [
                'sh',
                '-c',
                `echo hello from ${a.name}; while true; do echo tcp-from-${a.name} | nc -l -p 8080; done`,
              ],
            },
          ],
        },
      };
      const r = await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
      assert.equal(r.code, 0, r.stderr);
    }
    for (const a of agents) {
      await waitFor(
        `p-${a.name} logs`,
        async () => (await kubectl(['logs', `p-${a.name}`])).stdout.includes(`hello from ${a.name}`),
        90_000,
      ).catch(async (e) => {
        throw new Error(`${e}\n${(await kubectl(['describe', 'pod', `p-${a.name}`])).stdout}\n${logs()}`);
      });
    }
  });

  it('each node has its own /24 of 10.42.0.0/16; pods on different nodes ping and connect to each other over VXLAN', async () => {
    const nodes = await json<{ items: any[] }>(['get', 'nodes']);
    const cidrs = nodes.items.map((n) => n.spec.podCIDR as string);
    assert.equal(new Set(cidrs).size, 2, `distinct pod CIDRs: ${cidrs}`);
    for (const c of cidrs) assert.match(c, /^10\.42\.\d+\.0\/24$/);
    for (const n of nodes.items) {
      assert.equal(n.metadata.annotations['flannel.alpha.coreos.com/backend-type'], 'vxlan');
      assert.match(
        JSON.parse(n.metadata.annotations['flannel.alpha.coreos.com/backend-data']).VtepMAC,
        /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/,
      );
    }
    const pods = await Promise.all(
      agents.map((a) =>
        waitFor(
          `p-${a.name} has an IP`,
          async () => (await json(['get', 'pod', `p-${a.name}`])).status?.podIP as string | undefined,
          30_000,
        ),
      ),
    );
    for (const [i, a] of agents.entries()) {
      const cidr = nodes.items.find((n) => n.metadata.name === a.name).spec.podCIDR as string;
      assert.equal(
        pods[i].split('.').slice(0, 3).join('.'),
        cidr.split('.').slice(0, 3).join('.'),
        `${pods[i]} in ${cidr}`,
      );
      // The overlay's device on the node, MTU lowered by the VXLAN header; the pod's interface too.
      const dev = await a.exec('ip', ['-j', 'link', 'show', 'skiff.1']);
      assert.equal(JSON.parse(dev.stdout)[0].mtu, 1450);
      // Pod-to-pod forwarding is accepted ahead of the pod bridge's isolation rules.
      const fwd = (await a.exec('iptables', ['-S', 'FORWARD'])).stdout.split('\n').filter((l) => l.startsWith('-A'));
      assert.equal(fwd[0], '-A FORWARD -j SKIFF-PODNET-FWD', fwd.join('\n'));
      const mtu = await kubectl(['exec', `p-${a.name}`, '--', 'cat', '/sys/class/net/eth0/mtu']);
      assert.equal(mtu.stdout.trim(), '1450', mtu.stderr);
    }
    for (const [i, a] of agents.entries()) {
      const peer = pods[1 - i];
      const peerName = agents[1 - i].name;
      const ping = await kubectl(['exec', `p-${a.name}`, '--', 'ping', '-c', '2', '-W', '3', peer]);
      assert.equal(ping.code, 0, `${a.name} → ${peer}: ${ping.stdout} ${ping.stderr}\n${await netDiag()}`);
      const tcp = await kubectl(['exec', `p-${a.name}`, '--', 'nc', '-w', '3', peer, '8080']);
      assert.equal(tcp.stdout.trim(), `tcp-from-${peerName}`, tcp.stderr);
    }
  });
});
