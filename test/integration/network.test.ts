// src/network on the real kernel: network namespaces of our own (`ip netns add sk-<rand>`)
// attached with NetworkManager, traffic checked with busybox run through `ip netns exec`. Chains use
// a random prefix; everything (links, namespaces, chains, jumps, state files) is removed in after().
// Traffic goes only to loopback, the host's own address and addresses inside our namespaces.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  NetworkManager,
  hostsFile,
  resolvConf,
  parsePortSpec,
  createEngineDriver,
  portRequests,
} from '../../src/network/index.js';
import { isSkiffError } from '../../src/common/index.js';

if (process.getuid?.() !== 0) throw new Error('network integration tests need root');
for (const bin of ['/bin/busybox', '/usr/sbin/iptables-save', '/usr/bin/nsenter'])
  if (!existsSync(bin)) throw new Error(`missing ${bin}`);

const rand = randomBytes(3).toString('hex');
const PREFIX = `SK${rand}`;
const dir = mkdtempSync(join(tmpdir(), 'sk-net-'));
const namespaces: string[] = [];
const children: ChildProcess[] = [];
let mgr: NetworkManager;

function sh(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 15000 });
  return { code: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
function netns(tag: string): string {
  const name = `sk-${rand}-${tag}`;
  assert.equal(sh('ip', ['netns', 'add', name]).code, 0);
  namespaces.push(name);
  return name;
}
const inNs = (ns: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, '/bin/busybox', ...args]);
// async: the embedded DNS answers from this very process, so its event loop must stay free
function inNsAsync(ns: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns, '/bin/busybox', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout!.on('data', (d) => {
      out += d;
    });
    c.stderr!.on('data', (d) => {
      out += d;
    });
    const t = setTimeout(() => c.kill('SIGKILL'), 10000);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? 1, out });
    });
  });
}
const ruleCount = (re: RegExp): number =>
  sh('iptables-save', [])
    .out.split('\n')
    .filter((l) => re.test(l)).length;
function hostAddr(): string {
  // stdout only: when links come and go meanwhile (other runs' tests), the kernel interrupts the
  // dump and `ip` adds "Dump was interrupted and may be inconsistent." on stderr; the addresses
  // looked for here (the host's own) are in the dump either way.
  const r = spawnSync('ip', ['-j', '-4', 'addr'], { encoding: 'utf8', timeout: 15000 });
  const a = JSON.parse(r.stdout) as {
    ifname: string;
    addr_info: { local: string; scope: string }[];
  }[];
  for (const i of a)
    for (const x of i.addr_info)
      if (x.scope === 'global' && !i.ifname.startsWith('br-') && !i.ifname.startsWith('sk')) return x.local;
  throw new Error('no global IPv4 address on the host');
}
function fetch(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let out = '';
    s.setTimeout(5000, () => {
      s.destroy();
      reject(new Error(`timeout ${host}:${port}`));
    });
    s.on('connect', () => s.write('GET /index.html HTTP/1.0\r\n\r\n'));
    s.on('data', (d) => {
      out += d.toString();
    });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}
async function expectErr(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => isSkiffError(e) && e.code === code && re.test(e.message));
}

before(async () => {
  mgr = new NetworkManager({ stateDir: join(dir, 'state'), chainPrefix: PREFIX });
  await mgr.init();
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await mgr?.destroy(true).catch((e) => console.error('destroy', e));
  for (const n of namespaces) sh('ip', ['netns', 'del', n]);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(ruleCount(new RegExp(PREFIX)), 0, 'our chains and jumps are gone');
});

