// The engine differential, broad part (npm run test:slow; the fast part with issue 11's cases is
// engine-differential.test.ts, in npm test): the same docker command lines (the real docker CLI 28)
// and raw Engine API requests against skiff engine and the real dockerd (test/fixtures/dockerd.ts),
// outputs compared after masking what legitimately differs (engine-differential-harness.ts). One
// dockerd and one engine for the whole file, set up the same way in parallel; independent
// comparisons run concurrently. A difference owned by another component is a `todo` naming its
// owner (it runs and reports without failing the suite), so it turns green once fixed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  Differential,
  OUT,
  cols,
  sh,
  startSides,
  waitLogged,
  words,
  type Out,
  type Side,
} from './engine-differential-harness.js';

const tmp = mkdtempSync('/tmp/skiff-ediff-');
const d = new Differential(tmp);
const times = { t0: 0, t1: 0 };

/** The same containers, images and volume on both sides (names fixed: ps sorts by creation). */
const SETUP = [
  'tag busybox:latest other:v1',
  'tag busybox:latest busybox:v2',
  'create --name c-created busybox echo never',
  // pauses between the streams: the order of two pipes' lines is a race otherwise, on both sides
  "run --name c-exit -l a=2 busybox sh -c 'echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; exit 3'",
  'run --name c-exit2 busybox false',
  'run -d --name c-run -l a=1 -l tier=web -p 127.0.0.1::80 -v dvol:/data -e FOO=bar -w /tmp ' +
    '--restart on-failure:2 -m 64m --cpu-shares 512 --group-add 777 --dns 9.9.9.9 --add-host h1:10.9.9.9 ' +
    '--cap-add NET_ADMIN --cap-drop MKNOD --ulimit nofile=100:200 --tmpfs /tm:size=1m --shm-size 8m ' +
    "--stop-signal SIGUSR1 --hostname hh --init busybox sh -c 'echo started; touch /tmp/new; rm /etc/group; sleep 1000'",
  "run -d --name c-logs busybox sh -c 'for i in 1 2 3 4 5; do echo line$i; done; sleep 0.1; echo e1 >&2; sleep 1000'",
  "run -d --name c-cp busybox sh -c 'mkdir -p /d/sub; echo hi > /d/f; ln -s f /d/l; chmod 640 /d/f; sleep 1000'",
  'run --name ev1 -l evl=1 busybox true',
  'rm ev1',
];

let sides: Awaited<ReturnType<typeof startSides>> | undefined;
before(async () => {
  sides = await startSides(d, SETUP, { wait: (x) => waitLogged(x, 'c-logs', 'line5', 'e1') });
  Object.assign(times, sides.times);
});

after(async () => {
  await sides?.stop(['c-run', 'c-logs', 'c-cp', 'c-exit', 'c-exit2', 'c-created', ...d.made]);
  rmSync(tmp, { recursive: true, force: true });
});

