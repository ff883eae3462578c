// CRI metrics (ListMetricDescriptors, ListPodSandboxMetrics): the cAdvisor metric families kubelet
// exports on /metrics/cadvisor when it takes pod and container stats from the runtime, computed from
// the cgroups the runtime already reads for stats (cpu, memory, pids, io), the processes in them
// (threads, descriptors, sockets), the writable layer and the data root's file system, and the
// pause process's network namespace for the pod. Values are CRI's UInt64: seconds are whole seconds.
import { readFileSync, readdirSync, readlinkSync, statfsSync } from 'node:fs';
import type { Snapshotter } from '../../image/index.js';
import { createCgroupManager, type CgroupStats } from '../../runtime/index.js';
import { writableLayerSize } from '../services/containers/size.js';
import type { ContainerRecord, SandboxRecord } from './records.js';
import { int64 } from './types.js';
import { internal } from '../../common/index.js';

type Kind = 'COUNTER' | 'GAUGE';
interface Family {
  name: string;
  help: string;
  type: Kind;
  /** Label keys after the base ones. */
  extra?: string[];
}

/** cAdvisor's labels: the Kubernetes container name, the cgroup, the image, the runtime's
 *  container id, the pod's namespace and name. */
const BASE = ['container', 'id', 'image', 'name', 'namespace', 'pod'];

const F = (name: string, type: Kind, help: string, extra?: string[]): Family => ({ name, help, type, extra });
const FAMILIES: Family[] = [
  F('container_cpu_usage_seconds_total', 'COUNTER', 'Cumulative cpu time consumed in seconds.', ['cpu']),
  F('container_cpu_user_seconds_total', 'COUNTER', 'Cumulative user cpu time consumed in seconds.'),
  F('container_cpu_system_seconds_total', 'COUNTER', 'Cumulative system cpu time consumed in seconds.'),
  F('container_cpu_cfs_periods_total', 'COUNTER', 'Number of elapsed enforcement period intervals.'),
  F('container_cpu_cfs_throttled_periods_total', 'COUNTER', 'Number of throttled period intervals.'),
  F('container_cpu_cfs_throttled_seconds_total', 'COUNTER', 'Total time duration the container has been throttled.'),
  F('container_memory_cache', 'GAUGE', 'Number of bytes of page cache memory.'),
  F('container_memory_rss', 'GAUGE', 'Size of RSS in bytes.'),
  F('container_memory_mapped_file', 'GAUGE', 'Size of memory mapped files in bytes.'),
  F('container_memory_kernel_usage', 'GAUGE', 'Size of kernel memory allocated in bytes.'),
  F('container_memory_swap', 'GAUGE', 'Container swap usage in bytes.'),
  F(
    'container_memory_usage_bytes',
    'GAUGE',
    'Current memory usage in bytes, including all memory regardless of when it was accessed.',
  ),
  F('container_memory_max_usage_bytes', 'GAUGE', 'Maximum memory usage recorded in bytes.'),
  F('container_memory_working_set_bytes', 'GAUGE', 'Current working set in bytes.'),
  F('container_memory_failcnt', 'COUNTER', 'Number of memory usage hits limits.'),
  F('container_memory_failures_total', 'COUNTER', 'Cumulative count of memory allocation failures.', [
    'failure_type',
    'scope',
  ]),
  F('container_oom_events_total', 'COUNTER', 'Count of out of memory events observed for the container.'),
  F('container_processes', 'GAUGE', 'Number of processes running inside the container.'),
  F('container_threads', 'GAUGE', 'Number of threads running inside the container.'),
  F('container_threads_max', 'GAUGE', 'Maximum number of threads allowed inside the container, 0 if unlimited.'),
  F('container_file_descriptors', 'GAUGE', 'Number of open file descriptors for the container.'),
  F('container_sockets', 'GAUGE', 'Number of open sockets for the container.'),
  F('container_fs_usage_bytes', 'GAUGE', 'Number of bytes that are consumed by the container on this filesystem.', [
    'device',
  ]),
  F('container_fs_limit_bytes', 'GAUGE', 'Number of bytes that can be consumed by the container on this filesystem.', [
    'device',
  ]),
  F('container_fs_inodes_free', 'GAUGE', 'Number of available Inodes.', ['device']),
  F('container_fs_inodes_total', 'GAUGE', 'Number of Inodes.', ['device']),
  F('container_fs_reads_bytes_total', 'COUNTER', 'Cumulative count of bytes read.', ['device']),
  F('container_fs_reads_total', 'COUNTER', 'Cumulative count of reads completed.', ['device']),
  F('container_fs_writes_bytes_total', 'COUNTER', 'Cumulative count of bytes written.', ['device']),
  F('container_fs_writes_total', 'COUNTER', 'Cumulative count of writes completed.', ['device']),
  F('container_blkio_device_usage_total', 'COUNTER', 'Blkio device bytes usage.', [
    'device',
    'major',
    'minor',
    'operation',
  ]),
  F('container_spec_cpu_period', 'GAUGE', 'CPU period of the container.'),
  F('container_spec_cpu_quota', 'GAUGE', 'CPU quota of the container.'),
  F('container_spec_cpu_shares', 'GAUGE', 'CPU share of the container.'),
  F('container_spec_memory_limit_bytes', 'GAUGE', 'Memory limit for the container.'),
  F('container_spec_memory_swap_limit_bytes', 'GAUGE', 'Memory swap limit for the container.'),
  F('container_start_time_seconds', 'GAUGE', 'Start time of the container since unix epoch in seconds.'),
  F('container_last_seen', 'GAUGE', 'Last time a container was seen by the exporter.'),
  ...(
    [
      ['receive_bytes_total', 'Cumulative count of bytes received.'],
      ['receive_errors_total', 'Cumulative count of errors encountered while receiving.'],
      ['receive_packets_dropped_total', 'Cumulative count of packets dropped while receiving.'],
      ['receive_packets_total', 'Cumulative count of packets received.'],
      ['transmit_bytes_total', 'Cumulative count of bytes transmitted.'],
      ['transmit_errors_total', 'Cumulative count of errors encountered while transmitting.'],
      ['transmit_packets_dropped_total', 'Cumulative count of packets dropped while transmitting.'],
      ['transmit_packets_total', 'Cumulative count of packets transmitted.'],
    ] as const
  ).map(([n, h]) => F(`container_network_${n}`, 'COUNTER', h, ['interface'])),
];
const BY_NAME = new Map(FAMILIES.map((f) => [f.name, f]));