test('user network: two namespaces reach each other by IP and resolve each other by name and alias', async () => {
  const net = `a${rand}`;
  const cfg = await mgr.create({ name: net, bridge: `sk${rand}a` });
  const n1 = netns('a1');
  const n2 = netns('a2');
  const e1 = await mgr.connect(net, { id: `c1${rand}`, name: 'web', netns: `/run/netns/${n1}` });
  const e2 = await mgr.connect(net, { id: `c2${rand}`, name: 'db', aliases: ['database'], netns: `/run/netns/${n2}` });
  assert.notEqual(e1.ip, e2.ip);
  assert.equal(e1.ifname, 'eth0');
  assert.match(
    sh('ip', ['netns', 'exec', n1, 'ip', 'route']).out,
    new RegExp(`default via ${cfg.gateway.replace(/\./g, '\\.')}`),
  );
  assert.equal(inNs(n1, 'ping', '-c1', '-W2', e2.ip).code, 0, 'ping by IP');
  for (const name of ['db', 'database']) {
    const r = await inNsAsync(n1, 'nslookup', name, cfg.gateway);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(e2.ip.replace(/\./g, '\\.')), `${name} resolves`);
  }
  // TCP between the two by IP
  const srv = spawn(
    'ip',
    ['netns', 'exec', n2, '/bin/busybox', 'nc', '-l', '-p', '7000', '-e', '/bin/busybox', 'echo', 'hello-from-db'],
    { stdio: 'ignore' },
  );
  children.push(srv);
  await new Promise((r) => setTimeout(r, 300));
  assert.match(inNs(n1, 'nc', '-w', '3', e2.ip, '7000').out, /hello-from-db/);
  srv.kill('SIGKILL');
  assert.equal(
    ruleCount(
      new RegExp(`-A ${PREFIX}-POSTROUTING -s ${cfg.subnet.replace(/[./]/g, '\\$&')} ! -o sk${rand}a -j MASQUERADE`),
    ),
    1,
    'MASQUERADE for the subnet',
  );
  // a second network is isolated from the first
  const other = `b${rand}`;
  await mgr.create({ name: other, bridge: `sk${rand}b` });
  const n3 = netns('b1');
  await mgr.connect(other, { id: `c3${rand}`, netns: `/run/netns/${n3}` });
  assert.notEqual(inNs(n3, 'ping', '-c1', '-W1', e2.ip).code, 0, 'isolated across networks');
  // in-use removal is refused and changes nothing
  await expectErr(mgr.remove(net), 'Conflict', /active endpoint/);
  assert.equal(inNs(n1, 'ping', '-c1', '-W2', e2.ip).code, 0);
  for (const [n, id] of [
    [net, `c1${rand}`],
    [net, `c2${rand}`],
    [other, `c3${rand}`],
  ])
    await mgr.disconnect(n, id);
  await mgr.remove(net);
  await mgr.remove(other);
  assert.equal(sh('ip', ['link', 'show', `sk${rand}a`]).code !== 0, true, 'bridge removed');
});

test('published ports answer on 127.0.0.1, the host address and by hairpin; conflicts are refused up front', async () => {
  const net = `p${rand}`;
  await mgr.create({ name: net, bridge: `sk${rand}p` });
  const ns = netns('p1');
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), 'hello-published\n');
  const ep = await mgr.connect(net, {
    id: `cp${rand}`,
    netns: `/run/netns/${ns}`,
    ports: [parsePortSpec('8080'), parsePortSpec('8081/udp')],
  });
  const http = spawn('ip', ['netns', 'exec', ns, '/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', www], {
    stdio: 'ignore',
  });
  children.push(http);
  await new Promise((r) => setTimeout(r, 300));
  const hp = ep.ports.find((p) => p.proto === 'tcp')!.hostPort;
  assert.ok(hp >= 32768 && hp <= 60999, `ephemeral port ${hp}`);
  assert.match(await fetch('127.0.0.1', hp), /hello-published/);
  const addr = hostAddr();
  assert.match(await fetch(addr, hp), /hello-published/);
  const hair = inNs(
    ns,
    'sh',
    '-c',
    `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 3 ${addr} ${hp}`,
  );
  assert.match(hair.out, /hello-published/, 'hairpin');
  assert.equal(ruleCount(new RegExp(`-A ${PREFIX}-DNAT .*--dport ${hp} -j DNAT --to-destination ${ep.ip}:8080`)), 1);
  // a taken host port (ours, then a host process) is a Conflict naming it, nothing configured
  const ns2 = netns('p2');
  await expectErr(
    mgr.connect(net, {
      id: `cq${rand}`,
      netns: `/run/netns/${ns2}`,
      ports: [{ hostPort: hp, containerPort: 80, proto: 'tcp' }],
    }),
    'Conflict',
    new RegExp(`${hp}`),
  );
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '0.0.0.0', () => r()));
  const bp = (busy.address() as { port: number }).port;
  await expectErr(
    mgr.connect(net, {
      id: `cq${rand}`,
      netns: `/run/netns/${ns2}`,
      ports: [{ hostPort: bp, containerPort: 80, proto: 'tcp' }],
    }),
    'Conflict',
    new RegExp(`${bp}`),
  );
  busy.close();
  await expectErr(
    mgr.connect(net, { id: `cq${rand}`, netns: `/run/netns/${ns2}`, ports: [parsePortSpec('203.0.113.7:8080:80')] }),
    'InvalidArgument',
    /203\.0\.113\.7 is not an address of this host/,
  );
  assert.equal(Object.keys(mgr.inspect(net).endpoints).length, 1, 'no half-made endpoint');
  assert.equal(
    sh('ip', ['netns', 'exec', ns2, 'ip', 'link', 'show', 'eth0']).code !== 0,
    true,
    'no eth0 in the refused namespace',
  );
  http.kill('SIGKILL');
  await mgr.disconnect(net, `cp${rand}`);
  assert.equal(ruleCount(new RegExp(`--dport ${hp} `)), 0, 'DNAT removed on disconnect');
  await mgr.remove(net);
});

