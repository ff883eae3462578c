// `GET /containers/{id}/stats` (moby's StatsResponse from the cgroup manager's stats and the
// container's /proc/<pid>/net/dev) and `GET /containers/{id}/top` (ps columns from /proc).
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { invalidArgument, conflict } from '../../../common/index.js';
import type { Containers } from './service.js';

const CLK_TCK = 100;

/** The host's CPU time in ns from /proc/stat's first line (user … steal ticks), as dockerd's
 *  system_cpu_usage. An integer: moby's StatsResponse has no floating-point field, and the docker
 *  CLI's decoder rejects `1099661169999999.9` for a uint64 — ticks / 100 * 1e9 gave such values
 *  for ~3% of tick counts, which `docker stats --no-stream` reported as `EOF`. */
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
  const st = rt.store.load(s.rtId(id));
  const cg = await rt.cgroup(st).stats();
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

/** `docker top`: ps-style columns for the container's processes, read from /proc. */
export async function topProcesses(
  s: Containers,
  id: string,
  psArgs?: string,
): Promise<{ Titles: string[]; Processes: string[][] }> {
  const rec = s.get(id);
  if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`, { field: 'id' });
  if (psArgs && !/^[-a-zA-Z ]*$/.test(psArgs))
    throw invalidArgument(`ps_args: invalid ps arguments ${JSON.stringify(psArgs)}`, { field: 'ps_args' });
  const st = s.runtime.store.load(s.rtId(rec.Id));
  const pids = (await s.runtime.cgroup(st).pids()).sort((a, b) => a - b);
  const users = new Map<number, string>();
  try {
    for (const l of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const p = l.split(':');
      if (p.length > 2) users.set(Number(p[2]), p[0]);
    }
  } catch {
    /* none */
  }
  const boot = Date.now() / 1000 - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const rows: string[][] = [];
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = after[1];
      const utime = Number(after[11]),
        stime = Number(after[12]),
        start = Number(after[19]);
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      let cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      if (!cmd) cmd = `[${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}]`;
      const t = Math.floor((utime + stime) / CLK_TCK);
      const time = `${String(Math.floor(t / 3600)).padStart(2, '0')}:${String(Math.floor(t / 60) % 60).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
      const started = new Date((boot + start / CLK_TCK) * 1000);
      const stime2 = `${String(started.getHours()).padStart(2, '0')}:${String(started.getMinutes()).padStart(2, '0')}`;
      rows.push([users.get(uid) ?? String(uid), String(pid), ppid, '0', stime2, '?', time, cmd]);
    } catch {
      /* exited meanwhile */
    }
  }
  void readdirSync;
  return { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: rows };
}
