// Resource usage of the node and its pods, as kubelet serves it: `/stats/summary` (stats/v1alpha1
// Summary) and `/metrics/resource` (the Prometheus text metrics-server scrapes). Containers' CPU
// and memory come from the runtime (ListContainerStats); the node's from /proc and the agent's
// filesystem. CPU rates (usageNanoCores) come from the runtime when it reports them, otherwise from
// the change of the cumulative counters between the agent's samples (every 10 s).
import { readFileSync, statfsSync } from 'node:fs';
import type { ContainerRuntime } from '../../../cri/index.js';
import { CONTAINER_NAME, POD_NAME, POD_NAMESPACE, POD_UID } from '../labels.js';

export interface CpuStats {
  time: string;
  usageNanoCores: number;
  usageCoreNanoSeconds: number;
}
export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes: number;
  workingSetBytes: number;
  rssBytes: number;
  pageFaults: number;
  majorPageFaults: number;
}
export interface ContainerStatsOut {
  name: string;
  startTime: string;
  cpu: CpuStats;
  memory: MemoryStats;
}
export interface PodStatsOut {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerStatsOut[];
  cpu: CpuStats;
  memory: MemoryStats;
}
export interface Summary {
  node: {
    nodeName: string;
    startTime: string;
    cpu: CpuStats;
    memory: MemoryStats;
    fs: {
      time: string;
      availableBytes: number;
      capacityBytes: number;
      usedBytes: number;
      inodesFree: number;
      inodes: number;
      inodesUsed: number;
    };
  };
  pods: PodStatsOut[];
}

const iso = (ms: number) => new Date(ms).toISOString();

function nodeCpuNs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = line;
  return (user + nice + system + irq + softirq + (steal ?? 0)) * 1e7;
}

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\S+):\s+(\d+)/.exec(l);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return out;
}

interface Sample {
  at: number;
  cpuNs: number;
  nanoCores: number;
}

export class StatsProvider {
  private prev = new Map<string, Sample>();
  private node?: Sample;
  private timer?: NodeJS.Timeout;
  private started = Date.now();
  private cached?: { at: number; summary: Summary };

  constructor(
    private runtime: ContainerRuntime,
    private nodeName: string,
    private root: string,
  ) {}