test('userland proxy mode: 127.0.0.1 served by the Node proxy, other addresses by DNAT', async () => {
  const pm = new NetworkManager({
    stateDir: join(dir, 'state-proxy'),
    chainPrefix: `${PREFIX}P`,
    userlandProxy: 'always',
  });
  try {
    await pm.init();
    const net = `u${rand}`;
    await pm.create({ name: net, bridge: `sk${rand}u` });
    const ns = netns('u1');
    const www = join(dir, 'www-u');
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), 'hello-proxied\n');
    const ep = await pm.connect(net, { id: `cu${rand}`, netns: `/run/netns/${ns}`, ports: [parsePortSpec('8080')] });
    const http = spawn('ip', ['netns', 'exec', ns, '/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', www], {
      stdio: 'ignore',
    });
    children.push(http);
    await new Promise((r) => setTimeout(r, 300));
    const hp = ep.ports[0].hostPort;
    assert.equal(
      ruleCount(new RegExp(`-A OUTPUT ! -d 127\\.0\\.0\\.0/8 .*-j ${PREFIX}P-DNAT`)),
      1,
      'loopback excluded from DNAT',
    );
    assert.match(await fetch('127.0.0.1', hp), /hello-proxied/);
    assert.match(await fetch(hostAddr(), hp), /hello-proxied/);
    http.kill('SIGKILL');
    await pm.disconnect(net, `cu${rand}`);
    await assert.rejects(fetch('127.0.0.1', hp), 'proxy stopped on disconnect');
    await pm.remove(net);
  } finally {
    await pm.destroy(true);
  }
  assert.equal(ruleCount(new RegExp(`${PREFIX}P`)), 0);
});

test('--internal: no default route, no MASQUERADE; static --ip and ip-range', async () => {
  const net = `i${rand}`;
  const cfg = await mgr.create({
    name: net,
    bridge: `sk${rand}i`,
    internal: true,
    subnet: '10.213.0.0/24',
    ipRange: '10.213.0.128/25',
  });
  const ns = netns('i1');
  const ns2 = netns('i2');
  const e = await mgr.connect(net, { id: `ci${rand}`, netns: `/run/netns/${ns}` });
  assert.equal(e.ip, '10.213.0.128');
  const e2 = await mgr.connect(net, { id: `cj${rand}`, netns: `/run/netns/${ns2}`, ip: '10.213.0.9' });
  assert.equal(e2.ip, '10.213.0.9');
  await expectErr(
    mgr.connect(net, { id: `ck${rand}`, netns: `/run/netns/${ns2}`, ip: '10.213.0.9' }),
    'Conflict',
    /already in use/,
  );
  assert.doesNotMatch(sh('ip', ['netns', 'exec', ns, 'ip', 'route']).out, /default/);
  assert.equal(ruleCount(new RegExp(`${PREFIX}-POSTROUTING -s 10\\.213\\.0\\.0/24 ! -o`)), 0);
  assert.equal(inNs(ns, 'ping', '-c1', '-W2', e2.ip).code, 0, 'same internal network reachable');
  assert.equal(cfg.internal, true);
  await mgr.disconnect(net, `ci${rand}`);
  await mgr.disconnect(net, `cj${rand}`);
  await mgr.remove(net);
});

