// Container networking through the real docker CLI against a private `skiff engine` (issue 5's
// acceptance): user networks with name/alias resolution, published ports on 127.0.0.1, isolation
// between networks, `network inspect`, connect/disconnect of running containers, none/host/
// container: modes, bad input, and an engine SIGKILL + restart that keeps networking working with no
// duplicate rules. Traffic goes only to loopback and to addresses inside the containers' namespaces.
// after() checks that no bridge, veth or rule of this engine is left behind. Debian busybox 1.35's
// `wget -T` segfaults, so timeouts come from the `timeout` applet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEngine, type EngineFixture } from '../fixtures/engine.js';

let e: EngineFixture;
const rand = Math.random().toString(16).slice(2, 8);
const bridges = new Set<string>();
const veths = new Set<string>();

const sh = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const ourRules = (): string[] =>
  sh('iptables-save', [])
    .split('\n')
    .filter((l) => l.includes(`${e.chainPrefix}-`));
const linkExists = (name: string): boolean => {
  try {
    sh('ip', ['link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
};
const inspect = (ref: string) => JSON.parse(e.docker(['inspect', ref]))[0];
const ipOf = (ref: string, net: string): string => inspect(ref).NetworkSettings.Networks[net].IPAddress;
/** Output of a command in a fresh container on `net` (a network or container:NAME). Probes use new
 *  containers rather than `docker exec`, so each one also exercises the attach path. */
const runIn = (net: string, cmd: string): string =>
  e.docker(['run', '--rm', '--network', net, 'busybox', 'sh', '-c', cmd]);
/** Exit status of `cmd` as the container's shell saw it (a failing `docker run` itself cannot pass
 *  for an unreachable peer). */
const rcIn = (net: string, cmd: string): number =>
  Number(/rc=(\d+)/.exec(runIn(net, `${cmd} >/dev/null 2>&1; echo rc=$?`))?.[1] ?? -1);

/** Remembers a network's bridge and the host veths on it, for the leftover check in after(). */
function track(net: string): void {
  const n = JSON.parse(e.docker(['network', 'inspect', net]))[0];
  const br = n.Options['com.docker.network.bridge.name'] || `br-${n.Id.slice(0, 12)}`;
  bridges.add(br);
  for (const l of JSON.parse(sh('ip', ['-j', 'link', 'show', 'master', br])) as { ifname: string }[])
    veths.add(l.ifname);
}

async function get(port: number, path = '/index.html', host = '127.0.0.1'): Promise<string> {
  const r = await fetch(`http://${host}:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '0.0.0.0', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

const httpd = (name: string, extra: string[]): string =>
  e
    .docker([
      'run',
      '-d',
      '--name',
      name,
      ...extra,
      'busybox',
      'sh',
      '-c',
      `mkdir -p /www && echo hello-from-${name} > /www/index.html && exec httpd -f -p 80 -h /www`,
    ])
    .trim();

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('network e2e needs root');
  e = await startEngine();
});

after(async () => {
  const prefix = e?.chainPrefix;
  await e?.stop();
  if (!prefix) return;
  bridges.add(e.bridge);
  for (const b of bridges) assert.equal(linkExists(b), false, `bridge ${b} removed`);
  for (const v of veths) assert.equal(linkExists(v), false, `veth ${v} removed`);
  assert.deepEqual(
    sh('iptables-save', [])
      .split('\n')
      .filter((l) => l.includes(`${prefix}-`)),
    [],
    'no chain or jump of ours left',
  );
});

test('user network: containers reach each other by name and alias (ping, wget, nc); inspect lists them', () => {
  const net = `app${rand}`;
  e.docker(['network', 'create', net]);
  e.docker([
    'run',
    '-d',
    '--name',
    `web${rand}`,
    '--network',
    net,
    '--network-alias',
    'www',
    'busybox',
    'sh',
    '-c',
    'mkdir /www && echo hello-web > /www/index.html && httpd -p 80 -h /www && exec nc -ll -p 7000 -e echo hello-nc',
  ]);
  e.docker(['run', '-d', '--name', `db${rand}`, '--network', net, 'busybox', 'sleep', '300']);
  track(net);
  const webIp = ipOf(`web${rand}`, net);
  assert.match(webIp, /^\d+\.\d+\.\d+\.\d+$/);
  const out = runIn(
    `container:db${rand}`,
    `ping -c1 -W2 web${rand} >/dev/null && echo ping-ok; timeout 5 wget -q -O - http://www/index.html; nc -w 3 web${rand} 7000 </dev/null; cat /etc/resolv.conf`,
  );
  assert.match(out, /ping-ok/);
  assert.match(out, /hello-web/, 'wget by alias');
  assert.match(out, /hello-nc/, 'nc by name');
  const gw = inspect(`db${rand}`).NetworkSettings.Networks[net].Gateway;
  assert.match(out, new RegExp(`nameserver ${gw.replace(/\./g, '\\.')}`), 'resolv.conf points at the embedded DNS');
  assert.match(
    e.docker(['cp', `web${rand}:/etc/hosts`, '-']),
    new RegExp(`${webIp.replace(/\./g, '\\.')}\\t\\w+ web${rand} www`),
  );
  const n = JSON.parse(e.docker(['network', 'inspect', net]))[0];
  const listed = Object.values(n.Containers as Record<string, { Name: string; IPv4Address: string }>)
    .map((c) => `${c.Name} ${c.IPv4Address}`)
    .sort();
  assert.equal(listed.length, 2);
  assert.ok(listed.includes(`web${rand} ${webIp}/${n.IPAM.Config[0].Subnet.split('/')[1]}`), JSON.stringify(listed));
  // running containers cannot be removed from under the network
  const rm = e.dockerRaw(['network', 'rm', net]);
  assert.notEqual(rm.status, 0);
  assert.match(rm.stderr, /active endpoints/);
  e.docker(['rm', '-f', `web${rand}`, `db${rand}`]);
  e.docker(['network', 'rm', net]);
});

test('networks are isolated from each other; connect/disconnect a running container', () => {
  const [a, b] = [`isoa${rand}`, `isob${rand}`];
  e.docker(['network', 'create', a]);
  e.docker(['network', 'create', b]);
  e.docker(['run', '-d', '--name', `ia${rand}`, '--network', a, 'busybox', 'sleep', '300']);
  e.docker(['run', '-d', '--name', `ib${rand}`, '--network', b, 'busybox', 'sleep', '300']);
  track(a);
  track(b);
  const ipA = ipOf(`ia${rand}`, a);
  assert.equal(rcIn(`container:ib${rand}`, `ping -c1 -W1 ${ipA}`), 1, 'no route across networks');
  assert.equal(rcIn(b, `ping -c1 -W1 ${ipA}`), 1, 'nor from a new container on the other network');
  e.docker(['network', 'connect', '--alias', 'second', a, `ib${rand}`]);
  assert.equal(rcIn(`container:ib${rand}`, `ping -c1 -W2 ${ipA}`), 0, 'connected: reachable');
  assert.equal(rcIn(a, 'ping -c1 -W2 second'), 0, 'alias of the connected endpoint resolves');
  assert.match(runIn(`container:ib${rand}`, 'ip -o addr'), /eth1/);
  const second = ipOf(`ib${rand}`, a);
  track(a);
  e.docker(['network', 'disconnect', a, `ib${rand}`]);
  assert.equal(rcIn(`container:ib${rand}`, `ping -c1 -W1 ${ipA}`), 1, 'disconnected: unreachable');
  assert.equal(rcIn(`container:ia${rand}`, `ping -c1 -W1 ${second}`), 1, 'its address on the network is gone');
  assert.doesNotMatch(runIn(`container:ib${rand}`, 'ip -o addr'), /eth1/);
  e.docker(['rm', '-f', `ia${rand}`, `ib${rand}`]);
  e.docker(['network', 'rm', a, b]);
});

test('published ports answer on 127.0.0.1 (-p 127.0.0.1:0:80, -p HOSTPORT:80); conflicts are clear and leave nothing', async () => {
  httpd(`pa${rand}`, ['-p', '127.0.0.1:0:80']);
  const hp = await freePort();
  httpd(`pb${rand}`, ['-p', `${hp}:80`]);
  track('bridge');
  const mapped = e.docker(['port', `pa${rand}`, '80']).trim();
  assert.match(mapped, /^127\.0\.0\.1:\d+$/);
  const pa = Number(mapped.split(':')[1]);
  assert.equal(inspect(`pa${rand}`).NetworkSettings.Ports['80/tcp'][0].HostPort, String(pa));
  assert.match(
    e.docker(['ps', '--filter', `name=pa${rand}`, '--format', '{{.Ports}}']),
    new RegExp(`127\\.0\\.0\\.1:${pa}->80/tcp`),
  );
  assert.ok(inspect(`pa${rand}`).NetworkSettings.IPAddress, 'default bridge address at the top level');
  for (let i = 0; ; i++) {
    try {
      assert.match(await get(pa), new RegExp(`hello-from-pa${rand}`));
      assert.match(await get(hp), new RegExp(`hello-from-pb${rand}`));
      break;
    } catch (err) {
      if (i > 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // the same host port again: a clear error, the container is left created without any endpoint
  const rulesBefore = ourRules().length;
  const dup = e.dockerRaw(['run', '-d', '--name', `pc${rand}`, '-p', `${hp}:80`, 'busybox', 'sleep', '300']);
  assert.notEqual(dup.status, 0);
  assert.match(dup.stderr, new RegExp(`${hp}.*already allocated`));
  const pc = inspect(`pc${rand}`);
  assert.equal(pc.State.Running, false);
  assert.equal(pc.NetworkSettings.Networks.bridge.IPAddress, '');
  assert.equal(ourRules().length, rulesBefore, 'no rule added');
  assert.match(await get(hp), /hello-from-pb/, 'the owner still answers');
  // stopping the owner releases the port: the second container can take it now
  e.docker(['rm', '-f', `pb${rand}`]);
  e.docker(['start', `pc${rand}`]);
  assert.equal(e.docker(['port', `pc${rand}`, '80']).trim(), `0.0.0.0:${hp}`);
  e.docker(['rm', '-f', `pa${rand}`, `pc${rand}`]);
  assert.equal(
    ourRules().filter((l) => l.includes('DNAT --to-destination')).length,
    0,
    'DNAT rules gone with the containers',
  );
});

test('--network none, host and container:NAME; static --ip on a user network', () => {
  assert.doesNotMatch(e.docker(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']), /eth0/);
  assert.match(
    e.docker(['run', '--rm', '--network', 'none', 'busybox', 'ping', '-c1', '-W1', '127.0.0.1']),
    /1 packets received/,
  );
  assert.match(
    e.docker(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']),
    new RegExp(`: ${e.bridge}:`),
    "sees the host's links",
  );
  const net = `st${rand}`;
  e.docker(['network', 'create', '--subnet', '10.231.7.0/24', '--ip-range', '10.231.7.128/25', net]);
  e.docker(['run', '-d', '--name', `s1${rand}`, '--network', net, '--ip', '10.231.7.50', 'busybox', 'sleep', '300']);
  e.docker(['run', '-d', '--name', `s2${rand}`, '--network', net, 'busybox', 'sleep', '300']);
  track(net);
  assert.equal(ipOf(`s1${rand}`, net), '10.231.7.50');
  assert.match(ipOf(`s2${rand}`, net), /^10\.231\.7\.(1[2-9]\d|2\d\d)$/, 'dynamic addresses from the ip-range');
  const shared = e.docker(['run', '--rm', '--network', `container:s1${rand}`, 'busybox', 'ip', '-o', '-4', 'addr']);
  assert.match(shared, /10\.231\.7\.50/, "joins the other container's namespace");
  const taken = e.dockerRaw(['run', '--rm', '--network', net, '--ip', '10.231.7.50', 'busybox', 'true']);
  assert.notEqual(taken.status, 0);
  assert.match(taken.stderr, /10\.231\.7\.50.*in use|in use.*10\.231\.7\.50/i);
  const onDefault = e.dockerRaw(['run', '--rm', '--ip', '172.17.0.99', 'busybox', 'true']);
  assert.notEqual(onDefault.status, 0);
  assert.match(onDefault.stderr, /user defined networks only/);
  e.docker(['rm', '-f', `s1${rand}`, `s2${rand}`]);
  e.docker(['network', 'rm', net]);
});

test('bad input: overlapping subnet, invalid CIDR, gateway outside, unknown network → clear errors, nothing made', () => {
  const net = `ov${rand}`;
  e.docker(['network', 'create', '--subnet', '10.232.0.0/16', net]);
  track(net);
  const overlap = e.dockerRaw(['network', 'create', '--subnet', '10.232.5.0/24', `ov2${rand}`]);
  assert.notEqual(overlap.status, 0);
  // moby's words (scripts look for them), then which network
  assert.match(
    overlap.stderr,
    /invalid pool request: Pool overlaps with other one on this address space \(10\.232\.5\.0\/24 and 10\.232\.0\.0\/16 of network ov/,
  );
  const bad = e.dockerRaw(['network', 'create', '--subnet', '10.233.0.300/24', `bad${rand}`]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /invalid|CIDR/i);
  const notNet = e.dockerRaw(['network', 'create', '--subnet', '10.234.0.1/24', `bad${rand}`]);
  assert.match(notNet.stderr, /not a network address/);
  const gw = e.dockerRaw(['network', 'create', '--subnet', '10.235.0.0/24', '--gateway', '10.236.0.1', `bad${rand}`]);
  assert.match(gw.stderr, /gateway/); // the CLI itself refuses it: no matching subnet for gateway
  assert.deepEqual(
    readdirSync(join(e.dataRoot, 'network'))
      .filter((f) => f.endsWith('.json'))
      .sort(),
    ['bridge.json', `${net}.json`].sort(),
    'no network state (hence no bridge) was made',
  );
  assert.doesNotMatch(e.docker(['network', 'ls', '--format', '{{.Name}}']), new RegExp(`ov2${rand}|bad${rand}`));
  const unknown = e.dockerRaw(['run', '--rm', '--network', `nosuch${rand}`, 'busybox', 'true']);
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, new RegExp(`network nosuch${rand} not found`));
  e.docker(['network', 'rm', net]);
});

test('docker build: RUN steps are on the default bridge (reach a container there), --network none has only lo', () => {
  httpd(`bw${rand}`, []);
  track('bridge');
  const ip = ipOf(`bw${rand}`, 'bridge');
  const ctx = mkdtempSync('/tmp/skiff-netbuild-');
  try {
    writeFileSync(
      join(ctx, 'Dockerfile'),
      `FROM busybox\nRUN timeout 5 wget -q -O /fetched http://${ip}/index.html && ip -o -4 addr show eth0\n`,
    );
    const out = e.docker(['build', '--no-cache', '-t', `nb${rand}`, ctx], { env: { DOCKER_BUILDKIT: '0' } });
    assert.match(out, /inet \d+\.\d+\.\d+\.\d+/, 'the RUN container has an address on the bridge');
    assert.match(
      e.docker(['run', '--rm', '--network', 'none', `nb${rand}`, 'cat', '/fetched']),
      new RegExp(`hello-from-bw${rand}`),
    );
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN ip -o link | grep -v eth0\n');
    e.docker(['build', '--no-cache', '--network', 'none', '-t', `nb${rand}`, ctx], { env: { DOCKER_BUILDKIT: '0' } });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  e.docker(['rm', '-f', `bw${rand}`]);
  e.docker(['rmi', `nb${rand}`]);
  assert.equal(
    sh('ip', ['netns', 'list'])
      .split('\n')
      .filter((l) => l.startsWith('skiff-build-')).length,
    0,
    'build sandboxes deleted',
  );
});

test('engine SIGKILLed and restarted: containers keep networking, names and ports; no duplicate rules', async () => {
  const net = `kr${rand}`;
  e.docker(['network', 'create', net]);
  e.docker(['run', '-d', '--name', `k1${rand}`, '--network', net, 'busybox', 'sleep', '300']);
  httpd(`k2${rand}`, ['--network', net, '-p', '127.0.0.1:0:80']);
  track(net);
  const port = Number(
    e
      .docker(['port', `k2${rand}`, '80'])
      .trim()
      .split(':')[1],
  );
  const rulesBefore = ourRules().sort();
  process.kill(e.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  assert.match(await get(port), /hello-from-k2/, 'DNAT keeps working while the engine is down');
  await e.restart();
  assert.deepEqual(ourRules().sort(), rulesBefore, 'the same rules, once each');
  const dups = ourRules().filter((l, i, a) => a.indexOf(l) !== i && l.startsWith('-A'));
  assert.deepEqual(dups, []);
  assert.match(
    runIn(`container:k1${rand}`, `timeout 5 wget -q -O - http://k2${rand}/index.html`),
    /hello-from-k2/,
    'DNS is back',
  );
  assert.match(await get(port), /hello-from-k2/);
  // a new container after the restart gets a fresh address and resolves the old ones
  assert.equal(e.dockerRaw(['run', '--rm', '--network', net, 'busybox', 'ping', '-c1', '-W2', `k1${rand}`]).status, 0);
  e.docker(['rm', '-f', `k1${rand}`, `k2${rand}`]);
  e.docker(['network', 'rm', net]);
});
