// The real crictl (cri-tools v1.37.0) against `skiff engine --cri-socket`: an image made by
// `docker build` is listed and runs in a pod with no import step; runp/create/start/ps/pods/images/
// pull (from a local `skiff registry`)/exec (sync, and -it in a pty)/logs -f/inspect/inspectp/stats/
// port-forward/stop/rm/rmp, a SIGKILL and restart of the engine (pods adopted); the pod's address is in the pod CIDR and reachable from the host and from
// another pod, a hostPort answers on 127.0.0.1; afterwards no sandbox process, veth, address, pod
// cgroup or mount is left. An NRI plugin (written in the test) sees the lifecycle in order and
// adjusts a container; an adjustment that is not applied fails CreateContainer and leaves nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  cgroupsNamed,
  criTools,
  mountsUnder,
  startCriEngine,
  startSkiffRegistry,
  type CriFixture,
} from '../fixtures/cri.js';
import { freePort } from '../fixtures/distribution.js';
import { connectNriPlugin } from '../fixtures/nri-plugin.js';

let f: CriFixture;
let tools: string;
let dir: string;
let registry: { host: string; stop(): Promise<void> };
const sfx = randomBytes(3).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (process.getuid?.() !== 0) throw new Error('crictl e2e needs root (pods, namespaces, cgroups, iptables)');
  tools = criTools();
  dir = mkdtempSync('/tmp/skcri-e2e-');
  [f, registry] = await Promise.all([
    // NRI for the last test; its plugin runs in this process: a 10 s request timeout keeps a busy
    // machine from dropping it (the deadline itself is src/nri/nri.test.ts's subject)
    startCriEngine({ tools, args: ['--nri-socket', join(dir, 'nri.sock'), '--nri-request-timeout', '10s'] }),
    startSkiffRegistry(join(dir, 'registry')), // removed with the test's directory
  ]);
});