// Phase 1: what only reads the state made above, all groups at once.
describe('read-only comparisons', { concurrency: true }, () => {
  d.cases('ps: filters and formats', [
    { cmd: "ps --format '{{.Names}}|{{.Image}}|{{.Command}}|{{.Status}}|{{.Ports}}|{{.Labels}}'", sort: true },
    { cmd: "ps -a --format '{{.Names}}|{{.State}}|{{.Status}}'", sort: true },
    { cmd: 'ps -a --filter status=exited --format {{.Names}}', sort: true },
    'ps -a --filter label=a=1 --format {{.Names}}',
    { cmd: 'ps -a --filter name=c-e --format {{.Names}}', sort: true },
    'ps -a --filter exited=3 --format {{.Names}}',
    { cmd: 'ps -a --filter exited=1 --filter exited=3 --format {{.Names}}', sort: true },
    { cmd: 'ps -a --filter ancestor=busybox --format {{.Names}}', sort: true },
    'ps -a --filter volume=dvol --format {{.Names}}',
    'ps -a --filter publish=80 --format {{.Names}}',
    { cmd: 'ps -a --filter before=c-run --format {{.Names}}', sort: true },
    { cmd: 'ps -a --filter since=c-exit --format {{.Names}}', sort: true },
    'ps -l --format {{.Names}}',
    'ps -n 2 --format {{.Names}}',
    'ps -a --filter bogus=1',
    'ps -a --filter status=bogus',
    "ps -s --filter name=c-run --format '{{.Names}} {{.Size}}'",
  ]);

  const json = (prefix: string, fields: string) =>
    fields
      .split(' ')
      .map((f) => `${f}={{json .${prefix}.${f}}}`)
      .join('\n');
  const HOSTCONFIG =
    'Memory MemorySwap CpuShares RestartPolicy CapAdd CapDrop Dns ExtraHosts GroupAdd IpcMode PidMode ShmSize ' +
    'LogConfig Ulimits Tmpfs Init PortBindings AutoRemove Privileged ReadonlyRootfs OomKillDisable MemorySwappiness ' +
    'CgroupnsMode UTSMode UsernsMode SecurityOpt VolumesFrom Links Isolation NanoCpus PublishAllPorts VolumeDriver';
  const CONFIG =
    'Env Cmd Entrypoint User WorkingDir Labels StopSignal Hostname Domainname ExposedPorts Volumes Tty OpenStdin ' +
    'AttachStdout Image';
  d.cases('inspect and history: the fields that must match', [
    { cmd: ['inspect', '-f', json('HostConfig', HOSTCONFIG), 'c-run'] },
    { cmd: ['inspect', '-f', json('Config', CONFIG), 'c-run'] },
    {
      cmd: [
        'inspect',
        '-f',
        '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.State.OOMKilled}} {{.RestartCount}} {{.Name}} ' +
          '{{.Path}} {{json .Args}} {{.Driver}} {{.Platform}}',
        'c-run',
        'c-exit',
        'c-created',
      ],
    },
    { cmd: "inspect -f '{{json .HostConfig.Binds}}' c-run" },
    {
      cmd: "inspect -f '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.Mode}} {{.RW}} {{.Driver}}{{end}}' c-run",
    },
    { cmd: "inspect -f '{{.State.StartedAt}} {{.State.FinishedAt}} {{.State.Pid}} {{.State.Error}}' c-created" },
    { cmd: "inspect -f '{{json .Config}}' busybox" },
    {
      cmd:
        "inspect -f '{{.Os}} {{.Architecture}} {{json .RepoTags}} {{.Size}} {{.RootFS.Type}} " +
        "{{len .RootFS.Layers}} {{.Comment}}' busybox",
    },
    'inspect nosuch',
    'history busybox',
    "history --no-trunc --format '{{.CreatedBy}}|{{.Size}}|{{.Comment}}' busybox",
  ]);

  d.cases('top, stats, port, diff, system df, info', [
    // `ps` columns that differ between two runs (pids, start and CPU times, memory use) are left out.
    { cmd: 'top c-run', more: cols(0, 3, 5, -7) },
    { cmd: 'top c-run -o pid,comm', more: cols(1) },
    'top c-run -o user,args',
    { cmd: 'top c-run x', more: cols(1, -4) },
    { cmd: 'top c-run aux', more: cols(0, 6, 7, -10) },
    'top c-exit',
    'top c-run -o user=PID',
    "stats --no-stream --format '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.NetIO}}|{{.BlockIO}}|{{.PIDs}}' c-run",
    'port c-run',
    'port c-run 80',
    // The mount points of /etc/{hostname,hosts,resolv.conf} are in the init layer, as dockerd's.
    { cmd: 'diff c-run', sort: true },
    'diff c-exit',
    "system df --format '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}'",
    { cmd: 'system df -v', sort: true },
    {
      cmd: [
        'info',
        '-f',
        '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}} {{.Driver}} ' +
          '{{.LoggingDriver}} {{.CgroupDriver}} {{.CgroupVersion}} {{.OSType}} {{.Architecture}} {{.NCPU}} ' +
          '{{.MemTotal}} {{.MemoryLimit}} {{.SwapLimit}} {{.CpuCfsPeriod}} {{.CpuCfsQuota}} {{.CPUShares}} ' +
          '{{.CPUSet}} {{.PidsLimit}} {{.IPv4Forwarding}} {{.OomKillDisable}} {{.LiveRestoreEnabled}} ' +
          '{{.KernelVersion}} {{.IndexServerAddress}} {{json .Plugins.Volume}}',
      ],
    },
  ]);

  describe('events: since/until and filters', { concurrency: true }, () => {
    const ev = (filters: string, format: string) => [
      'events',
      '--since',
      String(times.t0),
      '--until',
      String(times.t1),
      ...words(filters),
      '--format',
      format,
    ];
    const list: [string, () => string[], boolean?][] = [
      ['container filter', () => ev('--filter container=ev1', '{{.Type}} {{.Action}}')],
      [
        'event filter',
        () => ev('--filter event=die', '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}'),
      ],
      ['label filter', () => ev('--filter label=evl=1', '{{.Action}} {{.Actor.Attributes.evl}}')],
      [
        'network events',
        () => ev('--filter type=network --filter event=connect', '{{.Action}} {{.Actor.Attributes.name}}'),
      ],
      ['image events', () => ev('--filter type=image', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'), true],
    ];
    for (const [name, args, sort] of list) test(name, () => d.compare({ cmd: args(), sort }));
    test('json shape', async () => {
      const outs = await d.both(ev('--filter container=ev1 --filter event=create', '{{json .}}'));
      const shape = (o: Out) =>
        o.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const j = JSON.parse(l) as { Actor: { Attributes: Record<string, string> } };
            return [Object.keys(j).sort(), Object.keys(j.Actor.Attributes).sort()];
          });
      assert.deepEqual(shape(outs[1]), shape(outs[0]));
    });
    test('since after until', () => d.compare({ cmd: 'events --since 20 --until 10' }));
  });
});

