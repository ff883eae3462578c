// NetworkPolicy on the real packet path. The real API server machinery (in process, memory store)
// holds Namespaces, Pods and NetworkPolicies; the controller programs a table of its own. "Pods"
// are network namespaces on a private bridge (this run's own /24), each running a TCP/UDP peer that
// answers with its name; their Pod objects carry the namespaces' addresses. The host plays the node
// (kubelet probes). Only addresses inside these namespaces carry traffic; everything is removed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTestApi, until, type TestApi } from '../fixtures/kube-api.js';
import { NetworkPolicyController } from '../../src/kube/netpol/index.js';
import { createLogger } from '../../src/common/index.js';

const id = randomBytes(3).toString('hex');
const n = parseInt(id.slice(0, 4), 16) % 250;
const podNet = `10.253.${n}`; // this run's pod range: 10.253.n.0/24
const bridge = `sknb${id}`;
const NODE = 'node-x';
const PEER = join(import.meta.dirname, '..', 'fixtures', 'echo-peer.mjs');
const run = promisify(execFile);
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const nsA = `npa-${id}`;
const nsB = `npb-${id}`;

interface Host {
  ns: string;
  ip: string;
  peers: ChildProcess[];
}
const hosts: Record<string, Host> = {};
let api: TestApi, ctl: NetworkPolicyController;
let srv: Host, cli: Host, other: Host, far: Host, dns: Host;
const log = createLogger({}, { level: 'warn' });

function addHost(name: string, octet: number): Host {
  const ns = `skn${name}${id}`;
  const hv = `sknv${name}${id}`.slice(0, 15);
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['link', 'add', hv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  sh('ip', ['link', 'set', hv, 'master', bridge, 'up']);
  const ip = `${podNet}.${octet}`;
  sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', `${podNet}.1`]);
  return (hosts[name] = { ns, ip, peers: [] });
}

async function serve(h: Host, name: string, port: number): Promise<void> {
  const p = spawn('ip', ['netns', 'exec', h.ns, process.execPath, PEER, 'serve', name, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  h.peers.push(p);
  await new Promise<void>((res) => p.stdout!.once('data', () => res()));
}

/** One answer from `ip:port`, asked from a host (or the node when `from` is undefined). */
async function ask(from: Host | undefined, ip: string, port: number, proto: 'tcp' | 'udp' = 'tcp') {
  const args = [PEER, 'ask', proto, ip, String(port), '1'];
  const { stdout } = from
    ? await run('ip', ['netns', 'exec', from.ns, process.execPath, ...args])
    : await run(process.execPath, args);
  return stdout.trim();
}

/** Asks in parallel (a dropped UDP datagram costs the peer's 3 s timeout once, not per case). */
async function reach(cases: [Host | undefined, string, number, ('tcp' | 'udp')?][]): Promise<string[]> {
  return Promise.all(cases.map(([h, ip, port, proto]) => ask(h, ip, port, proto)));
}

async function pod(ns: string, name: string, h: Host, labels: Record<string, string>, ports: unknown[] = []) {
  const path = `/api/v1/namespaces/${ns}/pods`;
  const spec = { nodeName: NODE, containers: [{ name: 'c', image: 'busybox', ports }] };
  const created = await api.client.request<{ metadata: { resourceVersion: string } }>('POST', path, {
    body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec },
  });
  await api.client.request('PUT', `${path}/${name}/status`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels, resourceVersion: created.metadata.resourceVersion },
      spec,
      status: { phase: 'Running', podIP: h.ip, podIPs: [{ ip: h.ip }] },
    },
  });
}