export function metricDescriptors() {
  return FAMILIES.map((f) => ({ name: f.name, help: f.help, labelKeys: [...BASE, ...(f.extra ?? [])] }));
}

interface Metric {
  name: string;
  timestamp: number;
  metricType: Kind;
  labelValues: string[];
  value: { value: number };
}

const clamp = (n: number) => ({ value: Math.max(0, Math.floor(Number.isFinite(n) ? n : 0)) });
const secs = (ns: number) => ns / 1e9;

/** Collects metrics with the base label values of one container (or the pod). */
class Emitter {
  readonly out: Metric[] = [];
  constructor(
    private readonly base: string[],
    private readonly at: number,
  ) {}
  add(name: string, value: number, extra: string[] = []): void {
    const f = BY_NAME.get(name);
    if (!f) throw internal(`metric ${name} has no descriptor`); // a programming error: every name is in BY_NAME
    this.out.push({
      name,
      timestamp: this.at,
      metricType: f.type,
      labelValues: [...this.base, ...extra],
      value: clamp(value),
    });
  }
}

const readNum = (file: string) => {
  try {
    const v = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
};

/** Threads, open descriptors and sockets of the processes in a cgroup. */
function processCounts(pids: number[]) {
  let threads = 0;
  let fds = 0;
  let sockets = 0;
  for (const pid of pids) {
    try {
      threads += Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        fds++;
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return { threads, fds, sockets };
}

export class MetricsCollector {
  constructor(
    private readonly snapshotter: Snapshotter,
    /** The data root: its file system holds the writable layers. */
    private readonly root: string,
  ) {}

  async pod(sb: SandboxRecord, containers: ContainerRecord[]) {
    const at = Date.now() * 1e6;
    const meta = sb.config.metadata ?? {};
    const ns = meta.namespace ?? '';
    const pod = meta.name ?? '';
    const podMetrics = new Emitter(['POD', sb.cgroup, '', sb.id, ns, pod], at);
    if (!sb.hostNetwork && sb.pid) this.network(podMetrics, sb.pid);
    const containerMetrics = [];
    for (const c of containers) {
      if (c.state !== 'CONTAINER_RUNNING') continue;
      const e = new Emitter([c.config.metadata?.name ?? '', c.cgroup, c.imageName, c.id, ns, pod], at);
      if (await this.container(e, c)) containerMetrics.push({ containerId: c.id, metrics: e.out });
    }
    return { podSandboxId: sb.id, metrics: podMetrics.out, containerMetrics };
  }

  private network(e: Emitter, pid: number): void {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n').slice(2)) {
      const [name, rest] = line.split(':');
      if (!rest || name.trim() === 'lo') continue;
      const f = rest.trim().split(/\s+/).map(Number);
      const i = [name.trim()];
      e.add('container_network_receive_bytes_total', f[0], i);
      e.add('container_network_receive_packets_total', f[1], i);
      e.add('container_network_receive_errors_total', f[2], i);
      e.add('container_network_receive_packets_dropped_total', f[3], i);
      e.add('container_network_transmit_bytes_total', f[8], i);
      e.add('container_network_transmit_packets_total', f[9], i);
      e.add('container_network_transmit_errors_total', f[10], i);
      e.add('container_network_transmit_packets_dropped_total', f[11], i);
    }
  }

  /** False when the container's cgroup is gone (it ended meanwhile). */
  private async container(e: Emitter, c: ContainerRecord): Promise<boolean> {
    const cg = createCgroupManager(c.cgroup);
    let s: CgroupStats;
    let pids: number[];
    try {
      s = await cg.stats();
      pids = await cg.pids();
    } catch {
      return false;
    }
    e.add('container_cpu_usage_seconds_total', secs(s.cpu.usageNs), ['total']);
    e.add('container_cpu_user_seconds_total', secs(s.cpu.userNs));
    e.add('container_cpu_system_seconds_total', secs(s.cpu.systemNs));
    e.add('container_cpu_cfs_periods_total', s.cpu.periods);
    e.add('container_cpu_cfs_throttled_periods_total', s.cpu.throttledPeriods);
    e.add('container_cpu_cfs_throttled_seconds_total', secs(s.cpu.throttledTimeNs));

    const raw = s.memory.raw;
    const dirs = cg.dirs();
    const v2 = cg.version === 2;
    const memDir = dirs.memory ?? dirs.unified ?? '';
    const inactive = raw.total_inactive_file ?? raw.inactive_file ?? 0;
    e.add('container_memory_cache', raw.total_cache ?? raw.file ?? s.memory.cache);
    e.add('container_memory_rss', s.memory.rss);
    e.add('container_memory_mapped_file', raw.total_mapped_file ?? raw.file_mapped ?? 0);
    e.add('container_memory_kernel_usage', v2 ? (raw.kernel ?? 0) : readNum(`${memDir}/memory.kmem.usage_in_bytes`));
    e.add('container_memory_swap', s.memory.swapUsage ?? 0);
    e.add('container_memory_usage_bytes', s.memory.usage);
    e.add('container_memory_max_usage_bytes', s.memory.maxUsage ?? s.memory.usage);
    e.add('container_memory_working_set_bytes', Math.max(0, s.memory.usage - inactive));
    e.add('container_memory_failcnt', v2 ? memoryEvent(memDir, 'max') : readNum(`${memDir}/memory.failcnt`));
    for (const [type, own, all] of [
      ['pgfault', raw.pgfault, raw.total_pgfault],
      ['pgmajfault', raw.pgmajfault, raw.total_pgmajfault],
    ] as const) {
      e.add('container_memory_failures_total', own ?? 0, [type, 'container']);
      e.add('container_memory_failures_total', all ?? own ?? 0, [type, 'hierarchy']);
    }
    e.add('container_oom_events_total', s.memory.oomKillEvents);

    const procs = processCounts(pids);
    e.add('container_processes', pids.length);
    e.add('container_threads', procs.threads);
    e.add('container_threads_max', s.pids.limit ?? 0);
    e.add('container_file_descriptors', procs.fds);
    e.add('container_sockets', procs.sockets);

    const dev = [this.root];
    const used = await writableLayerSize(this.snapshotter, c.snapshotKey).catch(() => 0);
    const fs = statfsSync(this.root);
    e.add('container_fs_usage_bytes', used, dev);
    e.add('container_fs_limit_bytes', fs.blocks * fs.bsize, dev);
    e.add('container_fs_inodes_free', fs.ffree, dev);
    e.add('container_fs_inodes_total', fs.files, dev);
    e.add('container_fs_reads_bytes_total', s.io.readBytes, dev);
    e.add('container_fs_reads_total', s.io.readOps, dev);
    e.add('container_fs_writes_bytes_total', s.io.writeBytes, dev);
    e.add('container_fs_writes_total', s.io.writeOps, dev);
    for (const d of s.io.devices) {
      const id = [`${d.major}:${d.minor}`, String(d.major), String(d.minor)];
      e.add('container_blkio_device_usage_total', d.readBytes, [...id, 'Read']);
      e.add('container_blkio_device_usage_total', d.writeBytes, [...id, 'Write']);
    }

    // the spec: the resources in force (unset: the kernel's defaults, 0 for no limit, as cAdvisor)
    const r = c.resources;
    const quota = int64(r.cpuQuota);
    e.add('container_spec_cpu_period', int64(r.cpuPeriod) || 100_000);
    if (quota > 0) e.add('container_spec_cpu_quota', quota);
    e.add('container_spec_cpu_shares', int64(r.cpuShares) || 1024);
    e.add('container_spec_memory_limit_bytes', int64(r.memoryLimitInBytes));
    e.add('container_spec_memory_swap_limit_bytes', int64(r.memorySwapLimitInBytes));
    e.add('container_start_time_seconds', secs(c.startedAt));
    e.add('container_last_seen', Date.now() / 1000);
    return true;
  }
}

/** A counter of cgroup v2's memory.events (`max`: times the usage hit the limit). */
function memoryEvent(dir: string, key: string): number {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(`${dir}/memory.events`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
