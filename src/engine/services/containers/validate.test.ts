// HostConfig/Config validation at create, table-driven: every message is the one the real dockerd
// (20.10, test/fixtures/dockerd.ts) gives for the same request, at create or at start. Also the
// refusals of unimplemented settings, user/group resolution and `docker top`'s ps parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { notFound } from '../../../common/index.js';
import { parseCreateBody } from './create.js';
import { verifyContainerSettings } from './validate.js';
import { verifyAtStart } from './spec-checks.js';
import { refuseUnsupported } from './unsupported.js';
import { parseUintList, type HostFacts } from './host-facts.js';
import { resolveUser } from './user.js';
import { parsePsOutput, validatePsArgs } from './top.js';
import { volumesFromMounts, mergeVolumesFrom, normalizeLinks } from './shared.js';
import type { ContainerRecord, MountPoint } from './record.js';

const facts: HostFacts = {
  ncpu: 2,
  cpus: '0-1',
  mems: '0',
  cgroupVersion: 1,
  blkioWeight: false,
  blkioWeightDevice: false,
  blkioThrottle: true,
  swappiness: true,
  oomKillDisable: true,
  appArmor: false,
};

const create = (cfg: Record<string, unknown>, hc: Record<string, unknown> = {}) => {
  const b = parseCreateBody({ Image: 'busybox', ...cfg, HostConfig: hc });
  const warnings = verifyContainerSettings(b, facts);
  refuseUnsupported(b);
  return { b, warnings };
};

const MB = 1024 * 1024;

