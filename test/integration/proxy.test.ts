// The service proxy on the real packet path. A real API server (memory store, a Service range of
// this run's own) holds Services and EndpointSlices; the Proxier programs a table of its own and a
// dummy device of its own. "Pods" are network namespaces on a private bridge (the cluster CIDR of
// the test), each running a TCP/UDP peer that answers with its name; a client namespace plays a
// Pod that calls Services, the host plays a host-network process. Everything made is removed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, type RunningServer } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/kube/client/index.js';
import { Proxier } from '../../src/kube/proxy/index.js';
import { createLogger } from '../../src/common/index.js';
import { adminClient } from '../fixtures/admin-client.js';

const id = randomBytes(3).toString('hex');
const n = parseInt(id.slice(0, 4), 16) % 250;
const podNet = `10.252.${n}`; // this run's cluster CIDR: 10.252.n.0/24
const svcCIDR = `10.97.${n}.0/24`;
const bridge = `skpb${id}`;
const PEER = join(import.meta.dirname, '..', 'fixtures', 'echo-peer.mjs');
const run = promisify(execFile);
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

interface Host {
  ns: string;
  ip: string;
  peer?: ChildProcess;
}
const hosts: Record<string, Host> = {};
let srv: RunningServer, client: KubeClient, dir: string, proxy: Proxier;
const log = createLogger({}, { level: 'warn' });