after(async () => {
  await f?.stop();
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function podConfig(name: string, extra: Record<string, unknown> = {}): string {
  const p = join(dir, `${name}.pod.json`);
  writeFileSync(
    p,
    JSON.stringify({
      metadata: { name, namespace: 'e2e', uid: `uid-${name}-${sfx}`, attempt: 0 },
      hostname: name,
      log_directory: join(dir, 'logs', name),
      linux: { cgroup_parent: `/kubepods/besteffort/pod${name}-${sfx}` },
      ...extra,
    }),
  );
  return p;
}

function ctrConfig(name: string, image: string, command: string[], extra: Record<string, unknown> = {}): string {
  const p = join(dir, `${name}.ctr.json`);
  writeFileSync(
    p,
    JSON.stringify({ metadata: { name }, image: { image }, command, log_path: `${name}.log`, linux: {}, ...extra }),
  );
  return p;
}

function inPodCidr(ip: string): boolean {
  const [a, b, c] = f.podCidr.split('.');
  return ip.startsWith(`${a}.${b}.${c}.`) && ip !== `${a}.${b}.${c}.1`;
}

test('crictl drives pods end to end; nothing is left behind', async () => {
  // docker build → visible to CRI with no import step
  const img = `cri-e2e/built-${sfx}:v1`;
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo built-by-docker > /built.txt\n');
  f.engine.docker(['build', '-q', '-t', img, dir], { timeout: 120_000 });
  const images = f.crictl(['images']);
  assert.match(images, new RegExp(`docker.io/cri-e2e/built-${sfx}\\s+v1`));
  const id = JSON.parse(f.crictl(['inspecti', img])).status.id as string;
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(JSON.parse(f.crictl(['inspecti', id])).status.id, id, 'ImageStatus by id');

  // pull from a local registry (pushed by the docker CLI through the engine, then removed locally)
  const pulled = `${registry.host}/e2e/bb-${sfx}:v1`;
  f.engine.docker(['tag', 'busybox', pulled]);
  f.engine.docker(['push', pulled], { timeout: 120_000 });
  f.engine.docker(['rmi', pulled]);
  assert.match(f.crictl(['pull', pulled], { timeout: 120_000 }), /Image is up to date for sha256:/);
  const st = JSON.parse(f.crictl(['inspecti', pulled])).status;
  assert.ok(st.repoDigests.some((d: string) => d.startsWith(`${registry.host}/e2e/bb-${sfx}@sha256:`)));
  assert.equal(JSON.parse(f.crictl(['inspecti', st.repoDigests[0]])).status.id, st.id, 'ImageStatus by digest');

  // a pod with a hostPort, a web server in it, a client pod
  const hostPort = await freePort();
  const web = f
    .crictl(['runp', podConfig(`web-${sfx}`, { port_mappings: [{ container_port: 8080, host_port: hostPort }] })])
    .trim();
  const cli = f.crictl(['runp', podConfig(`cli-${sfx}`)]).trim();
  assert.match(f.crictl(['pods']), new RegExp(`${web.slice(0, 13)}.*Ready`));
  const webIp = JSON.parse(f.crictl(['inspectp', web])).status.network.ip as string;
  assert.ok(inPodCidr(webIp), `${webIp} in ${f.podCidr}`);
  const pausePid = JSON.parse(f.crictl(['inspectp', web])).info.pid as number;
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pausePid}/status`, 'utf8'))?.[1]);
  assert.ok(rssKb > 0 && rssKb <= 512, `the pause process's RSS is ${rssKb} kB (target ≤ 0.5 MB)`);

  // GetContainerEvents (the agent's PLEG) through `crictl events`
  const events = spawn(join(tools, 'crictl'), ['--config', f.crictlConfig, 'events', '-o', 'json']);
  let eventText = '';
  events.stdout.on('data', (d) => (eventText += d));
  await sleep(300);
  const c1 = f
    .crictl([
      'create',
      web,
      ctrConfig('httpd', img, [
        'sh',
        '-c',
        'mkdir -p /www; cat /built.txt > /www/index.html; echo started; i=0; httpd -f -p 8080 -h /www & while true; do echo tick $i; i=$((i+1)); sleep 0.2; done',
      ]),
      podConfig(`web-${sfx}`),
    ])
    .trim();
  f.crictl(['start', c1]);
  assert.match(f.crictl(['ps']), new RegExp(`${c1.slice(0, 13)}.*Running.*httpd`));
  await sleep(800);
  assert.match(f.crictl(['logs', c1]), /^started\ntick 0\n/);
  const logPath = JSON.parse(f.crictl(['inspect', c1])).status.logPath as string;
  assert.match(readFileSync(logPath, 'utf8'), /^\S+ stdout F started$/m, 'CRI log format');

  // exec sync, exit codes, exec -it through a pty
  // crictl exec -s prints stdout and stderr, each followed by a newline
  assert.equal(f.crictl(['exec', '-s', c1, 'cat', '/built.txt']), 'built-by-docker\n\n\n');
  const bad = f.crictlRaw(['exec', '-s', c1, 'sh', '-c', 'exit 7']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout + bad.stderr, /exit code 7|exited with 7/);
  assert.equal(f.crictl(['exec', c1, 'hostname']).trim(), `web-${sfx}`);
  const tty = execFileSync(
    'script',
    ['-qfc', `${join(tools, 'crictl')} --config ${f.crictlConfig} exec -it ${c1} sh`, '/dev/null'],
    { input: 'echo TTY=$(tty)\nexit\n', encoding: 'utf8', timeout: 30_000 },
  );
  assert.match(tty, /TTY=\/dev\/pts\/\d+/);

  // logs -f follows new lines
  const follow = spawn(join(tools, 'crictl'), ['--config', f.crictlConfig, 'logs', '-f', '--tail', '1', c1]);
  let followed = '';
  follow.stdout.on('data', (d) => (followed += d));
  await sleep(1200);
  follow.kill();
  assert.ok((followed.match(/tick \d+/g) ?? []).length >= 3, `logs -f printed: ${followed}`);

  // network: host → pod, hostPort on 127.0.0.1, pod → pod, port-forward
  const wget = (url: string) => f.crictl(['exec', '-s', c1, 'wget', '-qO-', url]);
  assert.equal(
    execFileSync('wget', ['-qO-', `http://${webIp}:8080/`], { encoding: 'utf8', timeout: 10_000 }),
    'built-by-docker\n',
  );
  assert.equal(
    execFileSync('wget', ['-qO-', `http://127.0.0.1:${hostPort}/`], { encoding: 'utf8', timeout: 10_000 }),
    'built-by-docker\n',
  );
  assert.equal(wget(`http://127.0.0.1:8080/`).trim(), 'built-by-docker');
  const c2 = f.crictl(['create', cli, ctrConfig('client', pulled, ['sleep', '3600']), podConfig(`cli-${sfx}`)]).trim();
  f.crictl(['start', c2]);
  assert.equal(
    f.crictl(['exec', '-s', c2, 'wget', '-qO-', `http://${webIp}:8080/`]).trim(),
    'built-by-docker',
    'pod → pod',
  );
  const local = await freePort();
  const pf = spawn(join(tools, 'crictl'), ['--config', f.crictlConfig, 'port-forward', web, `${local}:8080`]);
  try {
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      await sleep(100);
      try {
        body = execFileSync('wget', ['-qO-', `http://127.0.0.1:${local}/`], {
          encoding: 'utf8',
          timeout: 5000,
          stdio: ['ignore', 'pipe', 'ignore'],
        });
      } catch {
        /* not listening yet */
      }
    }
    assert.equal(body, 'built-by-docker\n', 'port-forward');
  } finally {
    pf.kill();
  }

  events.kill();
  for (const kind of ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT'])
    assert.match(
      eventText,
      new RegExp(`"containerId": "${c1}",\\s*"containerEventType": "${kind}"`),
      `${kind} for ${c1}`,
    );

  // the engine goes away (SIGKILL) and comes back: pods and containers are adopted, still running
  process.kill(f.engine.pid, 'SIGKILL');
  await sleep(200);
  await f.engine.restart();
  for (let i = 0; i < 100 && f.crictlRaw(['version'], { timeout: 5000 }).status !== 0; i++) await sleep(100);
  assert.match(f.crictl(['pods']), new RegExp(`${web.slice(0, 13)}.*Ready`), 'sandbox adopted');
  assert.match(f.crictl(['ps']), new RegExp(`${c1.slice(0, 13)}.*Running`), 'container adopted');
  assert.equal(f.crictl(['exec', '-s', c2, 'wget', '-qO-', `http://${webIp}:8080/`]).trim(), 'built-by-docker');

  // inspect, stats
  const insp = JSON.parse(f.crictl(['inspect', c1]));
  assert.equal(insp.status.state, 'CONTAINER_RUNNING');
  assert.equal(insp.status.imageRef.startsWith('sha256:') || insp.status.imageRef.includes('@sha256:'), true);
  const cstats = JSON.parse(f.crictl(['stats', '-o', 'json', c1]));
  assert.ok(Number(cstats.stats[0].memory.workingSetBytes.value) > 0, 'a running container has cgroup statistics');
  const sstats = JSON.parse(f.crictl(['statsp', '-o', 'json', web]));
  assert.ok(Number(sstats.stats[0].linux.memory.workingSetBytes.value) > 0);

  // stop (exit code and reason), rm, stopp, rmp
  f.crictl(['stop', c1]);
  const stopped = JSON.parse(f.crictl(['inspect', c1])).status;
  assert.equal(stopped.state, 'CONTAINER_EXITED');
  assert.equal(stopped.exitCode, 137);
  assert.equal(stopped.reason, 'Error');
  f.crictl(['rm', c1]);
  f.crictl(['stop', c2]);
  f.crictl(['rm', c2]);
  for (const p of [web, cli]) {
    f.crictl(['stopp', p]);
    f.crictl(['rmp', p]);
  }
  assert.equal(f.crictl(['pods', '-q']).trim(), '');
  assert.equal(f.crictl(['ps', '-aq']).trim(), '');
  // nothing left: pause process, veths on the pod bridge, addresses, pod cgroups, mounts
  const state = existsSync(`/proc/${pausePid}/stat`)
    ? readFileSync(`/proc/${pausePid}/stat`, 'utf8').split(') ')[1]?.[0]
    : 'gone';
  assert.ok(state === 'gone' || state === 'Z' || state === 'X', `the pause process is gone (state ${state})`);
  const links = execFileSync('ip', ['-o', 'link', 'show', 'master', f.podBridge], { encoding: 'utf8' });
  assert.equal(links.trim(), '', 'no veth on the pod bridge');
  const ipam = JSON.parse(readFileSync(join(f.engine.dataRoot, 'cri', 'network', 'pods.json'), 'utf8'));
  assert.deepEqual(ipam.endpoints, {}, 'no address held');
  assert.deepEqual(cgroupsNamed(sfx), [], 'no pod cgroup left');
  assert.deepEqual(mountsUnder(join(f.engine.dataRoot, 'cri')), [], 'no mount left');
  assert.throws(
    () => execFileSync('wget', ['-qO-', '-T', '1', `http://127.0.0.1:${hostPort}/`], { stdio: 'ignore' }),
    'the hostPort is released',
  );
});

test('a pod with its own user namespace: root inside is a high host id; files of the image are root', async () => {
  const name = `userns-${sfx}`;
  const opts = {
    mode: 0, // POD (crictl reads enums as numbers)
    uids: [{ container_id: 0, host_id: 200000, length: 65536 }],
    gids: [{ container_id: 0, host_id: 200000, length: 65536 }],
  };
  const linux = (extra: Record<string, unknown>, userns: Record<string, unknown> = opts) => ({
    linux: { ...extra, security_context: { namespace_options: { userns_options: userns } } },
  });
  const cfg = podConfig(name, linux({ cgroup_parent: `/kubepods/besteffort/pod${name}` }));
  // bad mappings are refused with the reason, and leave no sandbox
  const bad = podConfig(`${name}-bad`, linux({}, { ...opts, uids: [{ ...opts.uids[0], container_id: 1 }] }));
  const badRun = f.crictlRaw(['runp', bad]);
  assert.notEqual(badRun.status, 0);
  assert.match(badRun.stderr, /must map container uid 0/);
  const pod = f.crictl(['runp', cfg]).trim();
  // a volume in a directory only host root may enter (the test's is 0700), with a root-only file
  const vol = join(dir, `${name}-vol`);
  mkdirSync(vol);
  writeFileSync(join(vol, 'secret'), 's3\n', { mode: 0o600 });
  const mounts = { mounts: [{ container_path: '/vol', host_path: vol }] };
  const ctr = f
    .crictl(['create', pod, ctrConfig(`${name}-c`, 'busybox', ['sleep', '3600'], { ...linux({}), ...mounts }), cfg])
    .trim();
  f.crictl(['start', ctr]);
  const pid = Number(JSON.parse(f.crictl(['inspect', ctr])).info.pid);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(status, /^Uid:\s+200000\s/m, 'the container runs as the mapped host id');
  assert.equal(
    f.crictl(['exec', '-s', ctr, 'cat', '/proc/self/uid_map']).trim().split(/\s+/).join(' '),
    '0 200000 65536',
  );
  // the image's files are root's inside (id-mapped layers); what root writes is root's inside and
  // the mapped id on the host
  assert.equal(f.crictl(['exec', '-s', ctr, 'stat', '-c', '%u:%g', '/bin/busybox']).trim(), '0:0');
  f.crictl(['exec', '-s', ctr, 'sh', '-c', 'echo x > /etc/written && chown 5:5 /etc/written && mkdir /root-dir']);
  assert.equal(f.crictl(['exec', '-s', ctr, 'stat', '-c', '%u:%g', '/etc/written']).trim(), '5:5');
  assert.equal(readFileSync(`/proc/${pid}/root/etc/written`, 'utf8'), 'x\n');
  // the volume is id-mapped: its root-only file is the pod root's
  assert.equal(f.crictl(['exec', '-s', ctr, 'stat', '-c', '%u:%g', '/vol/secret']).trim(), '0:0');
  assert.equal(f.crictl(['exec', '-s', ctr, 'cat', '/vol/secret']).trim(), 's3');
  const st = JSON.parse(f.crictl(['inspectp', pod])).status.linux.namespaces.options.usernsOptions;
  assert.deepEqual(st?.uids, [{ containerId: 0, hostId: 200000, length: 65536 }], 'PodSandboxStatus names the mapping');
  assert.equal(statSync(`/proc/${pid}/root/etc/written`).uid, 200005, 'on the host: the mapped id');
  f.crictl(['rm', '-f', ctr]);
  f.crictl(['stopp', pod]);
  f.crictl(['rmp', pod]);
  assert.deepEqual(mountsUnder(join(f.engine.dataRoot, 'cri')), [], 'no mount left');
});

test("a privileged container joins a running unprivileged pod when the request's sandbox config allows it", async () => {
  // kubelet sends the pod's sandbox config with every CreateContainer, computed over all its
  // containers: a privileged ephemeral container (`kubectl debug --profile=sysadmin`) makes it
  // privileged after the sandbox ran. containerd and CRI-O decide by that config, not the stored one.
  const name = `priv-${sfx}`;
  const cfg = podConfig(name);
  const pod = f.crictl(['runp', cfg]).trim();
  const privCtr = ctrConfig(`${name}-c`, 'busybox', ['sleep', '3600'], {
    linux: { security_context: { privileged: true } },
  });
  const refused = f.crictlRaw(['create', pod, privCtr, cfg]);
  assert.notEqual(refused.status, 0, 'refused with the unprivileged sandbox config');
  assert.match(refused.stderr, /a privileged container needs a privileged sandbox/);
  const privCfg = podConfig(`${name}`, { linux: { security_context: { privileged: true } } });
  const ctr = f.crictl(['create', pod, privCtr, privCfg]).trim();
  f.crictl(['start', ctr]);
  const pid = Number(JSON.parse(f.crictl(['inspect', ctr])).info.pid);
  // privileged: the host's whole bounding set (an unprivileged container has Docker's 14 capabilities)
  const capBnd = (status: string) => /^CapBnd:\s+([0-9a-f]+)$/m.exec(status)?.[1];
  assert.equal(capBnd(readFileSync(`/proc/${pid}/status`, 'utf8')), capBnd(readFileSync('/proc/self/status', 'utf8')));
  f.crictl(['rm', '-f', ctr]);
  f.crictl(['stopp', pod]);
  f.crictl(['rmp', pod]);
});

test('an NRI plugin: lifecycle events in order, an adjustment applied, one refused leaving nothing', async () => {
  const name = `nri-${sfx}`;
  // crictl without blocking this process: the plugin answering the hooks runs in it
  const crictl = async (args: string[]): Promise<string> =>
    (await promisify(execFile)(join(tools, 'crictl'), ['--config', f.crictlConfig, ...args], { timeout: 60_000 }))
      .stdout;
  const plugin = await connectNriPlugin(join(dir, 'nri.sock'), 'e2e', '50', {
    on: async (method, req) => {
      if (method !== 'CreateContainer') return;
      const ctr = req.container as { name: string };
      if (ctr.name.endsWith('refused')) return { adjust: { rlimits: [{ type: 'RLIMIT_NOFILE', hard: 10, soft: 10 }] } };
      return { adjust: { env: [{ key: 'NRI_ADDED', value: 'yes' }], annotations: { 'nri.test/added': 'one' } } };
    },
  });
  try {
    await plugin.register();
    for (let i = 0; i < 500 && !plugin.calls.some((c) => c.method === 'Synchronize'); i++) await sleep(10);
    assert.ok(
      plugin.calls.some((c) => c.method === 'Synchronize'),
      'synchronized',
    );
    const cfg = podConfig(name);
    const pod = (await crictl(['runp', cfg])).trim();
    const run = plugin.calls.find((c) => c.method === 'RunPodSandbox')?.req.pod as Record<string, string>;
    assert.deepEqual([run.id, run.name, run.namespace, run.uid], [pod, name, 'e2e', `uid-${name}-${sfx}`]);
    const ctr = (await crictl(['create', pod, ctrConfig(`${name}-c`, 'busybox', ['sleep', '3600']), cfg])).trim();
    await crictl(['start', ctr]);
    assert.match(f.crictl(['exec', '-s', ctr, 'env']), /^NRI_ADDED=yes$/m, 'the adjusted environment');
    assert.equal(JSON.parse(f.crictl(['inspect', ctr])).status.annotations['nri.test/added'], 'one');
    await assert.rejects(
      crictl(['create', pod, ctrConfig(`${name}-refused`, 'busybox', ['sleep', '3600']), cfg]),
      (e: { stderr?: string }) =>
        /NRI plugin 50-e2e asked for adjustments skiff does not apply: rlimits/.test(e.stderr ?? ''),
    );
    assert.deepEqual(
      f.crictl(['ps', '-a', '-q', '-p', pod]).trim().split('\n'),
      [ctr],
      'the refused container is not there',
    );
    await crictl(['rm', '-f', ctr]);
    await crictl(['stopp', pod]);
    await crictl(['rmp', pod]);
    const seen = plugin.calls
      .filter((c) => (c.req.pod as { id?: string } | undefined)?.id === pod)
      .filter((c) => !(c.req.container as { name?: string } | undefined)?.name?.endsWith('refused'))
      .map((c) => c.method);
    assert.deepEqual(seen, [
      'RunPodSandbox',
      'CreateContainer',
      'PostCreateContainer',
      'StartContainer',
      'PostStartContainer',
      'StopContainer',
      'RemoveContainer',
      'StopPodSandbox',
      'RemovePodSandbox',
    ]);
    assert.deepEqual(mountsUnder(join(f.engine.dataRoot, 'cri')), [], 'no mount left');
  } finally {
    plugin.sock.destroy();
  }
});