test('HostConfig/Config refused at create with dockerd messages', () => {
  const rows: [Record<string, unknown>, Record<string, unknown>, string][] = [
    [{}, { Memory: 1024 }, 'Minimum memory limit allowed is 6MB'],
    [{}, { Memory: -5 }, 'Minimum memory limit allowed is 6MB'],
    [{}, { MemoryReservation: 1024 }, 'Minimum memory reservation allowed is 6MB'],
    [
      {},
      { Memory: 10 * MB, MemoryReservation: 20 * MB },
      'Minimum memory limit can not be less than memory reservation limit, see usage',
    ],
    [
      {},
      { Memory: 10 * MB, MemorySwap: 5 * MB },
      'Minimum memoryswap limit should be larger than memory limit, see usage',
    ],
    [{}, { MemorySwap: 20 * MB }, 'You should always set the Memory limit when using Memoryswap limit, see usage'],
    [{}, { MemorySwappiness: 101 }, 'Invalid value: 101, valid memory swappiness range is 0-100'],
    [{}, { NanoCpus: 100e9 }, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
    [{}, { NanoCpus: 1e9, CpuPeriod: 1000 }, 'Conflicting options: Nano CPUs and CPU Period cannot both be set'],
    [{}, { NanoCpus: 1e9, CpuQuota: 5000 }, 'Conflicting options: Nano CPUs and CPU Quota cannot both be set'],
    [{}, { CpuPeriod: 500 }, 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)'],
    [{}, { CpuQuota: 500 }, 'CPU cfs quota can not be less than 1ms (i.e. 1000)'],
    [{}, { CpusetCpus: '0-a' }, 'Invalid value 0-a for cpuset cpus: invalid format: 0-a'],
    [{}, { CpusetCpus: '7' }, 'Requested CPUs are not available - requested 7, available: 0-1'],
    [{}, { CpusetMems: '3' }, 'Requested memory nodes are not available - requested 3, available: 0'],
    [{}, { OomScoreAdj: 2000 }, 'Invalid value 2000, range for oom score adj is [-1000, 1000]'],
    [{}, { ShmSize: -1 }, 'SHM size can not be less than 0'],
    [{}, { PidMode: 'bogus' }, 'invalid PID mode: bogus'],
    [{}, { UTSMode: 'bogus' }, 'invalid UTS mode: bogus'],
    [{}, { CgroupnsMode: 'bogus' }, 'invalid cgroup namespace mode: bogus'],
    [{}, { Runtime: 'bogus' }, 'Unknown runtime specified bogus'],
    [{}, { Isolation: 'bogus' }, `Invalid isolation: "bogus" - linux only supports 'default'`],
    [{}, { RestartPolicy: { Name: 'bogus' } }, "invalid restart policy 'bogus'"],
    [
      {},
      { RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } },
      "maximum retry count cannot be used with restart policy 'always'",
    ],
    [{}, { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }, 'maximum retry count cannot be negative'],
    [
      {},
      { RestartPolicy: { Name: 'always' }, AutoRemove: true },
      "can't create 'AutoRemove' container with restart policy",
    ],
    [{ WorkingDir: 'rel' }, {}, "the working directory 'rel' is invalid, it needs to be an absolute path"],
    [{ StopSignal: 'BOGUS' }, {}, 'Invalid signal: BOGUS'],
    [{ Env: ['=foo'] }, {}, 'invalid environment variable: =foo'],
    [{ Healthcheck: { Test: ['CMD', 'true'], Interval: 1000 } }, {}, 'Interval in Healthcheck cannot be less than 1ms'],
    [{ Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } }, {}, 'Retries in Healthcheck cannot be negative'],
    [{}, { CapAdd: ['BOGUS'] }, 'invalid CapAdd: unknown capability: "CAP_BOGUS"'],
    [{}, { ExtraHosts: ['bad'] }, 'bad format for add-host: "bad"'],
    [{}, { ExtraHosts: ['h:notip'] }, 'invalid IP address in add-host: "notip"'],
    [{}, { Tmpfs: { rel: '' } }, "invalid mount path: 'rel' mount path must be absolute"],
    [{}, { IOMaximumBandwidth: 5 }, 'Invalid QoS settings: linux does not support configuration of maximum bandwidth'],
    [
      {},
      { StorageOpt: { size: '1G' } },
      "--storage-opt is supported only for overlay over xfs with 'pquota' mount option",
    ],
    [{}, { LogConfig: { Type: 'bogus' } }, 'error looking up logging plugin bogus: plugin "bogus" not found'],
    [
      {},
      { LogConfig: { Type: 'json-file', Config: { bogus: '1' } } },
      "unknown log opt 'bogus' for json-file log driver",
    ],
    [
      {},
      { LogConfig: { Type: 'json-file', Config: { 'max-size': 'abc' } } },
      "failed to initialize logging driver: invalid size: 'abc'",
    ],
    [
      {},
      { DeviceRequests: [{ Driver: '', Count: -1, Capabilities: [['gpu']] }] },
      'could not select device driver "" with capabilities: [[gpu]]',
    ],
    [{}, { VolumeDriver: 'bogus' }, 'error looking up volume plugin bogus: plugin "bogus" not found'],
    [{}, { DeviceCgroupRules: ['bogus'] }, "invalid device cgroup rule format: 'bogus'"],
    [{}, { SecurityOpt: ['bogus'] }, 'invalid --security-opt 1: "bogus"'],
    [{}, { SecurityOpt: ['bogus=x'] }, 'invalid --security-opt 2: "bogus=x"'],
    [{}, { UsernsMode: 'bogus' }, 'invalid user namespace mode: bogus'],
    [{}, { CpuRealtimeRuntime: 1000 }, 'real-time CPU scheduling (--cpu-rt-period, --cpu-rt-runtime) is not supported'],
    [
      {},
      { Mounts: [{ Type: 'bind', Source: '/', Target: '/x', BindOptions: { NonRecursive: true } }] },
      'bind option NonRecursive',
    ],
  ];
  for (const [cfg, hc, msg] of rows)
    assert.throws(
      () => create(cfg, hc),
      (e: Error & { code?: string }) => e.code === 'InvalidArgument' && e.message.startsWith(msg),
      `${JSON.stringify({ cfg, hc })} → ${msg}`,
    );
  assert.throws(
    () =>
      refuseUnsupported(
        parseCreateBody({
          Image: 'x',
          NetworkingConfig: { EndpointsConfig: { b: { IPAMConfig: { IPv6Address: '::1' } } } },
        }),
      ),
    /an IPv6 address \(--ip6\)/,
  );
});