function addHost(name: string, octet: number): Host {
  const ns = `skp${name}${id}`;
  const hv = `skpv${name}${id}`.slice(0, 15);
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['link', 'add', hv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  sh('ip', ['link', 'set', hv, 'master', bridge, 'up']);
  // As a pod network sets its ports (kubelet's hairpin-veth): a Pod can reach itself through a Service.
  sh('ip', ['link', 'set', hv, 'type', 'bridge_slave', 'hairpin', 'on']);
  const ip = `${podNet}.${octet}`;
  sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', `${podNet}.1`]);
  return (hosts[name] = { ns, ip });
}

async function serve(h: Host, name: string, port = 8080): Promise<void> {
  h.peer = spawn('ip', ['netns', 'exec', h.ns, process.execPath, PEER, 'serve', name, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((res) => h.peer!.stdout!.once('data', () => res()));
}

/** Answers of `count` requests from a namespace (or the host when ns is undefined). */
async function ask(ns: string | undefined, proto: 'tcp' | 'udp', ip: string, port: number, count = 1) {
  const args = [PEER, 'ask', proto, ip, String(port), String(count)];
  const { stdout } = ns
    ? await run('ip', ['netns', 'exec', ns, process.execPath, ...args])
    : await run(process.execPath, args);
  return stdout.trim().split('\n');
}

const api = (path: string) => `/api/v1/namespaces/default/${path}`;
async function service(name: string, spec: Record<string, unknown>) {
  const s = await client.request<{ spec: { clusterIP: string; ports: { nodePort?: number }[] } }>(
    'POST',
    api('services'),
    { body: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec } },
  );
  return s.spec;
}
type Ep = { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean };
async function slice(svc: string, eps: Ep[], port = 8080, protocol = 'TCP') {
  const body = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-s`, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: '', port, protocol }],
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node ?? 'node-a',
      conditions: {
        ready: e.ready ?? true,
        serving: e.serving ?? e.ready ?? true,
        terminating: e.terminating ?? false,
      },
    })),
  };
  const path = `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices`;
  try {
    const cur = await client.request<{ metadata: { resourceVersion: string } }>('GET', `${path}/${svc}-s`);
    await client.request('PUT', `${path}/${svc}-s`, {
      body: { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } },
    });
  } catch {
    await client.request('POST', path, { body });
  }
}

const table = () => sh('nft', ['list', 'table', 'ip', proxy.table]);
/** The endpoint addresses the rules of `svc` translate to. */
const targets = (svc: string) =>
  [
    ...new Set(
      table()
        .split('\n\n')
        .filter((c) => new RegExp(`^\\s*chain \\w+-\\w+-default/${svc}/`).test(c))
        .flatMap((c) => [...c.matchAll(/dnat to ([\d.]+):\d+/g)].map((m) => m[1])),
    ),
  ].sort();
/** Waits until the kernel's rules for `svc` translate to exactly `ips`. */
const programmed = (svc: string, ips: string[]) =>
  waitFor(() => JSON.stringify(targets(svc)) === JSON.stringify([...ips].sort()));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-'));
  srv = await startServer({
    dataDir: dir,
    httpsListen: '127.0.0.1:0',
    datastore: 'memory://',
    serviceCIDR: svcCIDR,
    log,
  });
  client = adminClient(srv);
  sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
  sh('ip', ['addr', 'add', `${podNet}.1/24`, 'dev', bridge]);
  sh('ip', ['link', 'set', bridge, 'up']);
  addHost('a', 2);
  addHost('b', 3);
  addHost('c', 4); // the client Pod
  await serve(hosts.a, 'ep-a');
  await serve(hosts.b, 'ep-b');
  proxy = new Proxier({
    client,
    nodeName: 'node-a',
    clusterCIDR: `${podNet}.0/24`,
    serviceCIDR: svcCIDR,
    table: `skp${id}`,
    device: `skps${id}`,
    log,
  });
  await proxy.start();
});

after(async () => {
  for (const h of Object.values(hosts)) h.peer?.kill();
  await proxy?.uninstall();
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
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('ClusterIP balances over the endpoints, from a Pod and from the host; no endpoints → refused', async () => {
  const s = await service('web', { ports: [{ port: 80, targetPort: 8080 }] });
  await slice('web', [{ ip: hosts.a.ip }, { ip: hosts.b.ip }]);
  await programmed('web', [hosts.a.ip, hosts.b.ip]);
  const fromPod = await ask(hosts.c.ns, 'tcp', s.clusterIP, 80, 30);
  assert.deepEqual([...new Set(fromPod)].sort(), ['ep-a', 'ep-b'], `answers: ${fromPod}`);
  const fromHost = await ask(undefined, 'tcp', s.clusterIP, 80, 30);
  assert.deepEqual([...new Set(fromHost)].sort(), ['ep-a', 'ep-b']);
  // A port the Service does not have, and a Service without endpoints: refused at once.
  assert.deepEqual(await ask(hosts.c.ns, 'tcp', s.clusterIP, 81), ['ERR ECONNREFUSED']);
  const empty = await service('empty', { ports: [{ port: 80 }] });
  await slice('empty', []);
  await waitFor(() => table().includes(`${empty.clusterIP} . tcp . 80 : goto reject-chain`));
  assert.deepEqual(await ask(hosts.c.ns, 'tcp', empty.clusterIP, 80), ['ERR ECONNREFUSED']);
  assert.deepEqual(await ask(undefined, 'tcp', empty.clusterIP, 80), ['ERR ECONNREFUSED']);
});

test('NodePort and LoadBalancer answer on the node address; hairpin back to the same Pod', async () => {
  const s = await service('np', { type: 'NodePort', ports: [{ port: 80, targetPort: 8080 }] });
  await slice('np', [{ ip: hosts.a.ip }]);
  await programmed('np', [hosts.a.ip]);
  const nodePort = s.ports[0].nodePort!;
  assert.deepEqual(await ask(hosts.c.ns, 'tcp', `${podNet}.1`, nodePort, 2), ['ep-a', 'ep-a']);
  // Hairpin: the only endpoint calls its own Service.
  assert.deepEqual(await ask(hosts.a.ns, 'tcp', s.clusterIP, 80), ['ep-a']);
  // LoadBalancer: the ingress address (here the node's) on the Service port. Another class than
  // the built-in ServiceLB's, so that only this test writes its status.
  const lb = await service('lb', {
    type: 'LoadBalancer',
    loadBalancerClass: 'example.com/test-lb',
    ports: [{ port: 8090, targetPort: 8080 }],
  });
  const cur = await client.request<{ metadata: { resourceVersion: string } }>('GET', api('services/lb'));
  await slice('lb', [{ ip: hosts.b.ip }]);
  await programmed('lb', [hosts.b.ip]);
  await client.request('PUT', api('services/lb/status'), {
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lb', resourceVersion: cur.metadata.resourceVersion },
      spec: lb,
      status: { loadBalancer: { ingress: [{ ip: `${podNet}.1` }] } },
    },
  });
  await waitFor(() => table().includes(`${podNet}.1 . tcp . 8090 : goto ext-`));
  assert.deepEqual(await ask(hosts.c.ns, 'tcp', `${podNet}.1`, 8090), ['ep-b']);
});

test('sessionAffinity ClientIP sticks; traffic policy Local keeps to this node; terminating endpoints drain', async () => {
  const sticky = await service('sticky', { sessionAffinity: 'ClientIP', ports: [{ port: 80, targetPort: 8080 }] });
  await slice('sticky', [{ ip: hosts.a.ip }, { ip: hosts.b.ip }]);
  await programmed('sticky', [hosts.a.ip, hosts.b.ip]);
  assert.equal(new Set(await ask(hosts.c.ns, 'tcp', sticky.clusterIP, 80, 20)).size, 1);
  const local = await service('local', { internalTrafficPolicy: 'Local', ports: [{ port: 80, targetPort: 8080 }] });
  await slice('local', [{ ip: hosts.a.ip }, { ip: hosts.b.ip, node: 'node-b' }]);
  await programmed('local', [hosts.a.ip]);
  assert.deepEqual([...new Set(await ask(hosts.c.ns, 'tcp', local.clusterIP, 80, 10))], ['ep-a']);
  // Only a terminating-but-serving endpoint left: still used; once a ready one exists, only that.
  const term = await service('term', { ports: [{ port: 80, targetPort: 8080 }] });
  await slice('term', [{ ip: hosts.a.ip, ready: false, serving: true, terminating: true }]);
  await programmed('term', [hosts.a.ip]);
  assert.deepEqual(await ask(hosts.c.ns, 'tcp', term.clusterIP, 80), ['ep-a']);
  await slice('term', [{ ip: hosts.a.ip, ready: false, serving: true, terminating: true }, { ip: hosts.b.ip }]);
  await programmed('term', [hosts.b.ip]);
  assert.deepEqual([...new Set(await ask(hosts.c.ns, 'tcp', term.clusterIP, 80, 10))], ['ep-b']);
});

test('UDP Services, and a UDP flow moves when its endpoint goes (conntrack cleared)', async () => {
  const s = await service('dgram', { ports: [{ port: 53, targetPort: 8080, protocol: 'UDP' }] });
  await slice('dgram', [{ ip: hosts.a.ip }], 8080, 'UDP');
  await programmed('dgram', [hosts.a.ip]);
  assert.deepEqual(await ask(hosts.c.ns, 'udp', s.clusterIP, 53), ['ep-a']);
  await slice('dgram', [{ ip: hosts.b.ip }], 8080, 'UDP');
  await programmed('dgram', [hosts.b.ip]);
  assert.deepEqual(await ask(hosts.c.ns, 'udp', s.clusterIP, 53), ['ep-b']);
});

test('a sync rewrites only what changed; a restarted proxy keeps established connections', async () => {
  const s = await service('keep', { ports: [{ port: 80, targetPort: 8080 }] });
  await slice('keep', [{ ip: hosts.a.ip }]);
  await programmed('keep', [hosts.a.ip]);
  const handles = () =>
    sh('nft', ['-a', 'list', 'table', 'ip', proxy.table])
      .match(/# handle \d+/g)
      ?.join(',');
  // The web Service's own chain, with rule handles: rewritten rules would get new handles.
  const webChain = () =>
    sh('nft', ['-a', 'list', 'table', 'ip', proxy.table])
      .split('\n\n')
      .find((c) => /^\s*chain svc-\w+-default\/web\/\//.test(c));
  const before = webChain();
  assert.match(before ?? '', /numgen/);
  await slice('keep', [{ ip: hosts.b.ip }]);
  await programmed('keep', [hosts.b.ip]);
  assert.equal(webChain(), before, 'an unrelated Service keeps its rules (and their handles)');
  assert.ok(handles());
  // A long connection through the Service, across a proxy restart.
  const held = spawn('ip', ['netns', 'exec', hosts.c.ns, 'busybox', 'nc', s.clusterIP, '80'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let got = '';
  held.stdout!.on('data', (d) => (got += d));
  held.stdin!.write('hold\n');
  await waitFor(() => got.includes('ep-b'));
  await proxy.stop();
  proxy = new Proxier({
    client,
    nodeName: 'node-a',
    clusterCIDR: `${podNet}.0/24`,
    serviceCIDR: svcCIDR,
    table: proxy.table,
    device: proxy.device,
    log,
  });
  await proxy.start();
  got = '';
  held.stdin!.write('again\n');
  await waitFor(() => got.includes('ep-b'));
  held.kill();
  assert.deepEqual(await ask(hosts.c.ns, 'tcp', s.clusterIP, 80), ['ep-b']);
});

async function waitFor(f: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