test('concurrent connects (veths made outside the lock) get distinct addresses, each on its own eth0', async () => {
  const net = `k${rand}`;
  const cfg = await mgr.create({ name: net, bridge: `sk${rand}k` });
  const prefix = cfg.subnet.split('/')[1];
  const nss = Array.from({ length: 6 }, (_, i) => netns(`k${i}`));
  const eps = await Promise.all(nss.map((n, i) => mgr.connect(net, { id: `ck${i}${rand}`, netns: `/run/netns/${n}` })));
  assert.equal(new Set(eps.map((e) => e.ip)).size, nss.length, 'distinct addresses');
  nss.forEach((n, i) =>
    assert.match(
      sh('ip', ['netns', 'exec', n, 'ip', '-4', 'addr', 'show', 'eth0']).out,
      new RegExp(`${eps[i]!.ip.replace(/\./g, '\\.')}/${prefix} `),
    ),
  );
  assert.deepEqual(
    Object.values(mgr.inspect(net).endpoints)
      .map((e) => e.ip)
      .sort(),
    eps.map((e) => e.ip).sort(),
  );
  // a connect whose namespace is gone fails and takes no address
  await expectErr(mgr.connect(net, { id: `cz${rand}`, netns: '/run/netns/none-such' }), 'InvalidArgument', /netns/);
  assert.equal(Object.keys(mgr.inspect(net).endpoints).length, nss.length);
  await Promise.all(eps.map((e) => mgr.disconnect(net, e.id)));
  assert.deepEqual(mgr.inspect(net).endpoints, {});
  await mgr.remove(net);
});

test('bad input: overlapping subnets, invalid CIDRs, bad names leave nothing behind', async () => {
  const net = `o${rand}`;
  const cfg = await mgr.create({ name: net, bridge: `sk${rand}o` });
  await expectErr(mgr.create({ name: `o2${rand}`, bridge: `sk${rand}q`, subnet: cfg.subnet }), 'Conflict', /overlaps/);
  await expectErr(
    mgr.create({ name: `o3${rand}`, bridge: `sk${rand}q`, subnet: '10.0.0.300/24' }),
    'InvalidArgument',
    /subnet/,
  );
  await expectErr(
    mgr.create({ name: `o3${rand}`, bridge: `sk${rand}q`, subnet: '10.9.9.1/24' }),
    'InvalidArgument',
    /not a network address/,
  );
  await expectErr(
    mgr.create({ name: `o3${rand}`, bridge: `sk${rand}q`, subnet: '10.9.9.0/24', gateway: '10.9.8.1' }),
    'InvalidArgument',
    /gateway/,
  );
  await expectErr(mgr.create({ name: 'bad name!', bridge: `sk${rand}q` }), 'InvalidArgument', /name/);
  await expectErr(mgr.create({ name: net }), 'Conflict', /already exists/);
  assert.notEqual(sh('ip', ['link', 'show', `sk${rand}q`]).code, 0, 'no bridge made');
  assert.equal(mgr.list().length, 1);
  await mgr.remove(net);
});

test('restart after SIGKILL: endpoints kept, dead ones released, exactly one copy of each rule', async () => {
  const net = `r${rand}`;
  const stateDir = join(dir, 'state');
  await mgr.create({ name: net, bridge: `sk${rand}r` });
  const live = netns('r1');
  const dead = netns('r2');
  // a separate process owns the manager mid-way and is SIGKILLed after connecting
  const script = `import { NetworkManager } from ${JSON.stringify(join(process.cwd(), 'src/network/index.ts'))};
const m = new NetworkManager({ stateDir: ${JSON.stringify(stateDir)}, chainPrefix: ${JSON.stringify(PREFIX)}, dnsPort: 5353 });
await m.init();
await m.connect(${JSON.stringify(net)}, { id: 'live${rand}', netns: '/run/netns/${live}', ports: [{ containerPort: 80, proto: 'tcp' }] });
await m.connect(${JSON.stringify(net)}, { id: 'dead${rand}', netns: '/run/netns/${dead}' });
process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`;
  const file = join(dir, 'crash.mts');
  writeFileSync(file, script);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((res, rej) => {
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) res();
    });
    child.on('exit', () => rej(new Error('child exited early')));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const before = sh('iptables-save', [])
    .out.split('\n')
    .filter((l) => l.includes(PREFIX))
    .sort();
  sh('ip', ['netns', 'del', dead]);
  namespaces.splice(namespaces.indexOf(dead), 1);
  await mgr.close();
  mgr = new NetworkManager({ stateDir, chainPrefix: PREFIX });
  await mgr.init();
  await mgr.init(); // twice: still one copy
  const s = mgr.inspect(net);
  assert.deepEqual(Object.keys(s.endpoints), [`live${rand}`], 'the endpoint of the dead namespace is released');
  const after2 = sh('iptables-save', [])
    .out.split('\n')
    .filter((l) => l.includes(PREFIX))
    .sort();
  assert.deepEqual(after2, before, 'same rules, no duplicates');
  assert.equal(new Set(after2.filter((l) => l.startsWith('-A'))).size, after2.filter((l) => l.startsWith('-A')).length);
  assert.equal(inNs(live, 'ping', '-c1', '-W2', s.config.gateway).code, 0, 'live endpoint still wired');
  await mgr.disconnect(net, `live${rand}`);
  await mgr.remove(net);
});