// dockerd 20.10 creates these and refuses them at start (500, runc's message); so does the engine.
test('HostConfig/Config taken at create and refused at start, as dockerd does', () => {
  const rows: [Record<string, unknown>, Record<string, unknown>, string][] = [
    [{}, { CpuShares: -5 }, 'shares: invalid argument'],
    [{}, { CpuShares: 1 }, 'the minimum allowed cpu-shares is 2'],
    [{}, { CpuShares: 262145 }, 'the maximum allowed cpu-shares is 262144'],
    [{}, { IpcMode: 'bogus' }, 'Invalid IPC mode: bogus'],
    [{}, { Sysctls: { 'bogus.key': '1' } }, 'sysctl "bogus.key" is not in a separate kernel namespace'],
    [
      {},
      { NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } },
      'sysctl "net.ipv4.ip_forward" not allowed in host network namespace',
    ],
    [
      {},
      { IpcMode: 'host', Sysctls: { 'kernel.shmmax': '1' } },
      'sysctl "kernel.shmmax" is not in a separate kernel namespace',
    ],
    [{}, { Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }, 'wrong rlimit value: RLIMIT_BOGUS'],
    [{}, { Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 1 }] }, 'error setting rlimit type 7: invalid argument'],
  ];
  for (const [cfg, hc, msg] of rows) {
    const { b } = create(cfg, hc); // taken at create
    assert.throws(
      () => verifyAtStart(b.HostConfig ?? {}),
      (e: Error & { code?: string }) => e.code === 'Internal' && e.message === msg,
      `${JSON.stringify({ cfg, hc })} → ${msg}`,
    );
  }
  // what a start takes
  verifyAtStart({
    CpuShares: 2,
    Sysctls: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1' },
    Ulimits: [{ Name: 'NOFILE', Soft: 1, Hard: 2 }],
  });
  // a fixed MAC address, any MemorySwap below -1 (unlimited) and any ExposedPorts key are taken
  create({ MacAddress: 'zz', ExposedPorts: { '99999/tcp': {}, abc: {} } }, { Memory: 64 * MB, MemorySwap: -2 });
});

test('accepted settings are normalised as dockerd does, with its warnings', () => {
  const ok = create({}, { Memory: 6 * MB, CpuShares: 512, PidsLimit: -5, MemorySwappiness: -1, CpusetCpus: '0,1' });
  assert.deepEqual(ok.warnings, []);
  assert.equal(ok.b.HostConfig?.PidsLimit, null, 'PidsLimit <= 0 is unlimited');
  assert.equal(ok.b.HostConfig?.MemorySwappiness, null, '-1 is the default swappiness');
  const w = create(
    {},
    { BlkioWeight: 300, BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 300 }], OomKillDisable: true },
  );
  assert.deepEqual(w.warnings, [
    'OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.',
    'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
    'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.',
  ]);
  assert.equal(w.b.HostConfig?.BlkioWeight, 0);
  assert.match(create({}, { KernelMemory: 10 * MB }).warnings[0], /KernelMemory is not supported/);
  assert.deepEqual(create({}, { NetworkMode: 'host', PortBindings: { '80/tcp': [{}] } }).warnings, [
    'Published ports are discarded when using host network mode',
  ]);
  for (const o of ['no-new-privileges', 'no-new-privileges=true', 'seccomp=unconfined', 'label=disable', 'apparmor=x'])
    create({}, { SecurityOpt: [o] });
  create({}, { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 }, Sysctls: { 'net.ipv4.ip_forward': '1' } });
  create(
    {},
    { IpcMode: 'container:abc', PidMode: 'host', CgroupnsMode: 'private', Runtime: 'runc', Isolation: 'default' },
  );
  create({}, { ExtraHosts: ['gw:host-gateway', 'v6:::1', 'b:[::1]'] });
  const withBlkio = { ...facts, blkioWeight: true };
  assert.throws(
    () => verifyContainerSettings(parseCreateBody({ Image: 'x', HostConfig: { BlkioWeight: 5000 } }), withBlkio),
    /Range of blkio weight is from 10 to 1000/,
  );
  assert.deepEqual(
    verifyContainerSettings(parseCreateBody({ Image: 'x', HostConfig: { BlkioWeight: 300 } }), withBlkio),
    [],
  );
  assert.deepEqual([...(parseUintList('0-2,5') ?? [])], [0, 1, 2, 5]);
  assert.equal(parseUintList('2-1'), undefined);
});

