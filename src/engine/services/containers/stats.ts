// `GET /containers/{id}/stats` (moby's StatsResponse from the cgroup manager's stats and the
// container's /proc/<pid>/net/dev). (`docker top` is in top.ts.)
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { Containers } from './service.js';
import { sleep } from '../../../common/index.js';

const CLK_TCK = 100;

/** The host's CPU time in ns from /proc/stat's first line (user … steal ticks), as dockerd's
 *  system_cpu_usage. An integer: moby's StatsResponse has no floating-point field, and the docker
 *  CLI's decoder rejects `1099661169999999.9` for a uint64 — ticks / 100 * 1e9 gave such values
 *  for 0–7 % of tick totals (by range), which `docker stats --no-stream` reported as `EOF`. */
export function systemCpuNs(procStat = readFileSync('/proc/stat', 'utf8')): number {
  const line = procStat.split('\n')[0];
  const total = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((a, b) => a + Number(b), 0);
  return total * (1e9 / CLK_TCK);
}

function netDev(pid: number): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
  } catch {
    return out;
  }
  for (const l of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(l);
    if (!m || m[1] === 'lo') continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    out[m[1]] = {
      rx_bytes: v[0],
      rx_packets: v[1],
      rx_errors: v[2],
      rx_dropped: v[3],
      tx_bytes: v[8],
      tx_packets: v[9],
      tx_errors: v[10],
      tx_dropped: v[11],
    };
  }
  return out;
}

interface Sample {
  read: string;
  cpu: Record<string, unknown>;
}
const last = new Map<string, Sample>();

const zeroCpu = () => ({
  cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
});

async function sample(s: Containers, id: string): Promise<Record<string, unknown>> {
  const rec = s.get(id);
  const now = new Date().toISOString();
  if (!rec.State.Running) {
    return {
      read: '0001-01-01T00:00:00Z',
      preread: '0001-01-01T00:00:00Z',
      name: rec.Name,
      id: rec.Id,
      pids_stats: {},
      blkio_stats: {
        io_service_bytes_recursive: null,
        io_serviced_recursive: null,
        io_queue_recursive: null,
        io_service_time_recursive: null,
        io_wait_time_recursive: null,
        io_merged_recursive: null,
        io_time_recursive: null,
        sectors_recursive: null,
      },
      num_procs: 0,
      storage_stats: {},
      cpu_stats: zeroCpu(),
      precpu_stats: zeroCpu(),
      memory_stats: {},
    };
  }
  const rt = s.runtime;
  const cg = await rt.stats(s.rtId(id));
  const ncpu = cpus().length;
  const cpu = {
    cpu_usage: {
      total_usage: cg.cpu.usageNs,
      ...(cg.cpu.perCpuNs ? { percpu_usage: cg.cpu.perCpuNs } : {}),
      usage_in_kernelmode: cg.cpu.systemNs,
      usage_in_usermode: cg.cpu.userNs,
    },
    system_cpu_usage: systemCpuNs(),
    online_cpus: ncpu,
    throttling_data: {
      periods: cg.cpu.periods,
      throttled_periods: cg.cpu.throttledPeriods,
      throttled_time: cg.cpu.throttledTimeNs,
    },
  };
  const raw = cg.memory.raw;
  const memStats: Record<string, number> = { ...raw };
  if (memStats.inactive_file === undefined && raw.total_inactive_file !== undefined)
    memStats.inactive_file = raw.total_inactive_file;
  const limit = cg.memory.limit > 0 && cg.memory.limit < totalmem() ? cg.memory.limit : totalmem();
  const bytes = cg.io.devices.flatMap((d) => [
    { major: d.major, minor: d.minor, op: 'read', value: d.readBytes },
    { major: d.major, minor: d.minor, op: 'write', value: d.writeBytes },
  ]);
  const prev = last.get(id);
  last.set(id, { read: now, cpu });
  const networks = netDev(rec.State.Pid);
  return {
    read: now,
    preread: prev?.read ?? '0001-01-01T00:00:00Z',
    name: rec.Name,
    id: rec.Id,
    pids_stats: { current: cg.pids.current, ...(cg.pids.limit ? { limit: cg.pids.limit } : {}) },
    blkio_stats: {
      io_service_bytes_recursive: bytes,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpu,
    precpu_stats: prev?.cpu ?? zeroCpu(),
    memory_stats: {
      usage: cg.memory.usage,
      ...(cg.memory.maxUsage ? { max_usage: cg.memory.maxUsage } : {}),
      stats: memStats,
      limit,
    },
    ...(Object.keys(networks).length ? { networks } : {}),
  };
}

/** One stats object. Without one-shot, a fresh container gets two samples (so precpu is filled). */
export async function containerStats(s: Containers, id: string, oneShot: boolean): Promise<Record<string, unknown>> {
  if (!oneShot && !last.has(id) && s.get(id).State.Running) {
    await sample(s, id);
    await sleep(500);
  }
  return sample(s, id);
}