// Phase 2: what makes containers, images and volumes of its own (they would show in phase 1's lists).
describe('comparisons that add state', { concurrency: true }, () => {
  d.cases('run: links, copy-up, shared namespaces, resources', [
    "run --rm --link c-logs:db busybox sh -c 'grep -cw db /etc/hosts; env | grep DB_NAME | cut -d/ -f3'",
    // the image's /etc copied into a new volume (/etc/mtab is dockerd's init layer: wire's, above)
    "run --rm -v cpvol:/etc busybox sh -c 'ls /etc | grep -v mtab'",
    'run --rm --ipc container:c-run busybox true',
    // several flags in one container (each alone is checked against dockerd's messages in validate.test.ts)
    'run --rm --oom-score-adj 300 --memory-swappiness 10 --device-cgroup-rule "c 42:* rmw" ' +
      '--security-opt no-new-privileges=true --dns 9.9.9.9 --dns-search x.org --add-host gw:host-gateway ' +
      "--pids-limit 33 --cpus 0.5 busybox sh -c 'cat /proc/self/oom_score_adj /sys/fs/cgroup/memory/memory.swappiness " +
      '/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us /etc/resolv.conf; ' +
      'grep "c 42" /sys/fs/cgroup/devices/devices.list; grep NoNewPrivs /proc/self/status; grep -c gw /etc/hosts\'',
    { cmd: 'run --rm busybox env', sort: true, more: (s) => s.replace(/^HOSTNAME=.*$/m, 'HOSTNAME=<SID>') },
  ]);

  test('links: inspect, rm --link', async () => {
    for (const cmd of [
      'create --name c-link --link c-logs:db busybox true',
      "inspect -f '{{json .HostConfig.Links}}' c-link",
      'rm --link c-link/db',
      "inspect -f '{{json .HostConfig.Links}}' c-link",
      'rm --link c-link/nope',
      'rm --link c-logs',
      'rm c-link',
    ])
      await d.compare({ cmd });
  });

  describe('cp, commit, export, build', { concurrency: true }, () => {
    const both = (script: string) => Promise.all(d.sides.map((x: Side) => sh(x, script)));
    test('cp out: the tar of a directory', async () => {
      const [dd, s] = await both("docker cp c-cp:/d - | tar tv | awk '{print $1, $2, $6, $7, $8}' | sort");
      assert.equal(s.stdout, dd.stdout);
    });
    test('cp in and out, errors', async () => {
      const file = join(tmp, 'cpin');
      writeFileSync(file, 'data\n');
      // dockerd's CLI logs its side of an aborted upload ("time=… level=error …")
      // into c-run: c-cp's file system is read by the other tests meanwhile
      for (const cmd of [
        ['cp', file, 'c-run:/tmp/'],
        ['exec', 'c-run', 'cat', '/tmp/cpin'],
        ['cp', 'c-cp:/nonexistent', `${OUT}/x`],
        ['cp', file, 'c-cp:/nonexistent/dir/'],
      ])
        await d.compare({ cmd, more: (t) => t.replace(/^time=.*\n?/gm, '') });
    });
    test('commit: config changes, history, run', async () => {
      await d.compare({
        cmd: "commit -c 'ENV X=1' -c 'CMD [\"cat\",\"/d/f\"]' -c 'LABEL k=v' -m msg -a me c-cp committed:v1",
      });
      await Promise.all([
        d.compare({
          cmd:
            "inspect -f '{{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.Labels}} {{.Comment}} {{.Author}} " +
            "{{json .ContainerConfig.Cmd}} {{len .RootFS.Layers}}' committed:v1",
        }),
        d.compare({ cmd: "history --format '{{.CreatedBy}}|{{.Comment}}' committed:v1" }),
        d.compare({ cmd: 'run --rm committed:v1' }),
      ]);
      await d.compare({ cmd: 'rmi committed:v1' });
    });
    const initLayer = /^(\.dockerenv|dev\/console|dev\/pts\/|dev\/shm\/|etc\/mtab)$/;
    test('export: the tar listing', async () => {
      const outs = await both('docker export c-cp | tar t | sort');
      const own = (o: Out) => o.stdout.split('\n').filter((l) => !initLayer.test(l));
      assert.deepEqual(own(outs[1]), own(outs[0]));
    });
    test('export: the init layer (.dockerenv, dev/console, dev/pts, dev/shm, etc/mtab)', async () => {
      const outs = await both('docker export c-cp | tar t | sort');
      assert.equal(outs[1].stdout, outs[0].stdout);
    });
    test('build -q', async () => {
      const ctx = join(tmp, 'bctx');
      mkdirSync(ctx, { recursive: true });
      writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo hi > /x\nLABEL a=b\n');
      await d.compare({ cmd: ['build', '-q', '-t', 'built:q', ctx], more: (t) => t.replace(/^DEPRECATED:.*\n?/m, '') });
    });
  });
});