test('engine driver: default bridge created lazily with a free subnet, containers by pid, exited ones swept', async () => {
  const d = createEngineDriver(mgr);
  const rec = {
    Name: `bridge${rand}`,
    Id: randomBytes(32).toString('hex'),
    Driver: 'bridge',
    Internal: false,
    Labels: {},
    IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] },
    Options: { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': `sk${rand}d` },
  };
  const sleeper = () => {
    const c = spawn('unshare', ['-n', 'sleep', '60'], { stdio: 'ignore' });
    children.push(c);
    return c;
  };
  const s1 = sleeper();
  const s2 = sleeper();
  await new Promise((r) => setTimeout(r, 200));
  const r1 = await d.connect(rec, {
    id: `d1${rand}`,
    pid: s1.pid!,
    aliases: [],
    ports: portRequests({ '80/tcp': [{}] }),
  });
  assert.equal(rec.IPAM.Config[0].Gateway, r1.Gateway, 'chosen subnet written back into the record');
  assert.ok(r1.IPAddress && r1.IPPrefixLen > 0 && /^02:42:/.test(r1.MacAddress));
  assert.equal(r1.endpoint!.ports.length, 1);
  const r2 = await d.connect(rec, { id: `d2${rand}`, pid: s2.pid!, aliases: [] });
  assert.equal(
    sh('nsenter', [`--net=/proc/${s1.pid}/ns/net`, '/bin/busybox', 'ping', '-c1', '-W2', r2.IPAddress]).code,
    0,
  );
  s1.kill('SIGKILL');
  await new Promise((r) => s1.once('exit', r));
  const s3 = sleeper();
  await new Promise((r) => setTimeout(r, 200));
  const r3 = await d.connect(rec, { id: `d3${rand}`, pid: s3.pid!, aliases: [] });
  assert.equal(r3.IPAddress, r1.IPAddress, "the exited container's address was released and reused");
  assert.equal(
    ruleCount(new RegExp(`${PREFIX}-DNAT .*${r1.IPAddress.replace(/\./g, '\\.')}:80`)),
    0,
    'its DNAT is gone',
  );
  await d.disconnect(rec, { id: `d2${rand}` });
  await d.disconnect(rec, { id: `d3${rand}` });
  await d.remove(rec);
  assert.equal(mgr.has(rec.Name), false);
});

/** A /24 in 10.150.0.0/15 that no host route touches (other runs may hold some). */
function freeSubnet(): { subnet: string; gw: string; alt: string } {
  const routes = sh('ip', ['-4', 'route', 'show', 'table', 'all']).out;
  for (let i = 0; i < 200; i++) {
    const b = 150 + (randomBytes(1)[0] % 2);
    const c = randomBytes(1)[0];
    if (!routes.includes(`10.${b}.${c}.`))
      return { subnet: `10.${b}.${c}.0/24`, gw: `10.${b}.${c}.1`, alt: `10.${b}.${c}.9` };
  }
  throw new Error('no free test subnet');
}
function defaultBridgeRecord(tag: string) {
  return {
    Name: `bridge${rand}${tag}`,
    Id: randomBytes(32).toString('hex'),
    Driver: 'bridge',
    Internal: false,
    Labels: {},
    IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] },
    Options: { 'com.docker.network.bridge.default_bridge': 'true' },
  };
}