test('User and GroupAdd resolve as dockerd: primary group first, memberships, added groups', () => {
  const root = mkdtempSync(join(tmpdir(), 'skiff-user-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0::/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\nbob:x:1000:1000::/home/bob:/bin/sh\n',
    );
    writeFileSync(
      join(root, 'etc/group'),
      'root:x:0:\ndaemon:x:1:\nbob:x:1000:\nwheel:x:10:bob,alice\naudio:x:29:bob\n',
    );
    const r = (u: string, g: string[] = []) => resolveUser(root, u, g);
    assert.deepEqual(r('1234:5678'), { uid: 1234, gid: 5678, additionalGids: [5678] });
    assert.deepEqual(r('1234'), { uid: 1234, gid: 0, additionalGids: [0] });
    assert.deepEqual(r(''), { uid: 0, gid: 0, additionalGids: [0] });
    assert.deepEqual(r('daemon'), { uid: 1, gid: 1, additionalGids: [1] });
    assert.deepEqual(r('bob'), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] });
    assert.deepEqual(r('1000'), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] });
    assert.deepEqual(
      r('bob:daemon'),
      { uid: 1000, gid: 1, additionalGids: [1] },
      'an explicit group skips memberships',
    );
    assert.deepEqual(r('1234', ['777', 'daemon']), { uid: 1234, gid: 0, additionalGids: [0, 777, 1] });
    assert.throws(() => r('nobody'), /unable to find user nobody: no matching entries in passwd file/);
    assert.throws(() => r('0:nogroup'), /unable to find group nogroup: no matching entries in group file/);
    assert.throws(() => r('0', ['nope']), /Unable to find group nope: no matching entries in group file/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('docker top: ps output filtered by the container PIDs, surplus fields joined', () => {
  const out =
    'UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 10:00 ? 00:00:00 sleep 100 now\nroot 11 1 0 10:00 ? 00:00:00 other\n';
  assert.deepEqual(parsePsOutput(out, new Set([10])), {
    Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
    Processes: [['root', '10', '1', '0', '10:00', '?', '00:00:00', 'sleep 100 now']],
  });
  assert.throws(() => parsePsOutput('A B\n1 2\n', new Set([1])), /Couldn't find PID field in ps output/);
  assert.throws(() => validatePsArgs('ax -o user=PID'), /specifying "user=PID" is not allowed/);
  validatePsArgs('ax -o pid=PID');
  validatePsArgs('-o pid,comm');
  validatePsArgs('aux');
});

test('volumes-from and links resolve other containers at create', () => {
  const m = (d: string, o: Partial<MountPoint> = {}): MountPoint => ({
    Type: 'volume',
    Name: `v${d.replace(/\//g, '')}`,
    Source: `/vol${d}`,
    Destination: d,
    Mode: '',
    RW: true,
    Propagation: '',
    ...o,
  });
  const src = {
    Id: 'a'.repeat(64),
    Name: '/src',
    Mounts: [
      m('/data'),
      m('/b', { Type: 'bind', Name: undefined, Source: '/h', RW: false }),
      m('/t', { Type: 'tmpfs' }),
    ],
  } as unknown as ContainerRecord;
  const lookup = (r: string) => {
    if (r === 'src') return src;
    throw notFound(`No such container: ${r}`);
  };
  const vf = volumesFromMounts(['src'], lookup);
  assert.deepEqual(
    vf.map((x) => [x.Destination, x.RW]),
    [
      ['/data', true],
      ['/b', false],
    ],
    'tmpfs mounts are not shared',
  );
  assert.deepEqual(
    volumesFromMounts(['src:ro'], lookup).map((x) => x.RW),
    [false, false],
  );
  assert.throws(() => volumesFromMounts(['src:bogus'], lookup), /invalid mode: bogus/);
  assert.throws(() => volumesFromMounts(['nope'], lookup), /No such container: nope/);
  const own = [m('/b', { Type: 'bind', Name: undefined, Source: '/mine' }), m('/data', { Name: '', Anonymous: true })];
  assert.deepEqual(
    mergeVolumesFrom(own, vf).map((x) => [x.Destination, x.Source]),
    [
      ['/b', '/mine'],
      ['/data', '/vol/data'],
    ],
    'binds win; an image volume at a shared destination is replaced',
  );
  assert.deepEqual(normalizeLinks(['src:db', 'src'], '/web', lookup), ['/src:/web/db', '/src:/web/src']);
});