const policies = (ns: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`;
const table = () => sh('nft', ['list', 'table', 'ip', ctl.table]);
const hasChain = (ns: string, name: string) => new RegExp(`chain (in|eg)-\\w+-${ns}/${name} \\{`).test(table());

async function policy(ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await api.client.request('POST', policies(ns), {
    body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec },
  });
  await until(`policy ${name} programmed`, () => hasChain(ns, name));
}
async function unpolicy(ns: string, name: string): Promise<void> {
  await api.client.request('DELETE', `${policies(ns)}/${name}`);
  await until(`policy ${name} removed`, () => !hasChain(ns, name));
}

before(async () => {
  api = await startTestApi();
  sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
  sh('ip', ['addr', 'add', `${podNet}.1/24`, 'dev', bridge]);
  sh('ip', ['link', 'set', bridge, 'up']);
  srv = addHost('srv', 2);
  cli = addHost('cli', 3); // role=client in A
  other = addHost('other', 4); // unlabelled in A
  far = addHost('far', 5); // role=client in B
  dns = addHost('dns', 6); // a resolver the client may reach
  await serve(srv, 'srv-web', 8080);
  await serve(srv, 'srv-admin', 9090);
  await serve(dns, 'dns', 53);
  for (const [name, labels] of [
    [nsA, { team: 'a' }],
    [nsB, { team: 'b' }],
  ] as const)
    await api.client.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
    });
  await pod(nsA, 'srv', srv, { app: 'srv' }, [{ name: 'web', containerPort: 8080 }]);
  await pod(nsA, 'cli', cli, { role: 'client' });
  await pod(nsA, 'other', other, {});
  await pod(nsB, 'far', far, { role: 'client' });
  await pod(nsA, 'dns', dns, { app: 'dns' });
  ctl = new NetworkPolicyController({ client: api.newClient('netpol'), nodeName: NODE, table: `skn${id}`, log });
  await ctl.start();
});

after(async () => {
  for (const h of Object.values(hosts)) for (const p of h.peers) p.kill();
  await ctl?.uninstall();
  for (const h of Object.values(hosts)) {
    try {
      sh('ip', ['netns', 'del', h.ns]);
    } catch {
      /* gone */
    }
  }
  try {
    sh('ip', ['link', 'del', bridge]);
  } catch {
    /* never made */
  }
  await api?.close();
});

test('no policy: all open; default deny ingress blocks pods but not the node; an allow by pod label admits', async () => {
  assert.deepEqual(await reach([[cli, srv.ip, 8080]]), ['srv-web']);
  await policy(nsA, 'deny', { podSelector: { matchLabels: { app: 'srv' } }, ingress: [] });
  assert.deepEqual(
    await reach([
      [cli, srv.ip, 8080],
      [far, srv.ip, 8080],
      [undefined, srv.ip, 8080],
      [srv, dns.ip, 53],
    ]),
    [
      'ERR ECONNREFUSED', // rejected, as kube-router does
      'ERR ECONNREFUSED',
      'srv-web', // the node itself (kubelet probes)
      'dns', // srv is isolated for ingress only; dns is not selected
    ],
  );
  await policy(nsA, 'from-clients', {
    podSelector: { matchLabels: { app: 'srv' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
  });
  // far has the label but lives in another namespace: a bare podSelector means this namespace.
  assert.deepEqual(
    await reach([
      [cli, srv.ip, 8080],
      [cli, srv.ip, 9090, 'udp'],
      [other, srv.ip, 8080],
      [far, srv.ip, 8080],
    ]),
    ['srv-web', 'srv-admin', 'ERR ECONNREFUSED', 'ERR ECONNREFUSED'],
  );
  // A pod that gains the label is admitted: a set element, the chains keep their rules (handles).
  const chains = () => sh('nft', ['-a', 'list', 'table', 'ip', ctl.table]).replace(/\tset [^}]*}\n/g, '');
  const before = chains();
  await api.client.request('PATCH', `/api/v1/namespaces/${nsA}/pods/other`, {
    body: { metadata: { labels: { role: 'client' } } },
    contentType: 'application/merge-patch+json',
  });
  await until('other admitted', async () => (await ask(other, srv.ip, 8080)) === 'srv-web');
  assert.equal(chains(), before);
  await api.client.request('PATCH', `/api/v1/namespaces/${nsA}/pods/other`, {
    body: { metadata: { labels: { role: null } } },
    contentType: 'application/merge-patch+json',
  });
  await until('other refused again', async () => (await ask(other, srv.ip, 8080)) === 'ERR ECONNREFUSED');
  await unpolicy(nsA, 'from-clients');
  assert.deepEqual(await reach([[cli, srv.ip, 8080]]), ['ERR ECONNREFUSED']);
});

test('namespaceSelector, ipBlock with except, named port', async () => {
  await policy(nsA, 'from-team-b', {
    podSelector: { matchLabels: { app: 'srv' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
  });
  await policy(nsA, 'block', {
    podSelector: { matchLabels: { app: 'srv' } },
    ingress: [{ from: [{ ipBlock: { cidr: `${podNet}.0/29`, except: [`${podNet}.3/32`] } }], ports: [{ port: 9090 }] }],
  });
  await policy(nsA, 'named', {
    podSelector: { matchLabels: { app: 'srv' } },
    ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 'web', protocol: 'TCP' }] }],
  });
  assert.deepEqual(
    await reach([
      [far, srv.ip, 9090], // namespace team=b: any port
      [other, srv.ip, 9090], // .4 is in the block
      [cli, srv.ip, 9090], // .3 is the exception
      [cli, srv.ip, 8080], // port named "web" from any pod of the namespace
      [other, srv.ip, 8080, 'udp'], // "web" is TCP only (an unconnected UDP socket sees no ICMP error)
    ]),
    ['srv-admin', 'srv-admin', 'ERR ECONNREFUSED', 'srv-web', 'ERR timeout'],
  );
  for (const p of ['from-team-b', 'block', 'named']) await unpolicy(nsA, p);
});

test('egress deny with DNS allowed to one address; replies of allowed connections pass', async () => {
  await policy(nsA, 'cli-egress', {
    podSelector: { matchLabels: { role: 'client' } },
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: `${dns.ip}/32` } }], ports: [{ protocol: 'UDP', port: 53 }] }],
  });
  // srv is isolated for ingress (deny) and admits only cli; its answers are replies.
  await policy(nsA, 'from-cli', {
    podSelector: { matchLabels: { app: 'srv' } },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
  });
  assert.deepEqual(
    await reach([
      [cli, dns.ip, 53, 'udp'],
      [cli, dns.ip, 53, 'tcp'],
      [cli, srv.ip, 8080],
      [other, dns.ip, 53, 'udp'],
      [srv, dns.ip, 53, 'udp'], // srv: egress isolated, nothing allowed
    ]),
    ['dns', 'ERR ECONNREFUSED', 'ERR ECONNREFUSED', 'dns', 'ERR timeout'],
  );
  await unpolicy(nsA, 'cli-egress');
  assert.deepEqual(
    await reach([
      [cli, srv.ip, 8080],
      [other, srv.ip, 8080],
    ]),
    ['srv-web', 'ERR ECONNREFUSED'],
  );
});

test('a restarted controller rebuilds its table at once and established connections carry on', async () => {
  // from-cli and deny are in force: srv admits cli only, and may open nothing itself.
  const held = spawn('ip', ['netns', 'exec', cli.ns, 'busybox', 'nc', srv.ip, '8080'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    let got = '';
    held.stdout!.on('data', (d) => (got += d));
    held.stdin!.write('hold\n');
    await until('held connection answered', () => got.includes('srv-web'));
    await ctl.stop();
    ctl = new NetworkPolicyController({ client: api.newClient('netpol-2'), nodeName: NODE, table: ctl.table, log });
    await ctl.start();
    assert.equal(ctl.stats.fullSyncs, 1);
    got = '';
    held.stdin!.write('again\n');
    await until('held connection answered after the restart', () => got.includes('srv-web'));
    assert.deepEqual(
      await reach([
        [other, srv.ip, 8080],
        [cli, srv.ip, 8080],
      ]),
      ['ERR ECONNREFUSED', 'srv-web'],
    );
  } finally {
    held.kill();
  }
});

test('removing the policies restores traffic; the table holds only the base then', async () => {
  await unpolicy(nsA, 'from-cli');
  await unpolicy(nsA, 'deny');
  assert.deepEqual(
    await reach([
      [cli, srv.ip, 8080],
      [far, srv.ip, 9090, 'udp'],
      [srv, dns.ip, 53, 'udp'],
    ]),
    ['srv-web', 'srv-admin', 'dns'],
  );
  assert.doesNotMatch(table(), /chain (in|eg)-/);
  assert.doesNotMatch(table(), /elements/);
});