test('an existing default bridge is adopted when its address fits, refused with what to do when not', async () => {
  const made: string[] = [];
  const link = (name: string, kind = 'bridge', addr?: string) => {
    // no dummy module on every kernel: a veth pair stands in for "some other device"
    const args = kind === 'veth' ? ['type', 'veth', 'peer', 'name', `${name}x`] : ['type', kind];
    assert.equal(sh('ip', ['link', 'add', name, ...args]).code, 0);
    made.push(name);
    if (addr) assert.equal(sh('ip', ['addr', 'add', addr, 'dev', name]).code, 0);
    sh('ip', ['link', 'set', name, 'up']);
  };
  try {
    // left by an earlier engine: a bridge with an address and nothing attached → taken over as is
    const a = freeSubnet();
    const br = `sk${rand}A`;
    link(br, 'bridge', `${a.gw}/24`);
    const d = createEngineDriver(mgr, { defaultBridge: br });
    const rec = defaultBridgeRecord('a');
    await d.create(rec);
    assert.equal(rec.IPAM.Config[0].Subnet, a.subnet, "the bridge's own subnet is the network's");
    assert.equal(rec.IPAM.Config[0].Gateway, a.gw);
    const sl = spawn('unshare', ['-n', 'sleep', '60'], { stdio: 'ignore' });
    children.push(sl);
    await new Promise((r) => setTimeout(r, 200));
    const ep = await d.connect(rec, { id: `ad${rand}`, pid: sl.pid!, aliases: [] });
    assert.ok(ep.IPAddress.startsWith(a.gw.slice(0, a.gw.lastIndexOf('.') + 1)), ep.IPAddress);
    assert.equal(
      sh('nsenter', [`--net=/proc/${sl.pid}/ns/net`, '/bin/busybox', 'ping', '-c1', '-W2', a.gw]).code,
      0,
      'the adopted bridge carries traffic',
    );
    await d.disconnect(rec, { id: `ad${rand}` });
    await d.remove(rec);
    made.splice(made.indexOf(br), 1); // removing the network removed the (now ours) bridge

    // --bip that matches the bridge's address: adopted; one that does not: refused, bridge untouched
    const b = freeSubnet();
    const br2 = `sk${rand}B`;
    link(br2, 'bridge', `${b.gw}/24`);
    const mism = createEngineDriver(mgr, { defaultBridge: br2, bip: `${b.alt}/24` });
    await expectErr(
      mism.create(defaultBridgeRecord('b')),
      'Conflict',
      new RegExp(
        `interface ${br2} already exists on the host with address ${b.gw}/24, not the configured ${b.alt}/24 \\(--bip\\): start with --bip ${b.gw}/24, delete it \\(ip link delete ${br2}\\), or give the engine a bridge of its own \\(--bridge NAME\\)`,
      ),
    );
    assert.match(sh('ip', ['-4', 'addr', 'show', 'dev', br2]).out, new RegExp(`inet ${b.gw}/24`), 'left as found');
    assert.doesNotMatch(sh('ip', ['-4', 'addr', 'show', 'dev', br2]).out, new RegExp(b.alt));
    const match = createEngineDriver(mgr, { defaultBridge: br2, bip: `${b.gw}/24` });
    const recB = defaultBridgeRecord('b2');
    await match.create(recB);
    assert.equal(recB.IPAM.Config[0].Subnet, b.subnet);
    await match.remove(recB);
    made.splice(made.indexOf(br2), 1);

    // something else under that name, or a bridge that still has another engine's ports
    const dummy = `sk${rand}C`;
    link(dummy, 'veth');
    await expectErr(
      createEngineDriver(mgr, { defaultBridge: dummy }).create(defaultBridgeRecord('c')),
      'Conflict',
      new RegExp(`interface ${dummy} already exists on the host and is a veth device, not a bridge: delete it`),
    );
    const c = freeSubnet();
    const br3 = `sk${rand}D`;
    link(br3, 'bridge', `${c.gw}/24`);
    const port = `sk${rand}P`;
    link(port, 'veth');
    assert.equal(sh('ip', ['link', 'set', port, 'master', br3]).code, 0);
    await expectErr(
      createEngineDriver(mgr, { defaultBridge: br3 }).create(defaultBridgeRecord('d')),
      'Conflict',
      new RegExp(
        `interface ${br3} already exists on the host with 1 attached interface\\(s\\) this engine did not make \\(${port}\\): another engine`,
      ),
    );
    assert.equal(mgr.list().filter((n) => n.config.name.startsWith(`bridge${rand}`)).length, 0, 'no network recorded');
    // a user-defined network never takes over an existing interface
    await expectErr(mgr.create({ name: `u${rand}`, bridge: dummy }), 'Conflict', /already exists on the host$/);
  } finally {
    for (const l of made) sh('ip', ['link', 'del', l]);
  }
});