// Siblings of the create cases in engine-differential.test.ts: HostConfig and Config fields dockerd
// checks at create, at start, or not at all; the engine must refuse in the same phase, with the
// same status and message (start messages without dockerd's containerd/runc wrapping).
describe('create requests: phase, status and message as dockerd (siblings)', { concurrency: true }, () => {
  const hc = (h: Record<string, unknown>) => ({ HostConfig: h });
  const mount = (m: Record<string, unknown>) => hc({ Mounts: [m] });
  const ports = (p: Record<string, unknown>) => hc({ PortBindings: p });
  d.createCases('networks, ports, MAC', [
    { title: 'ExposedPorts abc and 80/xyz', body: { ExposedPorts: { abc: {}, '80/xyz': {}, '0/tcp': {} } } },
    { title: 'ExposedPorts range', body: { ExposedPorts: { '80-82/tcp': {} } } },
    {
      title: 'unknown NetworkMode with its endpoint',
      body: { ...hc({ NetworkMode: 'nosuchnet' }), NetworkingConfig: { EndpointsConfig: { nosuchnet: {} } } },
    },
    { title: 'an unknown endpoint network', body: { NetworkingConfig: { EndpointsConfig: { nosuch2: {} } } } },
    { title: 'MacAddress with dashes', body: { MacAddress: '02-42-ac-11-00-97' } },
    {
      title: 'MacAddress with network none',
      body: { MacAddress: '02:42:ac:11:00:96', ...hc({ NetworkMode: 'none' }) },
    },
    { title: 'HostPort abc', body: ports({ '80/tcp': [{ HostPort: 'abc' }] }) },
    { title: 'HostPort 99999', body: ports({ '80/tcp': [{ HostPort: '99999' }] }) },
    { title: 'HostPort range reversed', body: ports({ '80/tcp': [{ HostPort: '18090-18085' }] }) },
    { title: 'PortBindings key abc', body: ports({ 'abc/tcp': [{}] }) },
  ]);
  d.createCases('resources and kernel settings', [
    { title: 'ulimit soft above hard', body: hc({ Ulimits: [{ Name: 'nofile', Soft: 20, Hard: 10 }] }) },
    {
      title: 'net sysctl with host network',
      body: hc({ NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } }),
    },
    { title: 'kernel.foo sysctl', body: hc({ Sysctls: { 'kernel.foo': '1' } }) },
    { title: 'CpuShares -1', body: hc({ CpuShares: -1 }) },
    { title: 'CpuShares 1000000', body: hc({ CpuShares: 1000000 }) },
    { title: 'MemorySwap -2', body: hc({ Memory: 64 << 20, MemorySwap: -2 }) },
    { title: 'MemorySwap below Memory', body: hc({ Memory: 64 << 20, MemorySwap: 32 << 20 }) },
    { title: 'MemorySwap without Memory', body: hc({ MemorySwap: 64 << 20 }) },
    { title: 'PidsLimit -5', body: hc({ PidsLimit: -5 }) },
    { title: 'unknown IpcMode', body: hc({ IpcMode: 'bogus' }) },
    { title: 'a missing device', body: hc({ Devices: [{ PathOnHost: '/dev/nosuch', PathInContainer: '/dev/x' }] }) },
    {
      title: 'device permissions xyz',
      body: hc({ Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/x', CgroupPermissions: 'xyz' }] }),
    },
    {
      title: 'device permissions rx',
      body: hc({ Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/x', CgroupPermissions: 'rx' }] }),
    },
    { title: 'CapAdd BOGUS', body: hc({ CapAdd: ['BOGUS'] }) },
    { title: 'CapAdd lower case', body: hc({ CapAdd: ['net_admin'] }) },
  ]);
  d.createCases('mounts', [
    { title: 'bind of a missing source', body: mount({ Type: 'bind', Source: '/nonexistent-ediff', Target: '/x' }) },
    { title: 'bind of a relative source', body: mount({ Type: 'bind', Source: 'rel', Target: '/x' }) },
    { title: 'bind without a source', body: mount({ Type: 'bind', Target: '/x' }) },
    {
      title: 'bind with VolumeOptions',
      body: mount({ Type: 'bind', Source: '/tmp', Target: '/x', VolumeOptions: {} }),
    },
    { title: 'volume with BindOptions', body: mount({ Type: 'volume', Target: '/x', BindOptions: {} }) },
    { title: 'volume with TmpfsOptions', body: mount({ Type: 'volume', Target: '/x', TmpfsOptions: {} }) },
    { title: 'tmpfs with a source', body: mount({ Type: 'tmpfs', Source: '/tmp', Target: '/x' }) },
    { title: 'no type', body: mount({ Target: '/x' }) },
    { title: 'no target', body: mount({ Type: 'volume' }) },
    { title: "target '/'", body: mount({ Type: 'volume', Target: '/' }) },
    { title: 'relative target', body: mount({ Type: 'volume', Target: 'x' }) },
    { title: 'Binds /path alone (an anonymous volume)', body: hc({ Binds: ['/tmp'] }) },
    { title: 'Tmpfs relative', body: hc({ Tmpfs: { rel: '' } }) },
  ]);
  d.createCases('restart policy, healthcheck, signals, labels, env', [
    { title: 'RestartPolicy bogus', body: hc({ RestartPolicy: { Name: 'bogus' } }) },
    { title: 'always with retries', body: hc({ RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } }) },
    { title: 'on-failure -1', body: hc({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }) },
    { title: 'Healthcheck Interval 1ns', body: { Healthcheck: { Test: ['CMD', 'true'], Interval: 1 } } },
    { title: 'Healthcheck Retries -1', body: { Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } } },
    { title: 'StopSignal SIGBOGUS', body: { StopSignal: 'SIGBOGUS' } },
    { title: 'StopSignal 0', body: { StopSignal: '0' } },
    { title: 'a label with an empty key', body: { Labels: { '': 'x' } } },
    { title: 'Env without =', body: { Env: ['FOO'] } },
    { title: 'Env with an empty name', body: { Env: ['=x'] } },
  ]);
});
