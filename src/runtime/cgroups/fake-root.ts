// Test support (not exported from index.ts): a temp directory laid out like a v1 or v2 cgroup
// mount, with the control files a real kernel would create, so managers can be unit-tested
// without root. Real cgroupfs creates files on mkdir; the fake pre-creates them for `path`.
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const V1_FILES: Record<string, Record<string, string>> = {
  cpu: {
    'cpu.shares': '1024\n',
    'cpu.cfs_period_us': '100000\n',
    'cpu.cfs_quota_us': '-1\n',
    'cpu.stat': 'nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n',
    'cpu.idle': '0\n',
  },
  cpuacct: {
    'cpuacct.usage': '123456789\n',
    'cpuacct.stat': 'user 50\nsystem 25\n',
    'cpuacct.usage_percpu': '100 200 \n',
  },
  cpuset: { 'cpuset.cpus': '\n', 'cpuset.mems': '\n' },
  memory: {
    'memory.limit_in_bytes': '9223372036854771712\n',
    'memory.memsw.limit_in_bytes': '9223372036854771712\n',
    'memory.soft_limit_in_bytes': '9223372036854771712\n',
    'memory.swappiness': '60\n',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n',
    'memory.usage_in_bytes': '4096000\n',
    'memory.max_usage_in_bytes': '8192000\n',
    'memory.memsw.usage_in_bytes': '5096000\n',
    'memory.stat': 'cache 100\nrss 200\ntotal_cache 1000\ntotal_rss 2000\n',
  },
  devices: { 'devices.allow': '', 'devices.deny': '' },
  freezer: { 'freezer.state': 'THAWED\n' },
  blkio: {
    'blkio.weight': '500\n',
    'blkio.weight_device': '',
    'blkio.throttle.read_bps_device': '',
    'blkio.throttle.write_bps_device': '',
    'blkio.throttle.read_iops_device': '',
    'blkio.throttle.write_iops_device': '',
    'blkio.throttle.io_service_bytes_recursive':
      '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Total 12288\nTotal 12288\n',
    'blkio.throttle.io_serviced_recursive': '8:0 Read 2\n8:0 Write 3\nTotal 5\n',
  },
  pids: { 'pids.max': 'max\n', 'pids.current': '4\n' },
};

const V2_FILES: Record<string, string> = {
  'cgroup.procs': '',
  'cgroup.freeze': '0\n',
  'cgroup.events': 'populated 1\nfrozen 0\n',
  'cgroup.subtree_control': '',
  'cgroup.controllers': 'cpuset cpu io memory pids\n',
  'cgroup.kill': '',
  'cpu.weight': '100\n',
  'cpu.max': 'max 100000\n',
  'cpu.idle': '0\n',
  'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\nnr_throttled 1\nthrottled_usec 20\n',
  'cpuset.cpus': '',
  'cpuset.mems': '',
  'memory.max': 'max\n',
  'memory.high': 'max\n',
  'memory.low': '0\n',
  'memory.swap.max': 'max\n',
  'memory.current': '65536\n',
  'memory.peak': '131072\n',
  'memory.swap.current': '0\n',
  'memory.stat': 'anon 300\nfile 400\n',
  'memory.events': 'low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\n',
  'pids.max': 'max\n',
  'pids.current': '2\n',
  'io.weight': 'default 100\n',
  'io.max': '',
  'io.stat': '8:0 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n',
};

export interface FakeRoot {
  root: string;
  read(rel: string): string;
  write(rel: string, text: string): void;
  cleanup(): void;
}

function fake(build: (root: string) => void): FakeRoot {
  const root = mkdtempSync(join(tmpdir(), 'skiff-fake-cgroup-'));
  build(root);
  return {
    root,
    read: (rel) => readFileSync(join(root, rel), 'utf8'),
    write: (rel, text) => writeFileSync(join(root, rel), text),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A v1 mount root with `path` pre-populated in every hierarchy (parent cpuset holds "0-1"/"0"). */
export function fakeV1Root(path: string): FakeRoot {
  return fake((root) => {
    for (const [ctrl, files] of Object.entries(V1_FILES)) {
      mkdirSync(join(root, ctrl, path), { recursive: true });
      writeFileSync(join(root, ctrl, 'cgroup.procs'), '');
      for (const [f, v] of Object.entries(files)) writeFileSync(join(root, ctrl, path, f), v);
      writeFileSync(join(root, ctrl, path, 'cgroup.procs'), '');
    }
    // Intermediate levels get empty cpusets too (as the kernel creates them).
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      for (const f of ['cpuset.cpus', 'cpuset.mems'])
        writeFileSync(join(root, 'cpuset', ...parts.slice(0, i), f), '\n');
    }
    writeFileSync(join(root, 'cpuset', 'cpuset.cpus'), '0-1\n');
    writeFileSync(join(root, 'cpuset', 'cpuset.mems'), '0\n');
  });
}

/** A v2 mount root with `path` pre-populated. */
export function fakeV2Root(path: string): FakeRoot {
  return fake((root) => {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), '');
    writeFileSync(join(root, 'cgroup.procs'), '');
    mkdirSync(join(root, path), { recursive: true });
    for (const [f, v] of Object.entries(V2_FILES)) writeFileSync(join(root, path, f), v);
  });
}