test('/etc files: hosts, resolv.conf (embedded DNS or filtered host resolvers)', () => {
  const h = hostsFile({ hostname: 'web', ip: '10.1.0.2', aliases: ['www'], extraHosts: ['db:10.1.0.9'] });
  assert.match(h, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(h, /^10\.1\.0\.2\tweb www$/m);
  assert.match(h, /^10\.1\.0\.9\tdb$/m);
  assert.equal(
    resolvConf({ gateway: '10.1.0.1', search: ['x'], options: ['ndots:2'] }),
    'nameserver 10.1.0.1\nsearch x\noptions ndots:2\n',
  );
  const f = join(dir, 'resolv');
  writeFileSync(f, 'nameserver 127.0.0.53\nnameserver 10.9.9.9\n');
  assert.equal(resolvConf({ hostFile: f }), 'nameserver 10.9.9.9\n');
});

test('pod network (dnatMasquerade hostPorts): a same-bridge Service backend sees the client Pod; a Pod reaches itself', async () => {
  // A manager as the pod network runs it, and a table of our own doing what the service proxy does
  // (src/kube/proxy/nft.ts): DNAT a virtual IP to a Pod, masquerade only a Pod reaching itself.
  const pods = new NetworkManager({
    stateDir: join(dir, 'state-pods'),
    chainPrefix: `${PREFIX}P`,
    dnatMasquerade: 'hostPorts',
  });
  await pods.init();
  const table = `sk${rand}svc`;
  const vips = `10.248.${parseInt(rand.slice(0, 2), 16)}`; // a range no other test uses
  try {
    await pods.create({ name: `pods${rand}`, bridge: `sk${rand}pod`, dns: false });
    const [na, nb] = [netns('pa'), netns('pb')];
    const a = await pods.connect(`pods${rand}`, { id: `pa${rand}`, netns: `/run/netns/${na}` });
    const b = await pods.connect(`pods${rand}`, { id: `pb${rand}`, netns: `/run/netns/${nb}` });
    // each Pod answers with the address it sees the connection come from
    const peerEcho =
      "require('net').createServer((s)=>s.end(s.remoteAddress+'\\n')).listen(8080,'0.0.0.0');console.log('ready')";
    for (const ns of [na, nb]) {
      const c = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', peerEcho], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      children.push(c);
      await new Promise((r) => c.stdout!.once('data', r));
    }
    // the virtual IPs never leave: anything not translated is dropped here
    assert.equal(sh('ip', ['route', 'add', 'blackhole', `${vips}.0/24`]).code, 0);
    const nft = [
      `add table ip ${table}`,
      `add chain ip ${table} pre { type nat hook prerouting priority dstnat; }`,
      `add chain ip ${table} post { type nat hook postrouting priority srcnat; }`,
      `add rule ip ${table} pre ip daddr ${vips}.10 tcp dport 80 dnat to ${b.ip}:8080`,
      `add rule ip ${table} pre ip daddr ${vips}.11 tcp dport 80 dnat to ${a.ip}:8080`,
      `add rule ip ${table} post ct status dnat ip saddr . ip daddr { ${a.ip} . ${a.ip} } masquerade`,
    ].join('\n');
    assert.equal(sh('nft', ['-f', '-'], nft).code, 0);
    const ask = (vip: string) => inNsAsync(na, 'nc', '-w', '3', vip, '80');
    assert.equal((await ask(`${vips}.10`)).out.trim(), a.ip, 'the backend sees the client Pod, not the bridge');
    const cfg = pods.inspect(`pods${rand}`).config;
    assert.equal((await ask(`${vips}.11`)).out.trim(), cfg.gateway, 'a Pod reaching itself is masqueraded');
    // only hostPort hairpins are masqueraded on the pod network's bridge
    assert.equal(ruleCount(new RegExp(`-A ${PREFIX}P-POSTROUTING .*--ctstate DNAT -j MASQUERADE`)), 0);
  } finally {
    sh('nft', ['delete', 'table', 'ip', table]);
    sh('ip', ['route', 'del', 'blackhole', `${vips}.0/24`]);
    await pods.destroy(true);
  }
});