  start(intervalMs = 10_000): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }
  stop(): void {
    clearInterval(this.timer);
  }

  private rate(key: string, cpuNs: number, fromRuntime: number, at: number): number {
    const p = this.prev.get(key);
    let nano = fromRuntime;
    if (!nano && p && at > p.at && cpuNs >= p.cpuNs) nano = Math.round(((cpuNs - p.cpuNs) / (at - p.at)) * 1e3);
    else if (!nano && p) nano = p.nanoCores;
    this.prev.set(key, { at, cpuNs, nanoCores: nano });
    return nano;
  }

  /** Takes a sample of the cumulative counters (called periodically and on each request). */
  async sample(): Promise<Summary> {
    const at = Date.now();
    // Requests close together share one sample (a rate over a few milliseconds is noise).
    if (this.cached && at - this.cached.at < 1000) return this.cached.summary;
    const t = iso(at);
    const cpuNs = nodeCpuNs();
    const n = this.node;
    const nodeNano = n && at > n.at ? Math.round(((cpuNs - n.cpuNs) / (at - n.at)) * 1e3) : (n?.nanoCores ?? 0);
    this.node = { at, cpuNs, nanoCores: nodeNano };
    const mi = meminfo();
    const fs = statfsSync(this.root);
    const stats = await this.runtime.listContainerStats({}).catch(() => ({ stats: [] }));
    const live = new Set<string>();
    const pods = new Map<string, PodStatsOut>();
    for (const s of stats.stats) {
      const l = s.attributes?.labels ?? {};
      const uid = l[POD_UID];
      if (!uid || !s.attributes) continue;
      live.add(s.attributes.id);
      const cum = s.cpu?.usageCoreNanoSeconds?.value ?? 0;
      const c: ContainerStatsOut = {
        name: l[CONTAINER_NAME] ?? s.attributes.metadata?.name ?? '',
        startTime: t,
        cpu: {
          time: t,
          usageCoreNanoSeconds: cum,
          usageNanoCores: this.rate(s.attributes.id, cum, s.cpu?.usageNanoCores?.value ?? 0, at),
        },
        memory: {
          time: t,
          usageBytes: s.memory?.usageBytes?.value ?? 0,
          workingSetBytes: s.memory?.workingSetBytes?.value ?? 0,
          rssBytes: s.memory?.rssBytes?.value ?? 0,
          pageFaults: s.memory?.pageFaults?.value ?? 0,
          majorPageFaults: s.memory?.majorPageFaults?.value ?? 0,
        },
      };
      let p = pods.get(uid);
      if (!p) {
        p = {
          podRef: { name: l[POD_NAME] ?? '', namespace: l[POD_NAMESPACE] ?? '', uid },
          startTime: t,
          containers: [],
          cpu: { time: t, usageCoreNanoSeconds: 0, usageNanoCores: 0 },
          memory: { time: t, usageBytes: 0, workingSetBytes: 0, rssBytes: 0, pageFaults: 0, majorPageFaults: 0 },
        };
        pods.set(uid, p);
      }
      p.containers.push(c);
      p.cpu.usageCoreNanoSeconds += c.cpu.usageCoreNanoSeconds;
      p.cpu.usageNanoCores += c.cpu.usageNanoCores;
      for (const k of ['usageBytes', 'workingSetBytes', 'rssBytes', 'pageFaults', 'majorPageFaults'] as const)
        p.memory[k] += c.memory[k];
    }
    for (const k of this.prev.keys()) if (!live.has(k)) this.prev.delete(k);
    const used = (mi.MemTotal ?? 0) - (mi.MemAvailable ?? 0);
    const summary: Summary = {
      node: {
        nodeName: this.nodeName,
        startTime: iso(this.started),
        cpu: { time: t, usageNanoCores: nodeNano, usageCoreNanoSeconds: cpuNs },
        memory: {
          time: t,
          availableBytes: mi.MemAvailable ?? 0,
          usageBytes: (mi.MemTotal ?? 0) - (mi.MemFree ?? 0),
          workingSetBytes: used,
          rssBytes: mi.AnonPages ?? 0,
          pageFaults: 0,
          majorPageFaults: 0,
        },
        fs: {
          time: t,
          availableBytes: fs.bavail * fs.bsize,
          capacityBytes: fs.blocks * fs.bsize,
          usedBytes: (fs.blocks - fs.bfree) * fs.bsize,
          inodesFree: fs.ffree,
          inodes: fs.files,
          inodesUsed: fs.files - fs.ffree,
        },
      },
      pods: [...pods.values()],
    };
    this.cached = { at, summary };
    return summary;
  }

  /** `/metrics/resource` in the Prometheus text format (metrics-server's source). */
  async resourceMetrics(): Promise<string> {
    const s = await this.sample();
    const ms = Date.parse(s.node.cpu.time);
    const lines: string[] = [];
    const metric = (name: string, help: string, type: string, rows: [string, number][]) => {
      lines.push(`# HELP ${name} [STABLE] ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of rows) lines.push(`${name}${labels} ${v} ${ms}`);
    };
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    const cl = (p: PodStatsOut, c: ContainerStatsOut) =>
      `{container="${esc(c.name)}",namespace="${esc(p.podRef.namespace)}",pod="${esc(p.podRef.name)}"}`;
    const pl = (p: PodStatsOut) => `{namespace="${esc(p.podRef.namespace)}",pod="${esc(p.podRef.name)}"}`;
    const cs = s.pods.flatMap((p) => p.containers.map((c) => [p, c] as const));
    metric(
      'container_cpu_usage_seconds_total',
      'Cumulative cpu time consumed by the container in core-seconds',
      'counter',
      cs.map(([p, c]) => [cl(p, c), c.cpu.usageCoreNanoSeconds / 1e9]),
    );
    metric(
      'container_memory_working_set_bytes',
      'Current working set of the container in bytes',
      'gauge',
      cs.map(([p, c]) => [cl(p, c), c.memory.workingSetBytes]),
    );
    metric('node_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the node in core-seconds', 'counter', [
      ['', s.node.cpu.usageCoreNanoSeconds / 1e9],
    ]);
    metric('node_memory_working_set_bytes', 'Current working set of the node in bytes', 'gauge', [
      ['', s.node.memory.workingSetBytes],
    ]);
    metric(
      'pod_cpu_usage_seconds_total',
      'Cumulative cpu time consumed by the pod in core-seconds',
      'counter',
      s.pods.map((p) => [pl(p), p.cpu.usageCoreNanoSeconds / 1e9]),
    );
    metric(
      'pod_memory_working_set_bytes',
      'Current working set of the pod in bytes',
      'gauge',
      s.pods.map((p) => [pl(p), p.memory.workingSetBytes]),
    );
    lines.push(
      '# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise',
      '# TYPE scrape_error gauge',
      'scrape_error 0',
    );
    return `${lines.join('\n')}\n`;
  }
}
